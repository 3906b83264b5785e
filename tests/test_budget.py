"""Training to a time budget (``cnnzoo train --budget``): durations, the estimate of a run's
time from measured step costs, the longest run that fits, and the run it starts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from cnnzoo.cli import main
from cnnzoo.errors import ConfigError
from cnnzoo.train import budget as B
from cnnzoo.train import recipe_config
from cnnzoo.train.config import TrainConfig
from test_train import make_folder


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_folder(tmp_path_factory.mktemp("quadrants"), {"train": 64, "test": 16}, seed=3)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("300", 300), ("90s", 90), ("5m", 300), ("5min", 300), ("1.5h", 5400), ("2m30s", 150),
     (" 7 m ", 420), (".5m", 30), (45, 45), (2.5, 2.5)],
)  # fmt: skip
def test_durations_read_as_people_write_them(text, seconds) -> None:
    assert B.parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "five", "5 parsecs", "5x", "-3", "0", "0s", "nan", "m5"])
def test_unreadable_or_empty_durations_are_refused(text) -> None:
    with pytest.raises(ConfigError, match="duration"):
        B.parse_duration(text)


def test_step_time_is_interpolated_in_pixels() -> None:
    costs = B.StepCosts({16: 0.010, 28: 0.034}, 100, 28, 1.0, 0.0)
    assert costs.step_at(16) == 0.010 and costs.step_at(28) == 0.034
    # 22x22 has (484 - 256) / (784 - 256) of the way in pixels from 16x16 to 28x28
    assert costs.step_at(22) == pytest.approx(0.010 + 0.024 * 228 / 528)
    alone = B.StepCosts({28: 0.028}, 100, 28, 1.0, 0.0)
    assert alone.step_at(14) == pytest.approx(0.007)  # a quarter of the pixels


def test_a_runs_time_is_its_epochs_steps_and_evaluations() -> None:
    costs = B.StepCosts({16: 0.01, 28: 0.03}, 200, 28, 2.0, 5.0)
    # by hand: epochs at 16, 20 and 24 pixels (progressive over 3 epochs), then 7 at 28
    step = {s: 0.01 + 0.02 * (s * s - 256) / (784 - 256) for s in (16, 20, 24, 28)}
    by_hand = 200 * (step[16] + step[20] + step[24] + 7 * step[28]) + 10 * 2.0 + 5.0
    cfg = TrainConfig(model="speednet", epochs=10, progressive_size=16, progressive_epochs=3)
    assert B.estimate_seconds(cfg, costs) == pytest.approx(by_hand)
    flat = TrainConfig(model="speednet", epochs=10)
    assert B.estimate_seconds(flat, costs) == pytest.approx(200 * 0.03 * 10 + 20 + 5)


def recipe_for(epochs: int) -> TrainConfig:
    return recipe_config("fast", "speednet", epochs=epochs)


COSTS = B.StepCosts({16: 0.02, 28: 0.1}, 235, 28, 3.0, 0.0)  # about SpeedNet on 2 cores


@pytest.mark.parametrize("seconds", [30.0, 250.0, 600.0, 4321.0])
def test_the_longest_run_that_fits_is_chosen(seconds: float) -> None:
    cfg, est = B.fit_epochs(recipe_for, COSTS, seconds)
    brute = max(e for e in range(1, 200) if B.estimate_seconds(recipe_for(e), COSTS) <= seconds)
    assert cfg.epochs == brute
    assert est == pytest.approx(B.estimate_seconds(recipe_for(brute), COSTS)) and est <= seconds
    # the recipe was resolved for that length: progressive resizing over its share of it
    assert cfg == recipe_for(brute)


def test_a_budget_shorter_than_one_epoch_says_so() -> None:
    with pytest.raises(ConfigError, match=r"not even one epoch fits in the time left \(5 s\)"):
        B.fit_epochs(recipe_for, COSTS, 5.0)


def test_the_plan_counts_the_time_already_spent() -> None:
    plan = B.plan_budget(300.0, recipe_for, costs=COSTS, spent=20.0)
    left = 300 * B.PLANNED_SHARE - 20 - B.RESERVE
    assert plan.estimate <= left
    assert B.estimate_seconds(recipe_for(plan.config.epochs + 1), COSTS) > left
    later = B.plan_budget(300.0, recipe_for, costs=COSTS, spent=120.0)
    assert later.config.epochs < plan.config.epochs
    assert f"{plan.config.epochs} epochs fit" in plan.describe()
    planned = 300 * B.PLANNED_SHARE - B.RESERVE
    with pytest.raises(ConfigError, match="not even one epoch"):  # 7 s left, one takes 7.7
        B.plan_budget(300.0, recipe_for, costs=COSTS, spent=planned - 7)
    with pytest.raises(ConfigError, match=r"budget \(300 s\) is used up before training"):
        B.plan_budget(300.0, recipe_for, costs=COSTS, spent=planned + 1)


def test_measured_costs_are_the_runs_own(data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import cnnzoo.train.run_model as run_model
    from cnnzoo.train.run_data import train_resize

    seen: set[tuple[bool, int, int]] = set()  # (training?, height, width) of what was timed
    built = run_model.build_model

    def spied(*args, **kwargs):
        model = built(*args, **kwargs)
        model.register_forward_pre_hook(lambda m, x: seen.add((m.training, *x[0].shape[-2:])))
        return model

    monkeypatch.setattr(run_model, "build_model", spied)
    cfg = recipe_config("fast", "speednet", data=str(data), epochs=10, batch_size=32)
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    costs = B.measure_costs(cfg, min_time=0.02)
    assert torch.equal(torch.rand(3), expected)  # the measurement draws nothing of the run's
    assert set(costs.step) == {16, 28}  # progressive resizing's first size and the full one
    first = train_resize(cfg, 0, 28)  # what the trainer trains the first epoch at
    assert seen == {(True, first, first), (True, 28, 28), (False, 28, 28)}
    assert 0 < costs.step[16] < costs.step[28] * 2
    assert costs.steps_per_epoch == 8 and costs.full_size == 28  # 4 x 64 images, batch 32
    assert costs.epoch_eval > 0 and costs.final_eval == 0.0  # the test split every epoch
    held = B.measure_costs(
        cfg.replace(val_size=0.25, progressive_size=None, progressive_epochs=0.0), min_time=0.02
    )
    assert set(held.step) == {28} and held.steps_per_epoch == 6  # 192 images left to train on
    assert held.final_eval > 0  # the best checkpoint on the test split at the end


@pytest.fixture
def steady_machine(monkeypatch: pytest.MonkeyPatch) -> B.StepCosts:
    """Fixed step costs for the command-line runs (what was measured is tested above; a test
    that timed a busy machine could find no epoch fitting) and a process just started."""
    monkeypatch.setattr(B, "measure_costs", lambda cfg, min_time=0.5: COSTS_TINY)
    monkeypatch.setattr(B, "process_age", lambda: 0.0)  # pytest's own age is not the run's
    return COSTS_TINY


COSTS_TINY = B.StepCosts({16: 0.05, 28: 0.1}, 8, 28, 0.2, 0.0)


def read_epochs(out: Path) -> int:
    return json.loads((out / "config.json").read_text())["epochs"]


def test_a_budget_run_is_the_run_of_that_many_epochs(
    data: Path, tmp_path: Path, steady_machine: B.StepCosts, capsys
) -> None:
    common = ["train", "speednet", "--data", str(data), "--batch-size", "32", "--no-tta"]
    assert main([*common, "--budget", "10s", "--out", str(tmp_path / "b")]) == 0
    said = capsys.readouterr().out
    epochs = read_epochs(tmp_path / "b")
    left = 10 * B.PLANNED_SHARE - B.RESERVE
    assert epochs == B.fit_epochs(
        lambda e: recipe_config("fast", "speednet", data=str(data), epochs=e, batch_size=32,
                                tta=False), steady_machine, left,
    )[0].epochs  # fmt: skip
    assert f"time budget 10 s: {epochs} epochs fit" in said and epochs >= 4
    assert main([*common, "--epochs", str(epochs), "--out", str(tmp_path / "e"), "--quiet"]) == 0
    rows = [
        [json.loads(line) for line in (tmp_path / run / "metrics.jsonl").read_text().splitlines()]
        for run in ("b", "e")
    ]
    keys = ("train_loss", "test_acc", "lr", "image_size")
    seen = [[[r.get(k) for k in keys] for r in run] for run in rows]
    assert seen[0] == seen[1]
    b, e = (json.loads((tmp_path / r / "config.json").read_text()) for r in ("b", "e"))
    assert b == e
    assert "after its budget" not in capsys.readouterr().err


def test_a_resumed_budget_run_keeps_its_planned_length(
    data: Path, tmp_path: Path, steady_machine: B.StepCosts, monkeypatch, capsys
) -> None:
    out = tmp_path / "b"
    argv = ["train", "speednet", "--data", str(data), "--batch-size", "32", "--no-tta"]
    assert main([*argv, "--budget", "10s", "--out", str(out)]) == 0
    planned = read_epochs(out)
    faster = B.StepCosts({16: 0.01, 28: 0.02}, 8, 28, 0.05, 0.0)  # more epochs would fit now
    monkeypatch.setattr(B, "measure_costs", lambda cfg, min_time=0.5: faster)
    capsys.readouterr()
    assert main([*argv, "--budget", "10s", "--out", str(out), "--resume"]) == 0
    said = capsys.readouterr().out
    assert f"the run resumes with the {planned} epochs planned at its start" in said
    assert read_epochs(out) == planned
    fresh = tmp_path / "fresh"  # --resume with no run there yet: planned as a new run
    assert main([*argv, "--budget", "10s", "--out", str(fresh), "--resume"]) == 0
    assert read_epochs(fresh) > planned
    (out / "config.json").write_text("{}")  # hand-edited: the length is gone
    assert main([*argv, "--budget", "10s", "--out", str(out), "--resume"]) != 0
    assert "resume it with --epochs N instead of --budget" in capsys.readouterr().err


def test_a_run_that_ends_late_says_so(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    ages = iter([0.0, 13.6])  # measured at the start; the machine then slowed down
    monkeypatch.setattr(B, "measure_costs", lambda cfg, min_time=0.5: COSTS_TINY)
    monkeypatch.setattr(B, "process_age", lambda: next(ages))
    argv = ["train", "speednet", "--data", str(data), "--batch-size", "32", "--no-tta", "--quiet"]
    assert main([*argv, "--budget", "10s", "--out", str(tmp_path / "late")]) == 0
    err = capsys.readouterr().err
    assert "the run ended 4 s after its budget of 10 s (14 s in all)" in err
    assert json.loads((tmp_path / "late" / "eval.json").read_text())["status"] == "finished"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--budget", "5m", "--epochs", "3"], "cannot be combined with --epochs"),
        (["--budget", "5m", "--max-steps", "3"], "cannot be combined with --max-steps"),
        (["--budget", "5m", "--nproc", "2"], "with --nproc, give --epochs"),
        (["--budget", "five minutes"], "cannot read 'five minutes' as a duration"),
        (["--budget", "0.001s"], "is used up before training starts"),
    ],
)
def test_bad_budgets_are_refused(data: Path, tmp_path: Path, extra, message, capsys) -> None:
    out = tmp_path / "run"
    assert main(["train", "speednet", "--data", str(data), "--out", str(out), *extra]) != 0
    assert message in capsys.readouterr().err
    assert not (out / "checkpoints").exists()


def test_show_config_tells_what_a_budget_buys(
    data: Path, steady_machine: B.StepCosts, capsys
) -> None:
    assert main(["train", "speednet", "--data", str(data), "--budget", "10", "--show-config"]) == 0
    out = capsys.readouterr().out
    chosen = int(out.split("time budget 10 s: ")[1].split(" epoch")[0])
    assert chosen >= 4
    assert json.loads(out[out.index("{") :])["epochs"] == chosen
