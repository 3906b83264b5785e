"""``--tensorboard``: the event files a run writes, read back with TensorBoard's own reader."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from cnnzoo.cli import main
from cnnzoo.errors import ConfigError
from cnnzoo.train import train
from test_train import make_folder, tiny

event_accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator",
    reason="the tensorboard package is not installed (pip install 'cnnzoo[tensorboard]')",
)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_folder(tmp_path_factory.mktemp("quadrants"), {"train": 24, "test": 8}, seed=2)


def read_events(run_dir: Path):
    acc = event_accumulator.EventAccumulator(
        str(run_dir), size_guidance={event_accumulator.SCALARS: 0, event_accumulator.IMAGES: 0}
    )
    acc.Reload()
    return acc


def scalars(acc, tag: str) -> list[tuple[int, float]]:
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def history(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_a_run_logs_its_epochs_windows_and_confusion_matrix(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "runs" / "tb"
    rc = main([
        "train", "lenet5_relu", "--data", str(data), "--epochs", "2", "--batch-size", "8",
        "--val-size", "0", "--precision", "fp32", "--lr", "0.05", "--out", str(out), "--quiet",
        "--tensorboard",
    ])  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    acc = read_events(out)
    rows = history(out)
    assert len(rows) == 2
    for key, tag in (("train_loss", "loss/train"), ("test_acc", "accuracy/test"),
                     ("lr", "optim/lr"), ("images_per_s", "speed/images_per_s")):  # fmt: skip
        got = scalars(acc, tag)
        assert [s for s, _ in got] == [r["step"] for r in rows], tag
        assert [v for _, v in got] == pytest.approx([r[key] for r in rows], rel=1e-6), tag
    # the windows of steps the health monitor judges (its curve in eval.json)
    curve = json.loads((out / "eval.json").read_text())["train_loss_curve"]
    windows = scalars(acc, "loss/train_steps")
    assert [s for s, _ in windows] == [s for s, _ in curve]
    assert [v for _, v in windows] == pytest.approx([v for _, v in curve], rel=1e-6)
    result = json.loads((out / "eval.json").read_text())
    assert scalars(acc, "final/test_acc") == [(rows[-1]["step"], pytest.approx(result["test_acc"]))]
    (image,) = acc.Images("confusion_matrix")
    assert image.encoded_image_string.startswith(b"\x89PNG") and image.width > 100
    assert "finished" in acc.Tensors("status/text_summary")[0].tensor_proto.string_val[0].decode()


def test_a_resumed_run_continues_its_curves_without_duplicates(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    cfg = tiny(data, epochs=1, batch_size=8, tensorboard=True)
    train(cfg, out, quiet=True, plots=False)
    train(cfg.replace(epochs=3), out, resume=True, quiet=True, plots=False)
    rows = history(out)
    acc = read_events(out)
    got = scalars(acc, "loss/train")
    assert [s for s, _ in got] == [r["step"] for r in rows] and len(rows) == 3
    assert [v for _, v in got] == pytest.approx([r["train_loss"] for r in rows], rel=1e-6)
    curve = json.loads((out / "eval.json").read_text())["train_loss_curve"]
    windows = scalars(acc, "loss/train_steps")  # the window ending at the resumed step too
    assert [s for s, _ in windows] == [s for s, _ in curve]
    assert [v for _, v in windows] == pytest.approx([v for _, v in curve], rel=1e-6)


def test_without_the_tensorboard_package_the_error_says_what_to_install(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails
    with pytest.raises(ConfigError, match=r"pip install 'cnnzoo\[tensorboard\]'"):
        train(tiny(data, epochs=1, tensorboard=True), tmp_path / "r", quiet=True)
