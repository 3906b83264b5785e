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


# --------------------------------------------------------------------------- one image path


def _odd_images(folder: Path) -> list[Path]:
    """The same picture as 16-bit grayscale, RGBA, palette and 8-bit grayscale PNGs."""
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (20, 24)).astype(np.uint8)
    paths = []
    wide = Image.fromarray(base.astype(np.uint16) * 257).convert("I;16")
    for name, im in (
        ("wide16.png", wide),
        ("rgba.png", Image.fromarray(np.stack([base] * 3 + [base // 2], axis=2), "RGBA")),
        ("palette.png", Image.fromarray(base).convert("P")),
        ("plain.png", Image.fromarray(base)),
    ):
        im.save(folder / name)
        paths.append(folder / name)
    return paths


@pytest.mark.parametrize("grayscale", [True, False])
def test_predict_reads_an_image_exactly_as_training_does(tmp_path: Path, grayscale: bool) -> None:
    import torch

    from cnnzoo.data.formats import load_image_folder
    from cnnzoo.train.inference import _load_image

    files = _odd_images(tmp_path / "data" / "only")
    ds = load_image_folder(tmp_path / "data", grayscale=grayscale, size=(16, 16))
    for i, f in enumerate(sorted(files)):
        seen_by_predict = _load_image(f, 1 if grayscale else 3, (16, 16))
        assert torch.equal(seen_by_predict, ds.images[i]), f.name
    # the 16-bit file is the 8-bit one scaled by 257, not clipped at 255
    wide = _load_image(tmp_path / "data" / "only" / "wide16.png", 1, (20, 24))
    plain = _load_image(tmp_path / "data" / "only" / "plain.png", 1, (20, 24))
    assert torch.equal(wide, plain) and int(plain.max()) > 200


def test_a_huge_image_is_refused_from_its_header(tmp_path: Path) -> None:
    from PIL import Image

    from cnnzoo.data.formats import MAX_PIXELS, load_image_folder, read_image

    side = int(MAX_PIXELS**0.5) + 1
    big = tmp_path / "big" / "cls" / "huge.png"
    big.parent.mkdir(parents=True)
    Image.new("L", (side, side)).save(big)
    with pytest.raises(DataError, match="megapixels"):
        read_image(big)
    # a folder whose images differ in size is refused from the headers, before decoding
    folder = tmp_path / "mixed"
    for name, size in (("a", (28, 28)), ("b", (30, 28))):
        (folder / name).mkdir(parents=True)
        Image.new("L", size).save(folder / name / "x.png")
    with pytest.raises(DataError, match="different sizes"):
        load_image_folder(folder)


def test_evaluation_uses_the_training_statistics_and_matches_classes_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    from cnnzoo.train import evaluate_checkpoint, train
    from test_train import make_folder, tiny

    data = make_folder(tmp_path / "data", {"train": 16, "test": 8})
    # a test split far darker than the training split: its own statistics would differ
    from PIL import Image

    for f in (data / "test").rglob("*.png"):
        with Image.open(f) as im:
            dark = im.point(lambda v: v // 3)
        dark.save(f)
    result = train(tiny(data, epochs=2), tmp_path / "run", quiet=True, plots=False)
    res, _ = evaluate_checkpoint(tmp_path / "run", which="last")
    assert res.acc == result["test_acc"] and abs(res.loss - result["test_loss"]) < 1e-5
    # the same classes under other folder names order: matched by name, the same accuracy
    other = tmp_path / "other"
    shutil.copytree(data, other)
    for split in ("train", "test"):
        for d in (other / split).iterdir():
            d.rename(d.with_name("z-" + d.name if d.name.startswith("top") else d.name))
    with pytest.raises(DataError, match="not among the 4"):
        evaluate_checkpoint(tmp_path / "run", data=str(other), which="last")


def test_classes_in_another_order_are_matched_by_name() -> None:
    # e.g. a network trained on Fashion-MNIST (the catalogue's class order) evaluated on an
    # image-folder export of its test set (folders sorted by name)
    import torch

    from cnnzoo.data import ImageDataset
    from cnnzoo.train.inference import _match_classes

    net = ["T-shirt", "Trouser", "Bag"]
    ds = ImageDataset(
        images=torch.zeros(4, 1, 2, 2, dtype=torch.uint8),
        labels=torch.tensor([0, 1, 2, 1]),
        classes=["Bag", "T-shirt", "Trouser"],  # sorted
        mean=(0.5,), std=(0.25,),
    )  # fmt: skip
    with pytest.warns(UserWarning, match="matched by name"):
        mapped = _match_classes(ds, net)
    assert mapped.classes == net
    assert [net[i] for i in mapped.labels] == ["Bag", "T-shirt", "Trouser", "T-shirt"]
    assert _match_classes(mapped, net) is mapped  # already in order: nothing to do
    with pytest.raises(DataError, match="'Bag' are not among"):
        _match_classes(ds, ["T-shirt", "Trouser", "Sandal"])


def test_mismatched_channels_are_refused_before_the_first_step(tmp_path: Path) -> None:
    from PIL import Image

    from cnnzoo.train import train
    from test_train import make_folder, tiny

    data = make_folder(tmp_path / "data", {"train": 8, "test": 4})
    one = next((data / "test").rglob("*.png"))
    with Image.open(one) as im:
        im.convert("RGBA").save(one)
    with pytest.raises(DataError, match=r"1 channel.*test images have 3"):
        train(tiny(data), tmp_path / "run", quiet=True, plots=False)
    assert not (tmp_path / "run" / "checkpoints").exists()


# --------------------------------------------------------------------------- runs that end badly


@pytest.mark.parametrize("status", ["failed", "diverged"])
def test_a_sweep_trial_that_ends_badly_is_failed_not_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, status: str
) -> None:
    import cnnzoo.train
    from cnnzoo.designspace.trial import run_trial

    def ends_badly(config, out_dir, **kw):
        return {"status": status, "test_acc": 0.1, "wall_time": 3.0, "epochs": 1,
                "diagnosis": "the test loss is nan"}  # fmt: skip

    monkeypatch.setattr(cnnzoo.train, "train", ends_badly)
    task = {"idx": 0, "train": {"model": "lenet5"}, "out_dir": str(tmp_path / "t")}
    out = run_trial(task)
    assert out["status"] == "failed" and out["error"] is None
    assert status in out["message"] and "nan" in out["message"]


def test_two_trainings_in_one_directory_are_refused(quadrants: Path, tmp_path: Path) -> None:
    from cnnzoo.train import Trainer
    from test_train import tiny

    first = Trainer(tiny(quadrants, epochs=1), tmp_path / "run", quiet=True, plots=False)
    with pytest.raises(errors.BusyError, match="another training process"):
        Trainer(tiny(quadrants, epochs=1), tmp_path / "run", quiet=True, plots=False)
    first.fit()  # ... and the directory is free again once the first one is done
    again = Trainer(tiny(quadrants, epochs=2), tmp_path / "run", resume=True, quiet=True,
                    plots=False)  # fmt: skip
    assert again.fit()["epochs"] == 2


def _start_training(quadrants: Path, out: Path, *extra: str):
    import subprocess
    import sys
    import time

    cmd = [sys.executable, "-m", "cnnzoo", "train", "lenet5_relu", "--data", str(quadrants),
           "--epochs", "400", "--batch-size", "4", "--precision", "fp32", "--out", str(out),
           "--checkpoint-every-steps", "5", "--quiet", *extra]  # fmt: skip
    t0 = time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    last = out / "checkpoints" / "last.json"

    def started() -> bool:  # recorded in the store by this process, and a checkpoint since
        try:
            runs = RunStore(out.parent / "runs.sqlite", readonly=True).runs()
        except errors.CnnzooError:
            return False
        mine = any(r["pid"] == proc.pid for r in runs)
        return mine and last.exists() and last.stat().st_mtime > t0

    while not started():
        assert proc.poll() is None, proc.communicate()
        assert time.time() < deadline, "no checkpoint after 2 minutes"
        time.sleep(0.2)
    return proc


def test_killed_runs_are_stale_and_sigterm_stops_like_ctrl_c(
    quadrants: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import signal

    out = tmp_path / "runs" / "long"
    proc = _start_training(quadrants, out)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    (run,) = RunStore(tmp_path / "runs" / "runs.sqlite", readonly=True).runs()
    assert run["status"] == "stale", "running in the store, but its process is gone"
    assert main(["runs", str(tmp_path / "runs")]) == 0
    printed = capsys.readouterr().out
    assert "stale" in printed and "--resume" in printed
    # resumed, then stopped with SIGTERM: the same as Ctrl-C
    proc = _start_training(quadrants, out, "--resume")
    (run,) = RunStore(tmp_path / "runs" / "runs.sqlite", readonly=True).runs()
    assert run["status"] == "running"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "--resume" in err
    (run,) = RunStore(tmp_path / "runs" / "runs.sqlite", readonly=True).runs()
    assert run["status"] == "interrupted"


# --------------------------------------------------------------------------- damaged checkpoints


@pytest.fixture
def two_steps(quadrants: Path, tmp_path: Path) -> Path:
    """A finished run whose checkpoints directory holds two steps (best and last)."""
    import shutil

    from cnnzoo.train import train
    from test_train import tiny

    out = tmp_path / "run"
    train(tiny(quadrants, epochs=2, checkpoint_every_steps=3), out, quiet=True, plots=False)
    ckpts = out / "checkpoints"
    steps = sorted(d for d in ckpts.iterdir() if d.name.startswith("step-"))
    if len(steps) == 1:  # best == last: make an older copy to fall back to
        older = ckpts / f"step-{int(steps[0].name[5:]) - 1:08d}"
        shutil.copytree(steps[0], older)
    return out


def _steps(run: Path) -> list[Path]:
    return sorted(d for d in (run / "checkpoints").iterdir() if d.name.startswith("step-"))


def test_a_damaged_last_checkpoint_falls_back_to_an_intact_one(two_steps: Path) -> None:
    from cnnzoo.train.checkpoint import load_checkpoint

    older, last = _steps(two_steps)[-2:]
    data = (last / "model.safetensors").read_bytes()
    (last / "model.safetensors").write_bytes(data[: len(data) // 3])  # truncated
    with pytest.warns(UserWarning, match=f"weights are unreadable.*Using {older.name}"):
        ckpt = load_checkpoint(two_steps, which="last")
    assert ckpt.path == older
    # a pointer at a step that is gone, or outside the run: the same
    import shutil

    shutil.rmtree(last)
    with pytest.warns(UserWarning, match=f"is missing.*Using {older.name}"):
        assert load_checkpoint(two_steps, which="last").path == older
    (two_steps / "checkpoints" / "last.json").write_text('{"dir": "../../../etc", "step": 1}')
    with pytest.warns(UserWarning, match="not a checkpoint of this run"):
        assert load_checkpoint(two_steps, which="last").path == older
    # nothing intact at all: one clear error
    (older / "meta.json").write_text('{"model": "lenet5"}')
    with pytest.raises(CheckpointError, match=r"no intact checkpoint.*lacks or mangles"):
        load_checkpoint(two_steps, which="last")


def test_resume_goes_on_from_the_newest_intact_step(two_steps: Path, quadrants: Path) -> None:
    from cnnzoo.train import train
    from test_train import tiny

    older, last = _steps(two_steps)[-2:]
    (last / "state.pt").write_bytes(b"\x80\x04garbage")
    with pytest.warns(UserWarning, match=f"Using {older.name}"):
        result = train(tiny(quadrants, epochs=3, checkpoint_every_steps=3), two_steps,
                       resume=True, quiet=True, plots=False)  # fmt: skip
    assert result["status"] == "finished" and result["epochs"] == 3


def test_a_pickled_state_is_refused_without_advising_to_load_it(
    two_steps: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import torch

    for d in _steps(two_steps):
        torch.save({"step": 1, "payload": Path("/etc/passwd")}, d / "state.pt")  # a pickle
    assert main(["eval", str(two_steps)]) == 0  # evaluation needs the weights only
    capsys.readouterr()
    args = ["train", "lenet5_relu", "--data", str(quadrants_of(two_steps)), "--resume",
            "--out", str(two_steps), "--quiet"]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "could run code" in err and "weights_only" not in err and "Traceback" not in err


def quadrants_of(run: Path) -> Path:
    return Path(json.loads((run / "config.json").read_text())["data"])


# --------------------------------------------------------------------------- Ray address


def test_a_ray_address_where_nothing_listens_fails_fast(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens
    argv = ["sweep", "run", "--space", "anynetx_a", "--n", "2", "--flops", "1M:3M",
            "--out", str(tmp_path / "sweep"), "--executor", "ray",
            "--ray-address", f"127.0.0.1:{port}"]  # fmt: skip
    t0 = time.perf_counter()
    assert main(argv) == 2
    assert time.perf_counter() - t0 < 60
    err = capsys.readouterr().err
    assert f"nothing answers at 127.0.0.1:{port}" in err and "ray start --head" in err
    from cnnzoo.designspace.executors import check_ray_address

    with pytest.raises(errors.ConfigError, match="not HOST:PORT"):
        check_ray_address("head-node")
    # a listening port passes
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        check_ray_address(f"127.0.0.1:{s.getsockname()[1]}")


# --------------------------------------------------------------------------- limits


def test_a_gzip_bomb_is_refused_without_using_the_memory(tmp_path: Path) -> None:
    import gzip
    import struct
    import tracemalloc

    from cnnzoo.data.formats import decompress, read_idx

    # an IDX header promising 10 labels, followed by 64 MB of zeros: ~64 KB compressed
    payload = struct.pack(">HBBI", 0, 0x08, 1, 10) + bytes(64 << 20)
    bomb = tmp_path / "train-labels-idx1-ubyte.gz"
    bomb.write_bytes(gzip.compress(payload, compresslevel=9))
    del payload
    assert bomb.stat().st_size < 200_000
    tracemalloc.start()
    with pytest.raises(DataError, match="expands beyond 19 bytes"):
        read_idx(bomb)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 8 << 20, f"{peak:,} bytes used to refuse it"
    # without a header to go by, the general cap holds
    with pytest.raises(DataError, match="expands beyond 1,000 bytes"):
        decompress(gzip.compress(bytes(5000)), "x.gz", max_size=1000)
    # an honest file, in two gzip members, still reads
    good = struct.pack(">HBBI", 0, 0x08, 1, 3) + bytes([1, 2, 3])
    two = gzip.compress(good[:5]) + gzip.compress(good[5:])
    assert decompress(two, "two.gz") == good
    with pytest.raises(DataError, match="truncated gzip"):
        decompress(gzip.compress(good)[:-12], "cut.gz")


# --------------------------------------------------------------------------- tests that see bugs


def test_the_weighted_edf_curve_moves_each_weight_with_its_error() -> None:
    import numpy as np

    from cnnzoo.designspace.analysis import edf_curve

    e = [0.3, 0.1, 0.2, 0.25]
    w = [0.1, 0.2, 0.3, 0.4]
    x, y = edf_curve(e, w)
    np.testing.assert_allclose(x, [0.1, 0.2, 0.25, 0.3])
    np.testing.assert_allclose(y, [0.2, 0.5, 0.9, 1.0])  # not the weights in the given order


def _trainer(quadrants: Path, tmp_path: Path, **kw):
    from cnnzoo.train import Trainer
    from test_train import tiny

    return Trainer(tiny(quadrants, **kw), tmp_path / "run", quiet=True, plots=False)


def test_the_loss_is_the_label_smoothed_cross_entropy_by_hand(
    quadrants: Path, tmp_path: Path
) -> None:
    import torch

    eps = 0.3
    t = _trainer(quadrants, tmp_path, label_smoothing=eps, epochs=1)
    x, y = next(iter(t.train_loader))
    with torch.no_grad():
        logp = torch.log_softmax(t.model(x).double(), dim=1)
    k = logp.shape[1]
    # (1 - eps) on the true class, eps spread evenly over all k classes
    by_hand = -((1 - eps) * logp[torch.arange(len(y)), y] + eps / k * logp.sum(1)).mean()
    loss, _ = t.train_step(x, y)
    assert float(loss) == pytest.approx(float(by_hand), rel=1e-5)
    t._lock.close()


def test_the_learning_rate_follows_the_schedule_one_step_at_a_time(
    quadrants: Path, tmp_path: Path
) -> None:
    import math

    peak, warm = 0.05, 2
    t = _trainer(quadrants, tmp_path, lr=peak, schedule="cosine", epochs=2, batch_size=8,
                 warmup_epochs=warm / 8)  # fmt: skip
    total = t.total_steps
    assert t.schedule.warmup_steps == 2 and total == 16  # 64 images, batch 8, 2 epochs
    batches = iter(t.train_loader)
    seen = []
    for _ in range(5):
        x, y = next(batches)
        t.train_step(x, y)
        seen.append(t.optimizer.param_groups[0]["lr"])
    # the rate used at step s: linear warm-up (s + 1) / 2 over 2 steps, times the cosine
    expected = [
        peak * min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * s / total))
        for s in range(5)
    ]
    assert seen == pytest.approx(expected, rel=1e-9)
    assert t.step == 5
    t._lock.close()


def test_an_out_path_that_is_a_file_and_a_damaged_sweep_store_get_messages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("a file where a directory should go")
    assert main(["train", "lenet5", "--out", str(blocker / "run"), "--max-steps", "1"]) == 2
    err = capsys.readouterr().err
    assert "cnnzoo: error:" in err and str(blocker) in err and "Traceback" not in err
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / "sweep.sqlite").write_bytes(b"\x00garbage" * 100)
    assert main(["sweep", "status", str(sweep)]) == 2
    assert "is not a cnnzoo store" in capsys.readouterr().err
