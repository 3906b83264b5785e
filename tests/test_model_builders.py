"""One explicit builder per registered name: ``def NAME(`` in src/cnnzoo/models, found by grep."""

from __future__ import annotations

import re
from pathlib import Path

import cnnzoo
from cnnzoo.models import list_models, model_info

MODELS_DIR = Path(cnnzoo.__file__).resolve().parent / "models"


def _definitions(name: str) -> list[str]:
    pattern = re.compile(rf"^def {re.escape(name)}\(", re.M)
    return [
        str(path.relative_to(MODELS_DIR))
        for path in sorted(MODELS_DIR.rglob("*.py"))
        for _ in pattern.finditer(path.read_text(encoding="utf-8"))
    ]


def test_every_registered_name_has_exactly_one_explicit_builder() -> None:
    names = list_models() + list_models(generic=True)
    wrong = {name: found for name in names if len(found := _definitions(name)) != 1}
    assert not wrong, f"want one `def NAME(` per registered name in {MODELS_DIR}: {wrong}"


def test_the_registered_builder_is_the_explicit_one() -> None:
    for name in list_models() + list_models(generic=True):
        builder = model_info(name).builder
        assert builder.__name__ == name, name
        module = Path(__import__(builder.__module__, fromlist=["_"]).__file__)
        assert _definitions(name) == [str(module.relative_to(MODELS_DIR))], name
