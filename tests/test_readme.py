"""Every snippet in README.md runs as written — with tiny settings (a few steps, a few test
images) substituted where the real ones would take minutes. A README command with a flag that
no longer exists, or a Python line that no longer works, fails here."""

from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path

import pytest
import torch

from cnnzoo.cli import build_parser, main

README = Path(__file__).resolve().parent.parent / "README.md"

#: what makes a command cheap: extra arguments per subcommand (appended; later flags win)
TINY = {
    "train": ["--max-steps", "2", "--batch-size", "16", "--val-size", "64", "--test-subset", "64"],
    "compare": ["--max-steps", "2", "--val-size", "64", "--test-subset", "64"],
    "eval": ["--test-subset", "64"],
    "bench": ["--seconds", "0.05", "--batch-size", "8"],
    "sweep run": [
        "--n",
        "1",
        "--max-steps",
        "2",
        "--train-subset",
        "300",
        "--val-size",
        "100",
        "--train-opt",
        "test_subset=64",
    ],
}
#: commands only parsed (checked against the parser), not run: minutes or a cluster
PARSE_ONLY = ("claims run", "data check")


def _blocks(lang: str) -> list[str]:
    text = README.read_text()
    return re.findall(rf"^ *```{lang}\n(.*?)^ *```", text, flags=re.S | re.M)


def _commands() -> list[list[str]]:
    out = []
    for block in _blocks("sh"):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("  #", 1)[0].strip()
            line = re.sub(r"\[[^\]]*\]", "", line)  # [--optional] parts
            words = shlex.split(line)
            if words and words[0].endswith("cnnzoo"):
                out.append(words[1:])
    return out


def test_the_readme_has_snippets() -> None:
    assert len(_commands()) >= 20 and len(_blocks("python")) >= 4


def test_every_readme_command_parses_and_the_cheap_ones_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import Image

    monkeypatch.chdir(tmp_path)
    for name in ("shoe.png", "shirt.jpg"):
        Image.new("RGB", (40, 30), (120, 80, 40)).save(name)
    for argv in _commands():
        build_parser().parse_args(argv)  # every flag the README shows exists
        key = " ".join(argv[:2]) if argv[0] in ("sweep", "claims", "data") else argv[0]
        if key in PARSE_ONLY:
            continue
        onnx_needed = key == "export" or any(a.endswith(".onnx") for a in argv)
        if onnx_needed and not all(map(importlib.util.find_spec, ("onnx", "onnxruntime"))):
            continue  # the export extra is not installed (`make test` installs it)
        if key == "sweep analyze":  # the README's two sweeps: analyse the one run here
            argv = ["sweep", "analyze", "runs/sweep-a"]
        extra = TINY.get(key, [])
        if key == "train" and "--resume" in argv:  # the same run, a step longer
            extra = [*extra, "--max-steps", "3"]
        if "--nproc" in argv:
            continue  # torchrun and 2 processes: tests/test_distributed.py runs that
        if "--budget" in argv:  # what it buys, without the run (tests/test_budget.py runs one)
            monkeypatch.setattr("cnnzoo.train.budget.process_age", lambda: 0.0)  # not pytest's
            extra = ["--show-config", "--train-subset", "2048", "--test-subset", "64"]
        rc = main([*argv, *extra])
        assert rc == 0, f"README command failed: cnnzoo {' '.join(argv)}"


def test_every_readme_python_snippet_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"images": torch.randn(2, 1, 28, 28)}
    for block in _blocks("python"):
        code = block.replace("epochs=8", "epochs=8, max_steps=2, val_size=64, test_subset=64")
        exec(compile(code, str(README), "exec"), namespace)
    assert namespace["logits"].shape == (2, 10)
    assert 0.0 <= namespace["result"]["test_acc"] <= 1.0
