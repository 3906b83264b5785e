"""Bad input, damaged files and a hostile environment: a clear message, never a traceback for
what a user can cause, and a traceback for what is a bug."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from cnnzoo import errors
from cnnzoo.cli import main
from cnnzoo.data.errors import DataError
from cnnzoo.registry import UnknownModelError
from cnnzoo.store import RunStore
from cnnzoo.train.checkpoint import CheckpointError

# --------------------------------------------------------------------------- error classes


def test_user_errors_share_one_base_and_keep_their_builtin_types() -> None:
    assert issubclass(DataError, errors.CnnzooError) and issubclass(DataError, ValueError)
    assert issubclass(CheckpointError, errors.CnnzooError)
    assert issubclass(UnknownModelError, errors.CnnzooError) and issubclass(
        UnknownModelError, KeyError
    )
    assert issubclass(errors.UnknownOptionError, TypeError)
    assert issubclass(errors.BusyError, RuntimeError)
    assert str(UnknownModelError("no model 'x'")) == "no model 'x'"  # not quoted as KeyError does


def test_the_cli_prints_user_errors_and_lets_bugs_through(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import cnnzoo.cli as cli

    assert main(["summary", "resnet-21"]) == 2  # an unknown model: a user error
    assert "resnet" in capsys.readouterr().err

    # a bug (here: a TypeError from inside a command) is not dressed up as a user error
    def broken(args):
        raise TypeError("unsupported operand type(s) for +: 'int' and 'str'")

    parser = cli.build_parser()
    real_parse = parser.parse_args

    def parse(argv=None):
        ns = real_parse(argv)
        ns.func = broken
        return ns

    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    monkeypatch.setattr(parser, "parse_args", parse)
    with pytest.raises(TypeError, match="unsupported operand"):
        main(["list"])

    # ... while every error a user can cause is
    def user_error(args):
        raise errors.ConfigError("batch size must be >= 1 (got 0)")

    monkeypatch.setattr(parser, "parse_args", lambda argv=None: _with(real_parse(argv), user_error))
    assert main(["list"]) == 2
    assert capsys.readouterr().err.strip() == "cnnzoo: error: batch size must be >= 1 (got 0)"


def _with(ns, func):
    ns.func = func
    return ns


# --------------------------------------------------------------------------- stores


def test_a_store_that_is_not_a_database_is_refused_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "runs.sqlite").write_bytes(b"this is a text file, not SQLite\n" * 40)
    assert main(["runs", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "runs.sqlite is not a cnnzoo store" in err and "move it away" in err
    with pytest.raises(errors.StateError, match="not a cnnzoo store"):
        RunStore(tmp_path / "runs.sqlite")


def test_listing_opens_the_store_read_only(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    store = RunStore(path)
    store.start_run("r1", "lenet5", "fashion-mnist", {"lr": 0.1}, str(tmp_path / "r1"))
    store.finish_run("r1", "finished", test_acc=0.9)
    del store
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    reader = RunStore(path, readonly=True)
    assert [r["id"] for r in reader.runs()] == ["r1"] and reader.epochs("r1") == []
    with pytest.raises(errors.StateError, match="reading only"):
        reader.finish_run("r1", "failed")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    with pytest.raises(errors.MissingError):
        RunStore(tmp_path / "absent.sqlite", readonly=True)


def test_a_store_held_by_another_process_is_waited_for(tmp_path: Path) -> None:
    import threading

    path = tmp_path / "runs.sqlite"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE unrelated (a)")
    holder.execute("BEGIN EXCLUSIVE")
    threading.Timer(0.3, lambda: holder.execute("COMMIT")).start()
    store = RunStore(path)  # waits for the lock instead of failing
    store.start_run("r", "m", "d", {}, "x")
    assert [r["id"] for r in store.runs()] == ["r"]
    holder.close()


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["train", "lenet5", "--train-subset", "-100"], "--train-subset"),
        (["train", "lenet5", "--lr", "nan"], "--lr"),
        (["train", "lenet5", "--lr", "0"], "--lr"),
        (["train", "lenet5", "--batch-size", "0"], "--batch-size"),
        (["train", "lenet5", "--epochs", "0"], "--epochs"),
        (["train", "lenet5", "--momentum", "inf"], "--momentum"),
        (["train", "lenet5", "--warmup-epochs", "-1"], "--warmup-epochs"),
        (["train", "lenet5", "--label-smoothing", "1"], "--label-smoothing"),
        (["train", "lenet5", "--ema", "1.5"], "--ema"),
        (["train", "lenet5", "--val-size", "-5"], "--val-size"),
        (["train", "lenet5", "--checkpoint-every", "0"], "--checkpoint-every"),
        (["sweep", "run", "--space", "anynetx_a", "--n", "0", "--out", "x"], "--n"),
        (
            ["sweep", "run", "--space", "anynetx_a", "--n", "2", "--out", "x", "--workers", "0"],
            "--workers",
        ),
        (["claims", "run", "batchnorm", "--threads", "-2"], "--threads"),
        (["bench", "lenet5", "--seconds", "nan"], "--seconds"),
        (["sweep", "analyze", "x", "--bootstrap", "0"], "--bootstrap"),
    ],
)
def test_every_number_is_checked_and_the_message_names_the_option(
    argv: list[str], named: str, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)  # nothing may be written, but if it were, not in the repo
    try:
        code = main(argv)
    except SystemExit as e:  # argparse refuses it while parsing
        code = e.code
    assert code == 2
    err = capsys.readouterr().err
    assert named in err, err
    assert "Traceback" not in err
    assert not any(tmp_path.iterdir()), "a refused command leaves nothing behind"


# --------------------------------------------------------------------------- resuming


@pytest.fixture(scope="module")
def quadrants(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from test_train import make_folder

    return make_folder(tmp_path_factory.mktemp("quadrants"), {"train": 16, "test": 4})


def test_resume_refuses_other_settings_and_lists_them(
    quadrants: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.chdir(quadrants.parent)
    out = tmp_path / "run"
    base = ["train", "lenet5_relu", "--data", quadrants.name, "--batch-size", "16",
            "--precision", "fp32", "--out", str(out), "--quiet"]  # fmt: skip
    assert main([*base, "--epochs", "1", "--lr", "0.05"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["data"] == str(quadrants.resolve()), "the data path is stored resolved"
    meta = json.loads((out / "checkpoints" / "last.json").read_text())
    assert meta  # the run can be resumed
    capsys.readouterr()
    # another learning rate and batch size: refused, with both differences named
    bad = [*base, "--epochs", "2", "--lr", "0.1", "--resume"]
    bad[bad.index("--batch-size") + 1] = "8"
    assert main(bad) == 2
    err = capsys.readouterr().err
    assert "lr: 0.05 in the run, 0.1 now" in err and "batch_size: 16 in the run, 8 now" in err
    assert "--epochs" in err and "config.json" in err
    # the same settings, longer, from another working directory: resumed
    monkeypatch.chdir(tmp_path)
    again = [*base, "--epochs", "2", "--lr", "0.05", "--resume"]
    again[again.index("--data") + 1] = str(quadrants)
    assert main(again) == 0
    rows = (out / "metrics.jsonl").read_text().splitlines()
    assert len(rows) == 2 and json.loads(rows[-1])["epoch"] == 2
