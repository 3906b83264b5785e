"""What a training run records, and where, without training: the default run directory, the
split that "best accuracy" was measured on (store, `cnnzoo runs`), and which modules the
evaluation and benchmark code depend on."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

import cnnzoo.train.trainer as trainer_module
from cnnzoo.cli import main
from cnnzoo.store import RunStore
from cnnzoo.train import train
from cnnzoo.train.run_dir import default_out_dir

SRC = Path(__file__).resolve().parents[1] / "src" / "cnnzoo"


def test_the_default_run_directory_is_runs_model_data_time(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    name = r"runs/lenet5-fashion-mnist-\d{8}-\d{6}"
    assert re.fullmatch(name, default_out_dir("lenet5", "fashion-mnist").as_posix())
    seen: list[Path] = []

    class Recorded:  # stands in for the Trainer: where would the run go?
        def __init__(self, config, out_dir, **kw) -> None:
            seen.append(Path(out_dir))

        def fit(self) -> dict:
            return {"model": "lenet5", "status": "finished", "test_acc": 0.5, "epochs": 1,
                    "wall_time": 1.0, "diagnosis": None}  # fmt: skip

    monkeypatch.setattr(trainer_module, "Trainer", Recorded)
    train(model="lenet5", data="fashion-mnist", quiet=True)
    assert main(["train", "lenet5", "--data", "fashion-mnist", "--quiet"]) == 0
    capsys.readouterr()
    assert len(seen) == 2 and all(re.fullmatch(name, p.as_posix()) for p in seen)


def test_best_accuracy_says_which_split_it_was_measured_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = RunStore(tmp_path / "runs.sqlite")
    runs = {
        # no validation split: the epochs evaluate the test split, and say so
        "no-val": ({"val_size": 0}, [{"test_acc": 0.6}, {"test_acc": 0.8}, {"test_acc": 0.7}]),
        "val": ({"val_size": 8}, [{"val_acc": 0.55}, {"val_acc": 0.5}]),
        # recorded before the epochs said which split: "val_acc" held the test accuracy
        "old": ({"val_size": 0.0}, [{"val_acc": 0.9, "test_acc": 0.9}]),
        "not-evaluated": ({"val_size": 0}, [{"train_acc": 0.3}]),
    }
    for run_id, (config, epochs) in runs.items():
        store.start_run(run_id, "lenet5", "d", config, str(tmp_path / run_id))
        for i, metrics in enumerate(epochs):
            store.log_epoch(run_id, i, metrics)
        store.finish_run(run_id, "finished", test_acc=0.4, wall_time=1.0)
    best = {r["id"]: r["best_acc"] for r in store.runs()}
    assert best["no-val"] == pytest.approx(0.8) and best["val"] == pytest.approx(0.55)
    assert main(["runs", str(tmp_path)]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    rows = {row[0]: " ".join(row) for row in rows if row and row[0] in runs}
    assert "finished 3 0.8000 test 0.4000" in rows["no-val"]
    assert "finished 2 0.5500 val 0.4000" in rows["val"]
    assert "finished 1 0.9000 test 0.4000" in rows["old"]
    assert "finished 1 - 0.4000" in rows["not-evaluated"]
    assert main(["runs", str(tmp_path), "--format", "json"]) == 0
    listed = {r["id"]: r["best_acc_split"] for r in json.loads(capsys.readouterr().out)}
    assert listed == {"no-val": "test", "val": "val", "old": "test", "not-evaluated": "test"}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize(
    "module", ["train/inference.py", "train/evaluation.py", "train/device.py", "bench.py"]
)
def test_evaluation_and_benchmarks_do_not_import_the_trainer(module: str) -> None:
    assert "cnnzoo.train.trainer" not in _imports(SRC / module)


def _record(store: Path, run_dir: Path, model: str, status: str, acc: float) -> None:
    s = RunStore(store)
    s.start_run(str(run_dir.resolve()), model, "fashion-mnist", {"val_size": 0}, str(run_dir))
    s.log_epoch(str(run_dir.resolve()), 0, {"test_acc": acc})
    s.finish_run(str(run_dir.resolve()), status, test_acc=acc, wall_time=3.0)


def test_runs_lists_every_run_under_a_root_whatever_folder_it_was_trained_into(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "runs"
    # `make demo`'s layout: the store is runs/demo/runs.sqlite, not runs/runs.sqlite
    _record(root / "demo" / "runs.sqlite", root / "demo" / "lenet5", "lenet5", "finished", 0.81)
    _record(root / "a" / "b" / "runs.sqlite", root / "a" / "b" / "r20", "resnet20", "diverged",
            0.1)  # fmt: skip
    # a run whose store is elsewhere (Trainer(store=...)): read from its own folder
    lone = root / "lone"
    (lone / "checkpoints").mkdir(parents=True)
    (lone / "config.json").write_text(json.dumps({"model": "vgg11", "data": "cifar10"}))
    (lone / "eval.json").write_text(json.dumps({"status": "finished", "test_acc": 0.625}))
    (lone / "metrics.jsonl").write_text(json.dumps({"epoch": 1, "test_acc": 0.6}) + "\n")
    # folders that are not runs are not listed
    (root / "notes").mkdir()
    (root / "notes" / "config.json").write_text(json.dumps({"lr": 1}))
    assert main(["runs", str(root), "--format", "json"]) == 0
    runs = {r["model"]: r for r in json.loads(capsys.readouterr().out)}
    assert sorted(runs) == ["lenet5", "resnet20", "vgg11"]
    assert runs["lenet5"]["store"] == str(root / "demo" / "runs.sqlite")
    assert runs["resnet20"]["status"] == "diverged" and runs["resnet20"]["test_acc"] == 0.1
    assert runs["vgg11"]["store"] is None and runs["vgg11"]["test_acc"] == 0.625
    assert runs["vgg11"]["best_acc"] == 0.6 and runs["vgg11"]["epochs_done"] == 1
    assert main(["runs", str(root)]) == 0
    table = capsys.readouterr().out
    assert "demo/lenet5" in table and "a/b/r20" in table and "lone" in table
    # one store named directly: only its runs
    assert main(["runs", str(root / "demo" / "runs.sqlite"), "--format", "json"]) == 0
    assert [r["model"] for r in json.loads(capsys.readouterr().out)] == ["lenet5"]


def test_a_damaged_store_among_others_is_named_and_the_rest_still_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _record(tmp_path / "good" / "runs.sqlite", tmp_path / "good" / "r", "lenet5", "finished", 0.8)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "runs.sqlite").write_bytes(b"not a database\n" * 50)
    assert main(["runs", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert "good/r" in out and "lenet5" in out
    assert "bad/runs.sqlite is not a cnnzoo store" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["runs", str(empty)]) == 1
    assert "no runs recorded under" in capsys.readouterr().err


def test_a_run_recorded_in_two_stores_is_listed_once_with_its_later_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import time

    run = tmp_path / "a" / "r"
    _record(tmp_path / "a" / "runs.sqlite", run, "lenet5", "interrupted", 0.5)
    time.sleep(0.01)  # the second record is the later one
    _record(tmp_path / "b" / "runs.sqlite", run, "lenet5", "finished", 0.8)
    assert main(["runs", str(tmp_path), "--format", "json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["status"] == "finished" and listed["test_acc"] == 0.8
    assert listed["store"] == str(tmp_path / "b" / "runs.sqlite")
