"""One explicit builder per registered name: ``def NAME(`` in src/cnnzoo/models, found by grep."""

from __future__ import annotations

import re
from pathlib import Path

import cnnzoo
from cnnzoo.models import list_models, model_info

MODELS_DIR = Path(cnnzoo.__file__).resolve().parent / "models"

# Names whose builders models/anynet.py still generates in a loop; an explicit builder each is
# being written with the AnyNet/RegNet split (issue 13). The lead deletes this allow-list on merge.
_PENDING_EXPLICIT = (
    "regnet_x_400mf", "regnet_x_800mf", "regnet_y_400mf", "regnet_y_800mf",
    "regnetx_200mf", "regnetx_400mf", "regnetx_600mf", "regnetx_800mf",
    "regnety_200mf", "regnety_400mf", "regnety_600mf", "regnety_800mf",
)  # fmt: skip


def _definitions(name: str) -> list[str]:
    pattern = re.compile(rf"^def {re.escape(name)}\(", re.M)
    return [
        str(path.relative_to(MODELS_DIR))
        for path in sorted(MODELS_DIR.rglob("*.py"))
        for _ in pattern.finditer(path.read_text(encoding="utf-8"))
    ]


def test_every_registered_name_has_exactly_one_explicit_builder() -> None:
    names = list_models() + list_models(generic=True)
    assert set(_PENDING_EXPLICIT) <= set(names), "the allow-list names unregistered models"
    wrong = {
        name: found
        for name in names
        if name not in _PENDING_EXPLICIT and len(found := _definitions(name)) != 1
    }
    assert not wrong, f"want one `def NAME(` per registered name in {MODELS_DIR}: {wrong}"


def test_the_registered_builder_is_the_explicit_one() -> None:
    for name in list_models() + list_models(generic=True):
        if name in _PENDING_EXPLICIT:
            continue
        builder = model_info(name).builder
        assert builder.__name__ == name, name
        module = Path(__import__(builder.__module__, fromlist=["_"]).__file__)
        assert _definitions(name) == [str(module.relative_to(MODELS_DIR))], name
