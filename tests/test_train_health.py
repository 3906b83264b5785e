"""A run that diverges or does not learn is never reported as a success; the input size is
chosen for the network; every family learns with the default recipe."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from cnnzoo.cli import main
from cnnzoo.store import RunStore
from cnnzoo.train import EvalResult, Trainer, recipe_config, train
from cnnzoo.train.health import chance_loss
from test_train import make_folder, tiny


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_folder(tmp_path_factory.mktemp("quadrants"), {"train": 48, "test": 12})


def _assert_marked(out: Path, status: str, words: str) -> dict:
    result = json.loads((out / "eval.json").read_text())  # valid JSON, NaN-free
    assert result["status"] == status and words in result["diagnosis"]
    run = next(r for r in RunStore(out.parent / "runs.sqlite").runs() if r["out_dir"] == str(out))
    assert run["status"] == status and words in run["error"]
    summary = (out / "summary.md").read_text()
    assert status.upper() in summary and words in summary and "Try" in summary
    return result


def test_a_run_that_blows_up_then_sits_at_chance_is_marked_diverged(
    data: Path, tmp_path: Path
) -> None:
    # issue 9's lenet5_relu: lr 10 (clipped, so that it stays finite) sends the loss up to
    # several times chance, the ReLUs die and it comes back down to chance, where it stays
    out = tmp_path / "runs" / "blowup"
    train(tiny(data, lr=10.0, grad_clip=1.0, epochs=6), out, quiet=True)
    result = _assert_marked(out, "diverged", "ended at or above chance level")
    assert (
        "It blew up first" in result["diagnosis"] and "a lower learning rate" in result["diagnosis"]
    )
    curve = [loss for _, loss in result["train_loss_curve"]]
    assert max(curve) > 3 * result["chance_loss"] and curve[-1] >= 0.97 * result["chance_loss"]


def test_a_loss_that_stays_up_stops_the_run_mid_epoch(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a loss held at chance (a tiny rate) with the threshold lowered to half the chance loss:
    # every window after the first counts as "blown up", and the run must stop as soon as the
    # stretch is long enough, in the middle of its first epoch
    from cnnzoo.train import health

    monkeypatch.setattr(health, "BLOW_UP", 0.5)
    out = tmp_path / "runs" / "stays-up"
    result = train(tiny(data, lr=1e-7, epochs=3, batch_size=1), out, quiet=True)
    _assert_marked(out, "diverged", "blew up")
    # 3 x 192 steps in all, so windows of 576 // 20 = 28 steps: the stretch from the first
    # window's end needs 100 steps, four windows more; stopped after the fifth window
    assert len(result["train_loss_curve"]) == 5 and result["steps"] == 5 * 28
    assert result["epochs"] == 0  # in the middle of the first epoch (192 steps)


def test_a_run_stuck_at_chance_is_stopped_after_two_epochs(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "runs" / "stuck"
    result = train(tiny(data, lr=1e-7, epochs=6, batch_size=1), out, quiet=True)
    _assert_marked(out, "diverged", "stayed at or above chance level")
    assert result["epochs"] == 2 and result["chance_loss"] == pytest.approx(math.log(4))
    # a short run of tiny data (12 steps an epoch) is not stopped early: it is marked at its end
    out = tmp_path / "runs" / "stuck-short"
    result = train(tiny(data, lr=1e-7, epochs=6), out, quiet=True)
    _assert_marked(out, "diverged", "did not learn")
    assert result["epochs"] == 6


def test_with_stop_unhealthy_off_the_run_goes_to_its_end(data: Path, tmp_path: Path) -> None:
    # the same stuck run as above: not stopped after two epochs, noted, judged at its end
    out = tmp_path / "runs" / "stuck-to-the-end"
    result = train(tiny(data, lr=1e-7, epochs=4, batch_size=1, stop_unhealthy=False), out,
                   quiet=True)  # fmt: skip
    _assert_marked(out, "diverged", "did not learn")
    assert result["epochs"] == 4 and "stayed at or above chance" in result["health_warning"]


def test_a_late_start_is_not_judged_by_its_stall(data: Path) -> None:
    from cnnzoo.train.health import HealthMonitor

    losses = [1.39, 1.39, 1.39, 1.39, 0.6, 0.3]  # four epochs at chance (ln 4), then it learns
    for stop, diagnosed in ((True, True), (False, False)):
        mon = HealthMonitor(math.log(4), chance_acc=0.25, stop=stop)
        for epoch, loss in enumerate(losses, 1):
            mon.add_window(100 * epoch, loss)
            mon.end_epoch(loss, epoch, steps=100, acc=0.25 if loss > 1 else 0.9)
        mon.end_run(0.9)
        assert (mon.diagnosis is not None) == diagnosed
        assert (mon.warning is not None) == (not stop)


def test_cli_and_runs_table_say_what_went_wrong(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "runs" / "cli-stuck"
    rc = main([
        "train", "lenet5_relu", "--data", str(data), "--epochs", "6", "--batch-size", "16",
        "--lr", "1e-7", "--precision", "fp32", "--out", str(out), "--quiet",
    ])  # fmt: skip
    captured = capsys.readouterr()
    assert rc == 3 and "diverged" in captured.err and "a higher learning rate" in captured.err
    assert json.loads(captured.out.strip().splitlines()[-1])["status"] == "diverged"
    assert main(["runs", str(tmp_path / "runs")]) == 0
    table = capsys.readouterr().out
    assert "diverged" in table and "cli-stuck: diverged: the training loss ended" in table


def test_a_non_finite_test_loss_is_recorded_failed_with_valid_json(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = Trainer._evaluate

    def overflowing(self, split, model=None):  # the test images make the outputs overflow
        res = real(self, split, model)
        if split != "test":
            return res
        return EvalResult(float("inf"), res.acc, res.per_class_acc, res.confusion, res.count)

    monkeypatch.setattr(Trainer, "_evaluate", overflowing)
    out = tmp_path / "runs" / "inf"
    result = train(tiny(data, epochs=2), out, quiet=True)
    assert result["test_loss"] is None
    _assert_marked(out, "failed", "test loss is inf")
    text = (out / "eval.json").read_text()
    assert "Infinity" not in text and "NaN" not in text


def test_input_is_sized_for_the_network_and_said_first(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # DenseNet needs at least 29x29: the 28x28 images are resized to 32 by the loader
    out = tmp_path / "runs" / "dense"
    cfg = tiny(data, model="densenet_d2l", max_steps=2, epochs=1)
    trainer = Trainer(cfg, out)
    assert trainer.input_size == (1, 32, 32) and trainer.config.resize == 32
    assert json.loads((out / "config.json").read_text())["resize"] == 32
    trainer.fit()
    first = capsys.readouterr().out.splitlines()[0]
    assert "at 32x32, resized automatically from 28x28" in first
    # a network that takes the data as it is: no resize; an explicit --resize is kept
    assert Trainer(tiny(data), tmp_path / "lenet").config.resize is None
    kept = Trainer(tiny(data, model="densenet_d2l", resize=48), tmp_path / "d48")
    assert kept.input_size == (1, 48, 48)


# one small representative of every family (the book's variants at a small input size where
# they take one), trained on 28x28 images resized to what each needs
FAMILIES = {
    "lenet5": {},
    "lenet5_relu": {},
    "alexnet_d2l": {"input_size": 65},
    # blocks of 3x3 convolutions, then fully connected layers with dropout, as VGG (vgg_d2l's
    # 4096-wide layers take 10 s here; these 1)
    "vgg": {
        "blocks": ((1, 16), (1, 32), (2, 64)),
        "hidden": 256,
        "input_size": 28,
        "pool_size": None,
    },
    "nin_net": {},  # NiN for 28x28 images (the registered nin needs 80x80)
    "googlenet_d2l": {},
    "resnet20": {},
    "resnext": {"layers": (1, 1, 1, 1)},  # ResNeXt-50's blocks (32 groups of 4), one per stage
    "densenet_d2l": {},
    "regnetx32_d2l": {},
    "speednet": {},
}


# the sigmoid LeNet sits at chance for a while; NiN's logits come out of a ReLU and learn
# slowly; ResNeXt's loss spikes in its first steps on a batch of 32 before it comes down
# (at 16x16 to save time)
SLOW_STARTERS = {"lenet5": 12, "nin_net": 6, "resnext": 6}
QUICK = {"alexnet_d2l": 3}  # 46M parameters: its 3 epochs cost 15 s
RESIZE = {"resnext": 16}


@pytest.fixture(scope="module")
def more_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_folder(tmp_path_factory.mktemp("quadrants"), {"train": 96, "test": 24}, seed=1)


@pytest.mark.parametrize("model", sorted(FAMILIES))
def test_every_family_learns_with_the_default_recipe(
    model: str, more_data: Path, tmp_path: Path
) -> None:
    # 4 epochs of 12 steps (more for the slow starters, fewer for AlexNet): the recipe's own
    # settings, its rate scaled to batch 32
    cfg = recipe_config(
        "fast", model, data=str(more_data), model_options=FAMILIES[model], batch_size=32,
        epochs=SLOW_STARTERS.get(model, QUICK.get(model, 4)), resize=RESIZE.get(model), val_size=0,
        precision="fp32",
        checkpoint_every=1e9,
    )  # fmt: skip
    result = train(cfg, tmp_path / model, quiet=True, plots=False)
    curve = [loss for _, loss in result["train_loss_curve"]]
    assert result["status"] == "finished", result["diagnosis"]
    # the loss falls by a clear margin, below where it started and well below chance (the
    # lowest window of the last third: big networks' losses spike on a batch of 32)
    end = min(curve[-len(curve) // 3 :])
    assert end < curve[0] and end < 0.85 * result["chance_loss"], curve
    if model != "nin_net":  # NiN's ReLU'd logits may leave a class dead this early
        assert result["test_acc"] >= 0.45  # four classes: chance is 0.25


@pytest.mark.slow
@pytest.mark.parametrize("model", ["lenet5", "lenet5_relu", "alexnet", "googlenet_d2l", "resnet20"])
def test_trainability_on_fashion_mnist(model: str, tmp_path: Path) -> None:
    """The zoo benchmark's budget (20,000 images, batch 64) on the real data for a handful of
    models, the hard ones among them (sigmoids, no normalisation): each reaches 0.75."""
    cfg = recipe_config("fast", model, batch_size=64, epochs=1, train_subset=20_000, val_size=0)
    result = train(cfg, tmp_path / model, quiet=True, plots=False)
    assert result["status"] == "finished", result["diagnosis"]
    assert result["test_acc"] >= 0.75


def test_chance_loss_is_the_entropy_of_the_label_prior() -> None:
    """By hand: balanced classes give ln K; an imbalanced prior less; one class none."""
    assert chance_loss([7, 7, 7, 7]) == pytest.approx(math.log(4))
    assert chance_loss([3, 1]) == pytest.approx(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25)))
    assert chance_loss([9, 0, 1]) == pytest.approx(-(0.9 * math.log(0.9) + 0.1 * math.log(0.1)))
    assert chance_loss([5]) == 0.0
