"""Trainer options beyond the defaults, the bench and compare commands, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import cnnzoo
from cnnzoo.bench import bench_model, matmul_peak
from cnnzoo.cli import main
from cnnzoo.train import load_checkpoint, predict_images, train
from cnnzoo.train.device import (
    cpu_supports_bf16,
    pick_channels_last,
    pick_device,
    pick_precision,
)
from cnnzoo.train.ema import ModelEMA
from test_train import make_folder, tiny


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_folder(tmp_path_factory.mktemp("quadrants"), {"train": 24, "test": 8}, seed=1)


def test_adamw_ema_clip_smoothing_and_tta(data: Path, tmp_path: Path) -> None:
    cfg = tiny(
        data, optimizer="adamw", lr=3e-3, weight_decay=0.05, ema_decay=0.9, grad_clip=0.5,
        label_smoothing=0.1, tta=True, schedule="onecycle", warmup_epochs=0.5, epochs=4,
        hflip=True, crop_padding=2,
    )  # fmt: skip
    result = train(cfg, tmp_path / "run", quiet=True, plots=False)
    history = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert all("ema_test_acc" in h for h in history)
    assert 0.0 <= result["ema_test_acc"] <= 1.0
    assert load_checkpoint(tmp_path / "run").ema is not None
    assert result["test_acc"] > 0.4  # learns with every option on (chance 0.25)


def test_ema_by_hand() -> None:
    model = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(0.0)
    ema = ModelEMA(model, decay=0.5)
    with torch.no_grad():
        model.weight.fill_(1.0)
    ema.update(model)  # decay min(0.5, 2/11) = 2/11: ema = 2/11 * 0 + 9/11 * 1
    assert float(ema.module.weight) == pytest.approx(9 / 11)
    for _ in range(20):
        ema.update(model)
    assert float(ema.module.weight) == pytest.approx(1.0, abs=1e-6)


def test_precision_follows_the_device() -> None:
    cpu = torch.device("cpu")
    assert pick_precision(cpu) == ("bf16" if cpu_supports_bf16() else "fp32")
    assert pick_precision(cpu, "fp32") == "fp32"
    with pytest.raises(ValueError, match="GPUs"):
        pick_precision(cpu, "fp16")
    assert pick_device("cpu").type == "cpu"
    # channels_last: on a CPU in every precision, on a GPU under autocast; an explicit choice wins
    cuda = torch.device("cuda")
    assert pick_channels_last("fp32", None, cpu) and pick_channels_last("bf16", None, cpu)
    assert not pick_channels_last("fp32", None, cuda) and pick_channels_last("bf16", None, cuda)
    assert not pick_channels_last("fp32", False, cpu) and pick_channels_last("fp32", True, cuda)
    if not torch.cuda.is_available():
        assert pick_device().type == "cpu"
        with pytest.raises(ValueError, match="no CUDA GPU"):
            pick_device("cuda")


def test_bench_reports_every_precision_and_format(capsys: pytest.CaptureFixture[str]) -> None:
    rows, meta = bench_model("lenet5", batch_size=16, min_time=0.05, precisions=("fp32",))
    assert [(r.precision, r.memory_format) for r in rows] == [
        ("fp32", "contiguous"), ("fp32", "channels_last"),
    ]  # fmt: skip
    assert meta["mult_adds"] == cnnzoo.complexity("lenet5").flops
    for r in rows:
        assert r.train_images_per_s > 0 and r.infer_images_per_s > r.train_images_per_s / 10
        assert r.train_gflops == pytest.approx(
            3 * 2 * meta["mult_adds"] * r.train_images_per_s / 1e9
        )
        assert r.train_util == pytest.approx(r.train_gflops / r.peak_gflops)
        # the peak is the best of every kernel tried, so no utilisation passes 100%
        assert r.peak_gflops >= max(meta["peak_probes"]["fp32"].values())
        assert r.train_util <= 1.0 and r.infer_util <= 1.0
    assert {k.split()[0] for k in meta["peak_probes"]["fp32"]} == {"matmul", "conv3x3"}
    assert matmul_peak("fp32", n=256, min_time=0.05) > 0.1
    assert main(["bench", "lenet5", "--batch-size", "8", "--seconds", "0.05"]) == 0
    out = capsys.readouterr().out
    assert "train img/s" in out and "channels_last" in out
    # a shape of a generic network: its own cost, not the default's
    argv = ["bench", "speednet", "--option", "widths=[8,16,32]", "--option", "stem=0"]
    assert main([*argv, "--batch-size", "8", "--seconds", "0.05", "--format", "json"]) == 0
    got = json.loads(capsys.readouterr().out)["meta"]
    small = cnnzoo.complexity("speednet", (1, 28, 28), widths=[8, 16, 32], stem=0).flops
    assert got["mult_adds"] == small < cnnzoo.complexity("speednet", (1, 28, 28)).flops / 5
    assert got["options"] == {"widths": [8, 16, 32], "stem": 0}


def test_a_model_faster_than_every_probe_is_its_own_peak(monkeypatch: pytest.MonkeyPatch) -> None:
    import cnnzoo.bench as bench

    slow = bench.Peak(1e-6, "matmul 1x1", {"matmul 1x1": 1e-6})
    monkeypatch.setattr(bench, "machine_peak", lambda *a, **k: slow)
    rows, _ = bench_model("lenet5", batch_size=8, min_time=0.02, precisions=("fp32",))
    best = max(max(r.train_gflops, r.infer_gflops) for r in rows)
    assert all(r.peak_gflops == best and "lenet5" in r.peak_kernel for r in rows)
    assert max(max(r.train_util, r.infer_util) for r in rows) == pytest.approx(1.0)


def test_conv_flops_agree_with_pytorchs_flop_counter() -> None:
    from torch.utils.flop_counter import FlopCounterMode

    from cnnzoo.bench import conv_flops, conv_throughput

    x, w = torch.randn(2, 8, 6, 6), torch.randn(8, 8, 3, 3)
    with FlopCounterMode(display=False) as counter:
        torch.nn.functional.conv2d(x, w, padding=1)
    assert counter.get_total_flops() == conv_flops(2, 8, 6)
    assert conv_throughput("fp32", channels=8, size=6, batch=2, min_time=0.01) > 0


def test_compare_trains_each_model_once(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["compare", "lenet5_relu", "resnet20", "--data", str(data), "--epochs", "1",
            "--out", str(tmp_path / "cmp"), "--quiet"]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "lenet5_relu" in out and "resnet20" in out and "comparison.png" in out
    rows = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    assert [r["model"] for r in rows] == ["lenet5_relu", "resnet20"]
    assert rows[1]["params"] == cnnzoo.complexity("resnet20", input_size=(1, 28, 28),
                                                  num_classes=4).params  # fmt: skip
    assert (tmp_path / "cmp" / "comparison.png").stat().st_size > 0
    mtime = (tmp_path / "cmp" / "resnet20" / "eval.json").stat().st_mtime
    assert main(args) == 0  # a second run reuses the results
    assert (tmp_path / "cmp" / "resnet20" / "eval.json").stat().st_mtime == mtime


def test_bad_input_gets_clear_errors(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["train", "resnet19", "--data", str(data), "--out", str(tmp_path / "x")]) == 2
    assert "resnet18" in capsys.readouterr().err
    assert main(["eval", str(tmp_path / "nothing")]) == 2
    assert "no checkpoint found" in capsys.readouterr().err
    out = tmp_path / "run"
    train(tiny(data, epochs=1), out, quiet=True, plots=False)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(ValueError, match="cannot read image"):
        predict_images(out, [bad])
    assert main(["predict", str(out), str(tmp_path / "missing.png")]) == 2
    assert "does not exist" in capsys.readouterr().err
    # a damaged pointer with no intact step to fall back to is reported, not a stack trace
    import shutil

    (out / "checkpoints" / "last.json").write_text("{not json")
    for d in (out / "checkpoints").glob("step-*"):
        shutil.rmtree(d)
    assert main(["train", "lenet5_relu", "--data", str(data), "--out", str(out), "--resume"]) == 2
    err = capsys.readouterr().err
    assert "last.json is damaged" in err and "Traceback" not in err


@pytest.mark.slow
def test_compile_trains_like_eager(data: Path, tmp_path: Path) -> None:
    eager = train(tiny(data, epochs=1), tmp_path / "eager", quiet=True, plots=False)
    compiled = train(tiny(data, epochs=1, compile=True), tmp_path / "compiled", quiet=True,
                     plots=False)  # fmt: skip
    assert compiled["test_acc"] == pytest.approx(eager["test_acc"], abs=0.1)


def test_the_test_split_is_evaluated_once_per_set_of_weights(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cnnzoo.train import trainer as trainer_module

    calls: list[int] = []
    real = trainer_module.evaluate

    def counting(model, loader, *args, **kw):
        calls.append(len(loader.dataset) if hasattr(loader, "dataset") else -1)
        return real(model, loader, *args, **kw)

    monkeypatch.setattr(trainer_module, "evaluate", counting)
    # the curves: one test evaluation per epoch; the final one is the last epoch's, not redone
    every = train(tiny(data, epochs=3), tmp_path / "every", quiet=True, plots=False)
    assert len(calls) == 3
    calls.clear()
    # epoch_eval=False: only the final evaluation — of the same weights, so the same numbers
    once = train(tiny(data, epochs=3), tmp_path / "once", quiet=True, plots=False,
                 epoch_eval=False)  # fmt: skip
    assert len(calls) == 1
    assert once["test_acc"] == every["test_acc"] and once["test_loss"] == every["test_loss"]
    assert once["confusion"] == every["confusion"]
    rows = [json.loads(x) for x in (tmp_path / "once" / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and all("test_acc" not in r and "train_loss" in r for r in rows)
    # with a validation split: it is evaluated every epoch whatever epoch_eval says (it picks
    # the best checkpoint), and the test split once, at the end
    calls.clear()
    train(tiny(data, epochs=2, val_size=8), tmp_path / "val", quiet=True, plots=False,
          epoch_eval=False)  # fmt: skip
    assert len(calls) == 3


def test_progressive_resizing_trains_small_then_at_full_size(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cnnzoo.train import trainer as trainer_module

    seen: set[tuple[int, tuple[int, ...]]] = set()
    step = trainer_module.Trainer.train_step

    def spy(self, x, y):
        seen.add((self.epoch, tuple(x.shape[1:])))
        return step(self, x, y)

    evaluated: set[tuple[int, ...]] = set()
    evaluate = trainer_module.evaluate

    def evaluate_spy(model, loader, *args, **kwargs):
        evaluated.add(tuple(next(iter(loader))[0].shape[1:]))
        return evaluate(model, loader, *args, **kwargs)

    monkeypatch.setattr(trainer_module.Trainer, "train_step", spy)
    monkeypatch.setattr(trainer_module, "evaluate", evaluate_spy)
    cfg = tiny(data, model="speednet", progressive_size=12, progressive_epochs=2, epochs=3)
    result = train(cfg, tmp_path / "run", quiet=True, plots=False)
    # 12 at the first epoch, 12 + (28 - 12) * 1/2 = 20 at the second, the full 28 after that
    assert seen == {(0, (1, 12, 12)), (1, (1, 20, 20)), (2, (1, 28, 28))}
    history = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [h["image_size"] for h in history] == ["12x12", "20x20", "28x28"]
    assert evaluated == {(1, 28, 28)}  # every evaluation at the full size
    assert load_checkpoint(tmp_path / "run").meta["input_size"] == [1, 28, 28]
    assert result["test_acc"] > 0.4  # evaluated at the full size, and learnt (chance 0.25)


def test_progressive_sizes_by_hand() -> None:
    from cnnzoo.train.config import TrainConfig
    from cnnzoo.train.run_data import train_resize

    cfg = TrainConfig(model="speednet", resize=32, progressive_size=16, progressive_epochs=4)
    assert [train_resize(cfg, e, 32) for e in range(6)] == [16, 20, 24, 28, 32, 32]
    off = TrainConfig(model="speednet")
    assert [train_resize(off, e, 28) for e in range(3)] == [None, None, None]
    half = TrainConfig(model="speednet", progressive_size=8, progressive_epochs=2.5)
    assert [train_resize(half, e, 28) for e in range(4)] == [8, 16, 24, None]
    thirds = TrainConfig(model="speednet", progressive_size=16, progressive_epochs=3)
    # 16 + 11 * 1/3 = 19.67 and 16 + 11 * 2/3 = 23.33, rounded
    assert [train_resize(thirds, e, 27) for e in range(4)] == [16, 20, 23, None]


@pytest.mark.parametrize(
    ("model", "options", "message"),
    [
        ("speednet", {"progressive_epochs": 2}, "needs both the size it starts from"),
        ("speednet", {"progressive_size": 16}, "needs both the size it starts from"),
        ("speednet", {"progressive_size": 4, "progressive_epochs": 2}, "at least 8"),
        ("speednet", {"progressive_size": 28, "progressive_epochs": 2}, "below 28"),
        ("lenet5", {"progressive_size": 16, "progressive_epochs": 2}, "exactly 28x28"),
    ],
)
def test_impossible_progressive_resizing_is_refused(
    data: Path, tmp_path: Path, model: str, options: dict, message: str
) -> None:
    with pytest.raises(cnnzoo.errors.ConfigError, match=message):
        train(tiny(data, model=model, **options), tmp_path / "run", quiet=True, plots=False)
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_a_progressive_run_killed_mid_epoch_resumes_as_if_never_stopped(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cnnzoo.train import trainer as trainer_module

    cfg = tiny(
        data, model="speednet", progressive_size=12, progressive_epochs=2, epochs=3,
        checkpoint_every_steps=1,
    )  # fmt: skip
    step = trainer_module.Trainer.train_step

    def dies(self, x, y):
        if self.step == 8:  # 6 steps an epoch: in the second epoch, at 20x20
            raise KeyboardInterrupt
        return step(self, x, y)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        monkeypatch.setattr(trainer_module.Trainer, "train_step", dies)
        with pytest.raises(KeyboardInterrupt):
            train(cfg, tmp_path / "killed", quiet=True, plots=False)
        monkeypatch.setattr(trainer_module.Trainer, "train_step", step)
        train(cfg, tmp_path / "killed", resume=True, quiet=True, plots=False)
        train(cfg, tmp_path / "straight", quiet=True, plots=False)
    finally:
        torch.set_num_threads(threads)
    a, b = (load_checkpoint(tmp_path / r, which="last").model for r in ("killed", "straight"))
    assert all(torch.equal(a[k], b[k]) for k in b)
    timing = ("images_per_s", "elapsed", "epoch_time", "time")
    rows = [
        [{k: v for k, v in json.loads(x).items() if k not in timing}
         for x in (tmp_path / r / "metrics.jsonl").read_text().splitlines()]
        for r in ("killed", "straight")
    ]  # fmt: skip
    assert rows[0] == rows[1]
    assert [r["image_size"] for r in rows[0]] == ["12x12", "20x20", "28x28"]
