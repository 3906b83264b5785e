"""The trainer on tiny synthetic data in a real format (PNG image folders): it learns, keeps
its work, resumes exactly, stops cleanly on a non-finite loss, and records its runs."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from PIL import Image

import cnnzoo
from cnnzoo.cli import main
from cnnzoo.store import RunStore
from cnnzoo.train import (
    NonFiniteLossError,
    TrainConfig,
    Trainer,
    evaluate_checkpoint,
    load_checkpoint,
    load_trained_model,
    predict_images,
    train,
)
from cnnzoo.train.optim import Schedule, param_groups

CLASSES = ["top-left", "top-right", "bottom-left", "bottom-right"]


def make_folder(root: Path, per_class: dict[str, int], size: int = 28, seed: int = 0) -> Path:
    """An image folder whose class is the quadrant holding a bright blob, with noise."""
    g = torch.Generator().manual_seed(seed)
    for split, n in per_class.items():
        for k, name in enumerate(CLASSES):
            d = root / split / name
            d.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                img = torch.rand(size, size, generator=g) * 90
                r0 = (k // 2) * size // 2 + int(torch.randint(0, 5, (1,), generator=g))
                c0 = (k % 2) * size // 2 + int(torch.randint(0, 5, (1,), generator=g))
                img[r0 : r0 + 8, c0 : c0 + 8] += 150
                Image.fromarray(img.clamp(0, 255).to(torch.uint8).numpy(), mode="L").save(
                    d / f"{i:03d}.png"
                )
    return root


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_folder(tmp_path_factory.mktemp("quadrants"), {"train": 48, "test": 12})


def tiny(data: Path, **kw) -> TrainConfig:
    base = {
        "model": "lenet5_relu",
        "data": str(data),
        "epochs": 3,
        "batch_size": 16,
        "optimizer": "sgd",
        "lr": 0.05,
        "momentum": 0.9,
        "schedule": "cosine",
        "precision": "fp32",
        "seed": 0,
    }
    return TrainConfig(**(base | kw))


def test_it_learns_and_writes_its_report(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = train(tiny(data, epochs=6, val_size=32), out, quiet=True)
    history = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(history) == 6
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert result["test_acc"] > 0.6  # chance is 0.25
    assert sum(map(sum, result["confusion"])) == 48  # every test image counted once
    for name in ("curves.png", "confusion.png", "summary.md", "metrics.csv", "eval.json"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "curves.png").read_bytes()[:4] == b"\x89PNG"
    summary = (out / "summary.md").read_text()
    assert "test accuracy" in summary
    assert "best validation accuracy" in summary and "| val loss | val acc |" in summary
    # the runs store beside the run
    runs = RunStore(tmp_path / "runs.sqlite").runs()
    assert [r["status"] for r in runs] == ["finished"]
    assert runs[0]["test_acc"] == pytest.approx(result["test_acc"])
    assert len(RunStore(tmp_path / "runs.sqlite").epochs(runs[0]["id"])) == 6


def test_checkpoint_round_trip_eval_and_predict(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = train(tiny(data), out, quiet=True)
    ckpt = load_checkpoint(out, which="last")
    assert ckpt.meta["classes"] == sorted(CLASSES) and ckpt.meta["model"] == "lenet5_relu"
    # no validation split: each epoch evaluated the test split, and every record says so
    (run,) = RunStore(tmp_path / "runs.sqlite").runs()
    epochs = RunStore(tmp_path / "runs.sqlite").epochs(run["id"])
    assert all("val_acc" not in e for e in epochs) and [e["epoch"] for e in epochs] == [1, 2, 3]
    assert run["best_acc"] == pytest.approx(max(e["test_acc"] for e in epochs))
    summary = (out / "summary.md").read_text()
    assert "best test accuracy over the epochs" in summary and "| test acc |" in summary
    assert ckpt.state["step"] == 3 * 12
    model, _ = load_trained_model(out, which="last")
    # eval of the checkpoint equals what training measured at the end
    res, _ = evaluate_checkpoint(out, which="last", precision="fp32", device="cpu")
    assert res.acc == pytest.approx(result["test_acc"])
    assert res.count == 48
    # predict: files in, class names and probabilities out
    files = sorted((data / "test" / "top-right").glob("*.png"))[:4]
    preds = predict_images(out, files, top_k=4)
    assert len(preds) == 4
    for p in preds:
        probs = [q["prob"] for q in p["predictions"]]
        assert probs == sorted(probs, reverse=True) and sum(probs) == pytest.approx(1, abs=1e-4)
        assert {q["class"] for q in p["predictions"]} == set(CLASSES)
    hits = sum(p["predictions"][0]["class"] == "top-right" for p in preds)
    assert hits >= 3
    # the loaded model equals the trained one on a batch
    x = torch.rand(2, 1, 28, 28)
    trained = cnnzoo.create_model("lenet5_relu", num_classes=4, in_channels=1)
    trained.load_state_dict(ckpt.model)
    trained.eval()
    torch.testing.assert_close(model(x), trained(x))


def test_an_existing_run_is_never_overwritten(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    train(tiny(data, epochs=1), out, quiet=True)
    before = (out / "checkpoints" / "last.json").read_text()
    with pytest.raises(ValueError, match="already holds a run"):
        train(tiny(data, epochs=1), out, quiet=True)
    assert (out / "checkpoints" / "last.json").read_text() == before


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(path, which="last").model


def _metrics(path: Path) -> list[dict]:
    rows = [json.loads(x) for x in (path / "metrics.jsonl").read_text().splitlines()]
    return [
        {k: v for k, v in r.items() if k not in ("images_per_s", "elapsed", "epoch_time", "time")}
        for r in rows
    ]


def test_resume_after_a_kill_equals_an_uninterrupted_run(data: Path, tmp_path: Path) -> None:
    cfg = dict(model="resnet20", epochs=3, checkpoint_every_steps=1, lr=0.05, val_size=16)
    args = [
        sys.executable, "-m", "cnnzoo", "train", "resnet20", "--data", str(data),
        "--recipe", "fast", "--epochs", "3", "--batch-size", "16", "--lr", "0.05",
        "--precision", "fp32", "--val-size", "16", "--seed", "0", "--quiet",
        "--checkpoint-every-steps", "1",
    ]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS="1")
    killed = tmp_path / "killed"
    proc = subprocess.Popen([*args, "--out", str(killed)], env=env)
    last = killed / "checkpoints" / "last.json"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        try:
            if json.loads(last.read_text())["step"] >= 14:  # into the second epoch
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "training ended before it could be killed"
    step_at_kill = json.loads(last.read_text())["step"]
    assert 0 < step_at_kill < 3 * 12

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        from cnnzoo.train import recipe_config

        config = recipe_config(
            "fast", "resnet20", data=str(data), batch_size=16, precision="fp32", seed=0, **{
                k: v for k, v in cfg.items() if k != "model"
            }
        )  # fmt: skip
        train(config, killed, resume=True, quiet=True)
        straight = tmp_path / "straight"
        train(config, straight, quiet=True)
    finally:
        torch.set_num_threads(threads)
    a, b = _weights(killed), _weights(straight)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert _metrics(killed) == _metrics(straight)


def test_non_finite_loss_stops_with_the_step_and_keeps_the_checkpoint(
    data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    trainer = Trainer(tiny(data, epochs=2, checkpoint_every_steps=4), out, quiet=True)
    real = trainer.forward_model

    def poisoned(x: torch.Tensor) -> torch.Tensor:
        logits = real(x)
        return logits * math.nan if trainer.step == 6 else logits

    trainer.forward_model = poisoned  # type: ignore[assignment]
    with pytest.raises(NonFiniteLossError, match="at step 6") as err:
        trainer.fit()
    assert "last good checkpoint" in str(err.value)
    ckpt = load_checkpoint(out, which="last")
    assert ckpt.state["step"] == 4
    assert all(torch.isfinite(v).all() for v in ckpt.model.values())
    runs = RunStore(tmp_path / "runs.sqlite").runs()
    assert runs[0]["status"] == "failed" and "step 6" in runs[0]["error"]


def test_schedules_by_hand() -> None:
    cos = Schedule("cosine", total_steps=100, warmup_steps=10)
    assert cos(0) == pytest.approx(0.1)  # warm-up: (0 + 1) / 10
    assert cos(50) == pytest.approx(0.5)
    assert cos(100) == pytest.approx(0.0)
    step = Schedule("step", total_steps=100, step_size=30, gamma=0.1)
    assert [step(s) for s in (0, 29, 30, 60, 99)] == pytest.approx([1, 1, 0.1, 0.01, 0.001])
    one = Schedule("onecycle", total_steps=100, pct_start=0.25, div=25)
    assert one(0) == pytest.approx(1 / 25)
    assert one(25) == pytest.approx(1.0)
    assert one(100) == pytest.approx(0.0)
    assert Schedule("constant", total_steps=10, warmup_steps=4)(1) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="unknown schedule"):
        Schedule("linear", total_steps=10)


def test_weight_decay_skips_norms_and_biases() -> None:
    model = cnnzoo.create_model("resnet20")
    decay, no_decay = param_groups(model, 5e-4)
    n_conv_linear = sum(
        1 for m in model.modules() if isinstance(m, torch.nn.Conv2d | torch.nn.Linear)
    )
    assert len(decay["params"]) == n_conv_linear
    assert all(p.ndim > 1 for p in decay["params"])
    assert no_decay["weight_decay"] == 0 and all(p.ndim == 1 for p in no_decay["params"])


def test_bad_config_is_explained() -> None:
    with pytest.raises(ValueError, match=r"lr \(--lr\) must be > 0"):
        TrainConfig(model="lenet5", lr=-1)
    with pytest.raises(ValueError, match="precision"):
        TrainConfig(model="lenet5", precision="fp8")


def test_cli_train_and_runs(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "runs" / "cli"
    rc = main([
        "train", "lenet5_relu", "--data", str(data), "--epochs", "1", "--batch-size", "16",
        "--precision", "fp32", "--out", str(out), "--quiet",
    ])  # fmt: skip
    assert rc == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["model"] == "lenet5_relu" and 0 <= printed["test_acc"] <= 1
    assert main(["runs", str(tmp_path / "runs")]) == 0
    table = capsys.readouterr().out
    assert "cli" in table and "finished" in table
    # the recipe holds out a validation split: "best" is the best validation accuracy
    (run,) = RunStore(tmp_path / "runs" / "runs.sqlite").runs()
    (epoch,) = RunStore(tmp_path / "runs" / "runs.sqlite").epochs(run["id"])
    assert "test_acc" not in epoch and run["best_acc"] == pytest.approx(epoch["val_acc"])
    assert f"{epoch['val_acc']:.4f} val" in table
    assert main(["eval", str(out), "--format", "json", "--device", "cpu"]) == 0
    assert json.loads(capsys.readouterr().out)["acc"] == pytest.approx(printed["test_acc"])


def test_concurrent_writers_do_not_corrupt_the_store(tmp_path: Path) -> None:
    db = tmp_path / "runs.sqlite"
    RunStore(db)
    code = (
        "import sys; from cnnzoo.store import RunStore\n"
        "s = RunStore(sys.argv[1]); r = sys.argv[2]\n"
        "s.start_run(r, 'm', 'd', {'i': r}, '/x/' + r)\n"
        "for e in range(40): s.log_epoch(r, e, {'val_acc': e / 40})\n"
        "s.finish_run(r, 'finished', test_acc=0.5, wall_time=1.0)\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(db), f"run{i}"]) for i in range(4)]
    assert all(p.wait() == 0 for p in procs)
    store = RunStore(db)
    runs = store.runs()
    assert sorted(r["id"] for r in runs) == ["run0", "run1", "run2", "run3"]
    for r in runs:
        assert r["status"] == "finished" and r["epochs_done"] == 40
        assert len(store.epochs(r["id"])) == 40


def test_an_epochs_training_metrics_are_the_means_over_its_images(
    data: Path, tmp_path: Path
) -> None:
    """With a learning rate too small to move the weights, the epoch's training loss and
    accuracy (summed step by step in the loop) equal a separate evaluation of the same network
    on the training split (the evaluation code path)."""
    out = tmp_path / "run"
    cfg = tiny(data, epochs=1, lr=1e-12, momentum=0.0, schedule="constant", weight_decay=0.0)
    train(cfg, out, quiet=True)
    epoch = json.loads((out / "metrics.jsonl").read_text().splitlines()[0])
    on_train, _ = evaluate_checkpoint(out, split="train", which="last", precision="fp32")
    assert 0.0 <= epoch["train_acc"] <= 1.0
    assert epoch["train_loss"] == pytest.approx(on_train.loss, rel=1e-4)
    assert epoch["train_acc"] == pytest.approx(on_train.acc, abs=1e-9)
