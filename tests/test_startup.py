"""Start-up: ``import cnnzoo``, ``cnnzoo --help`` and ``cnnzoo list`` do not import torch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parent.parent / "src")


def _run(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )


def test_import_cnnzoo_and_the_cli_without_torch() -> None:
    r = _run("import cnnzoo, cnnzoo.cli, sys; assert 'torch' not in sys.modules, 'torch'")
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["list"],
        ["list", "resnet*", "--format", "json"],
        ["train", "--help"],
        ["export", "--help"],
    ],
    ids=" ".join,
)
def test_cli_starts_without_torch(argv: list[str]) -> None:
    code = (
        "import sys\nfrom cnnzoo.cli import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        "loaded = sorted(m for m in sys.modules if m == 'torch' or m.startswith('cnnzoo.models'))\n"
        "assert not loaded, loaded"
    )
    r = _run(code)
    assert r.returncode == 0, r.stderr
    assert r.stdout


def test_the_lazy_package_still_exports_everything() -> None:
    code = (
        "import cnnzoo, sys\n"
        "assert set(cnnzoo.__all__) <= set(dir(cnnzoo))\n"
        "assert 'torch' not in sys.modules\n"
        "for name in cnnzoo.__all__:\n    getattr(cnnzoo, name)\n"
        "import cnnzoo.cost\n"  # the module is named apart from the function
        "assert not isinstance(cnnzoo.complexity, type(sys)), 'a module, not the function'\n"
        "assert cnnzoo.complexity('lenet5').params == 61706\n"
        "assert 'resnet18' in cnnzoo.list_models()\n"
        "try:\n    cnnzoo.nothing\nexcept AttributeError:\n    pass\n"
        "else:\n    raise SystemExit('no AttributeError')"
    )
    r = _run(code)
    assert r.returncode == 0, r.stderr
