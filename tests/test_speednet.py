"""SpeedNet, the fast recipe's own network: its shape by hand, its options' errors, and the
recipe that trains it by default (``cnnzoo train`` with no model)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import torch

from _util import count_params
from cnnzoo import complexity, create_model
from cnnzoo.cli import main
from cnnzoo.errors import CheckpointError, ConfigError
from cnnzoo.models import speednet as speednet_module
from cnnzoo.train import recipe_config
from cnnzoo.train.recipes import DEFAULT_MODEL
from test_train import make_folder


def conv(c_in: int, c_out: int) -> int:
    return 9 * c_in * c_out  # 3x3, no bias (batch norm follows)


def test_parameters_and_multiply_adds_by_hand() -> None:
    widths, stem = (64, 128, 256), 32
    model = create_model("speednet", widths=widths, convs=(1, 2, 2), stem=stem)
    bn = 2 * (stem + 64 + 128 + 128 + 256 + 256)
    weights = conv(1, 32) + conv(32, 64) + conv(64, 128) + conv(128, 128) + conv(128, 256)
    weights += conv(256, 256)
    fc = 256 * 10 + 10
    assert count_params(model) == weights + bn + fc
    # 28x28: the stem and stage 1's first convolution at 28x28, pooled to 14, 7, 3
    macs = 28 * 28 * (conv(1, 32) + conv(32, 64)) + 14 * 14 * conv(64, 128)
    macs += 7 * 7 * (conv(128, 128) + conv(128, 256)) + 3 * 3 * conv(256, 256) + fc
    assert complexity(model, (1, 28, 28)).flops == macs
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    # the pooling straight after a stage's first convolution: batch norm, the activation and
    # the second convolution run on a quarter of the pixels
    stages = [m for m in model.features if isinstance(m, torch.nn.Sequential)]
    assert [type(m).__name__ for m in stages[1]] == [
        "Conv2d", "MaxPool2d", "BatchNorm2d", "ReLU", "Conv2d", "BatchNorm2d", "ReLU",
    ]  # fmt: skip


def test_no_stem_and_the_smallest_input() -> None:
    model = create_model("speednet", widths=(8, 16), convs=(1, 1), stem=0, in_channels=3)
    assert isinstance(model.features[0][0], torch.nn.Conv2d)
    assert model.features[0][0].in_channels == 3  # the first stage takes the image
    assert count_params(model) == conv(3, 8) + 16 + conv(8, 16) + 32 + 16 * 10 + 10
    assert model.min_input_size == 4  # two 2x2 poolings
    assert model(torch.randn(2, 3, 4, 4)).shape == (2, 10)
    with pytest.raises(ValueError, match="4x4"):
        model(torch.randn(2, 3, 3, 3))


@pytest.mark.parametrize(
    "options, says",
    [
        ({"widths": (32, 64), "convs": (1, 2, 2)}, "one entry of convs per stage"),
        ({"widths": 64}, "widths must be positive whole numbers"),
        ({"widths": (32, 0, 64)}, "widths must be"),
        ({"convs": (1, 2.5, 2)}, "convs must be"),
        ({"stem": -1}, "stem must be"),
        ({"stem": "wide"}, "stem must be"),
        ({"activation": "tanh"}, "activation must be one of relu, gelu, silu"),
    ],
)
def test_bad_options_say_which(options: dict, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        create_model("speednet", **options)


def test_cnnzoo_train_without_a_model_trains_speednet_with_its_tuned_settings(capsys) -> None:
    assert DEFAULT_MODEL == "speednet"
    assert main(["train", "--show-config"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("speednet with the 'fast' recipe:")
    config = json.loads(out[out.index("{") :])
    tuned = recipe_config("fast", "speednet")
    assert config == tuned.to_dict()
    # the speed-run settings: every training image, the test split evaluated each epoch,
    # flip test-time augmentation, progressive resizing; another normalised network keeps the
    # general settings
    assert (tuned.val_size, tuned.tta) == (0, True)
    assert (tuned.progressive_size, tuned.progressive_epochs) == (16, 3)
    other = recipe_config("fast", "resnet20")
    assert (other.val_size, other.tta, other.progressive_epochs) == (1 / 12, False, 0)
    # the user can turn it off; another length of run keeps the same share on small images
    off = recipe_config("fast", "speednet", progressive_epochs=0)
    assert (off.progressive_size, off.progressive_epochs) == (None, 0)
    assert recipe_config("fast", "speednet", epochs=20).progressive_epochs == 6
    assert recipe_config("fast", "speednet", epochs=4).progressive_epochs == pytest.approx(1.2)
    short = recipe_config("fast", "speednet", epochs=3)  # 0.9 epochs: off
    assert (short.progressive_size, short.progressive_epochs) == (None, 0)
    assert recipe_config("fast", "speednet", epochs=4, progressive_epochs=2).progressive_epochs == 2


def test_resume_without_a_model_resumes_the_runs_own(tmp_path: Path, capsys) -> None:
    data = make_folder(tmp_path / "data", {"train": 8, "test": 4})
    flags = ["--data", str(data), "--val-size", "0", "--batch-size", "8", "--quiet"]
    out = tmp_path / "run"
    t0 = time.time()
    assert main(["train", "lenet5_bn", "--epochs", "1", "--out", str(out), *flags]) == 0
    t1 = time.time()
    # each epoch's row carries the Unix time its evaluation ended (time to accuracy)
    row = json.loads((out / "metrics.jsonl").read_text())
    assert t0 < row["time"] < t1
    # fp32 on a CPU runs in channels_last
    assert json.loads((out / "eval.json").read_text())["channels_last"] is True
    # the run's model (lenet5_bn), not speednet, is taken up again and trained a second epoch
    assert main(["train", "--epochs", "2", "--out", str(out), "--resume", *flags]) == 0
    assert json.loads((out / "eval.json").read_text())["epochs"] == 2
    assert json.loads((out / "config.json").read_text())["model"] == "lenet5_bn"


def test_a_run_saved_with_another_default_shape_is_refused_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    # a run trained while speednet's default shape was another (as it was before its search)
    data = make_folder(tmp_path / "data", {"train": 8, "test": 4})
    flags = ["--data", str(data), "--val-size", "0", "--batch-size", "8", "--quiet"]
    builder = speednet_module.speednet
    old = dict(builder.__kwdefaults__)
    monkeypatch.setitem(builder.__kwdefaults__, "widths", (8, 16, 24))
    out = tmp_path / "run"
    assert main(["train", "speednet", "--epochs", "1", "--out", str(out), *flags]) == 0
    monkeypatch.setattr(builder, "__kwdefaults__", old)  # the default changes
    capsys.readouterr()
    for argv in (
        ["train", "speednet", "--epochs", "2", "--out", str(out), "--resume", *flags],
        ["eval", str(out), "--data", str(data)],
    ):
        assert main(argv) != 0, argv
        err = capsys.readouterr().err
        assert "does not fit the SpeedNet" in err and "default shape" in err, err
        assert "features.3.0.weight (8, 8, 3, 3) saved, (16, 8, 3, 3) built" in err  # stage 1
        assert "Traceback" not in err
    # nothing saved was touched: with its own shape back, the run resumes
    assert json.loads((out / "eval.json").read_text())["epochs"] == 1
    monkeypatch.setitem(builder.__kwdefaults__, "widths", (8, 16, 24))
    assert main(["train", "speednet", "--epochs", "2", "--out", str(out), "--resume", *flags]) == 0
    assert json.loads((out / "eval.json").read_text())["epochs"] == 2


def test_load_weights_names_what_does_not_fit() -> None:
    from cnnzoo.train.checkpoint import load_weights

    small = create_model("speednet", widths=(8, 16), convs=(1, 1), stem=0)
    other = create_model("speednet", widths=(4, 16, 32), convs=(1, 1, 1), stem=0)
    with pytest.raises(CheckpointError) as e:
        load_weights(small, other.state_dict(), Path("ckpt"))
    msg = str(e.value)
    assert "shapes differ: features.0.0.weight (4, 1, 3, 3) saved, (8, 1, 3, 3) built" in msg
    assert "not in the network: features.2." in msg and "ckpt" in msg
    load_weights(small, small.state_dict(), Path("ckpt"))  # a fitting one loads
