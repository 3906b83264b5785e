"""Data-parallel training (DistributedDataParallel under torchrun), 2 processes on the loopback
interface only: the ranks' batches of a step are the one-process batch; 2 processes with
batch b end with the weights of 1 process with batch 2b (batch norm synchronised or absent); a
distributed run killed and resumed, with 2 processes or 1, equals an uninterrupted one; rank 0
alone writes; a NaN on one rank stops every rank."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from PIL import Image

from cnnzoo.cli_launch import free_port, torchrun_command, without_nproc
from cnnzoo.data import BatchLoader, ImageDataset
from cnnzoo.errors import ConfigError
from cnnzoo.train import load_checkpoint, recipe_config, train
from cnnzoo.train.distributed import per_rank_batch

WORKER = Path(__file__).with_name("_ddp_worker.py")
#: every rank on the loopback interface, one thread each: nothing leaves the machine
ENV = {"MASTER_ADDR": "127.0.0.1", "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1"}
EPOCHS, BATCH = 3, 8  # 56 training images: 7 global batches of 8 (2 ranks x 4) per epoch


def env(**extra: str) -> dict[str, str]:
    return dict(os.environ, **ENV, **extra)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An image folder, 4 classes (the quadrant of a bright square), 16 training images each."""
    root = tmp_path_factory.mktemp("quadrants")
    g = torch.Generator().manual_seed(0)
    for split, n in (("train", 16), ("test", 4)):
        for k in range(4):
            d = root / split / f"c{k}"
            d.mkdir(parents=True)
            for i in range(n):
                img = torch.rand(28, 28, generator=g) * 90
                r, c = (k // 2) * 14 + i % 5, (k % 2) * 14 + i % 4
                img[r : r + 8, c : c + 8] += 150
                Image.fromarray(img.to(torch.uint8).numpy(), mode="L").save(d / f"{i}.png")
    return root


def cli_args(model: str, data: Path, *extra: str) -> list[str]:
    return [
        "train", model, "--data", str(data), "--epochs", str(EPOCHS), "--batch-size", str(BATCH),
        "--lr", "0.05", "--val-size", "8", "--precision", "fp32", "--device", "cpu",
        "--seed", "0", "--quiet", "--checkpoint-every-steps", "1", *extra,
    ]  # fmt: skip


def config(model: str, data: Path, **kw: object):
    """What ``cli_args`` trains, for ``train()`` in this process (one rank)."""
    base = dict(data=str(data), epochs=EPOCHS, batch_size=BATCH, lr=0.05, val_size=8,
                precision="fp32", device="cpu", seed=0, checkpoint_every_steps=1)  # fmt: skip
    return recipe_config("fast", model, **(base | kw))


def torchrun(args: list[str]) -> list[str]:
    """The command that runs ``cnnzoo ARGS`` in 2 ranks started by torchrun (through the
    test worker)."""
    return [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node",
            "2", "--master-addr", "127.0.0.1", "--master-port", str(free_port()), str(WORKER),
            *args]  # fmt: skip


def weights(run: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(run, which="last").model


def metrics(run: Path) -> list[dict]:
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    timing = ("images_per_s", "elapsed", "epoch_time", "time")
    return [{k: v for k, v in r.items() if k not in timing} for r in rows]


def assert_close_weights(a: dict, b: dict, atol: float = 1e-5) -> None:
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=atol, rtol=0, msg=k)


def files(run: Path) -> set[str]:
    return {str(p.relative_to(run)) for p in run.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def two_ranks(data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """lenet5 (no batch norm, no dropout, no augmentation) trained uninterrupted by 2 ranks
    through ``cnnzoo train --nproc 2``; its run directory and what it printed."""
    out = tmp_path_factory.mktemp("two") / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "cnnzoo", *cli_args("lenet5", data, "--out", str(out)),
         "--nproc", "2"],
        env=env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc.stdout


# ------------------------------------------------------------------------- no processes


def test_the_ranks_batches_of_a_step_are_the_one_process_batch() -> None:
    n = 101
    images = torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 1, 2, 2).clone()
    ds = ImageDataset(images, torch.zeros(n, dtype=torch.long), ["a"], (0.0,), (1.0,))

    def batches(batch: int, rank: int = 0, world: int = 1) -> list[set[int]]:
        ld = BatchLoader(ds, batch, seed=3, normalize=False, drop_last=True, rank=rank,
                         world_size=world)  # fmt: skip
        ld.set_epoch(2)
        return [set((x[:, 0, 0, 0] * 255).round().long().tolist()) for x, _ in ld]

    for world, b in ((2, 4), (3, 5), (4, 3)):
        single = batches(world * b)
        shards = [batches(b, r, world) for r in range(world)]
        assert all(len(s) == len(single) for s in shards)  # the same steps per epoch
        for i, expected in enumerate(single):
            assert set().union(*(s[i] for s in shards)) == expected, (world, i)
            assert sum(len(s[i]) for s in shards) == len(expected)  # no image twice


def test_the_batch_is_global_and_must_split_evenly() -> None:
    assert per_rank_batch(128, 4) == 32
    with pytest.raises(ConfigError, match="multiple of 3"):
        per_rank_batch(128, 3)


def test_nproc_relaunches_the_same_command_under_torchrun() -> None:
    argv = ["train", "lenet5", "--nproc", "2", "--lr", "0.1", "--npro=4", "--quiet"]
    assert without_nproc(argv) == ["train", "lenet5", "--lr", "0.1", "--quiet"]
    cmd = torchrun_command(2, argv, 29999)
    i = cmd.index("-m", 3)
    assert cmd[i:] == ["-m", "cnnzoo", "train", "lenet5", "--lr", "0.1", "--quiet"]
    assert cmd[cmd.index("--master-addr") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--nproc-per-node") + 1] == "2"


# ------------------------------------------------------------------------- 2 processes


def test_two_ranks_with_batch_b_equal_one_process_with_batch_2b(
    two_ranks: tuple[Path, str], data: Path, tmp_path: Path
) -> None:
    run, printed = two_ranks
    one = train(config("lenet5", data), tmp_path / "one", quiet=True)
    assert_close_weights(weights(run), weights(tmp_path / "one"))
    result = json.loads((run / "eval.json").read_text())
    assert result["processes"] == 2 and result["steps"] == one["steps"] == EPOCHS * 7
    assert result["test_acc"] == pytest.approx(one["test_acc"])
    for a, b in zip(metrics(run), metrics(tmp_path / "one"), strict=True):
        assert a.keys() == b.keys()
        for k in a:
            assert a[k] == pytest.approx(b[k], rel=1e-5, abs=1e-7), k
    # the comparison can fail: 1 process with the per-rank batch ends elsewhere
    train(config("lenet5", data, batch_size=BATCH // 2), tmp_path / "half", quiet=True, plots=False)
    half = weights(tmp_path / "half")
    assert max((half[k] - weights(run)[k]).abs().max() for k in half) > 1e-3
    # rank 0 alone printed (one JSON line) and recorded the run
    assert len(printed.strip().splitlines()) == 1 and json.loads(printed)["status"] == "finished"
    with sqlite3.connect(run.parent / "runs.sqlite") as db:
        assert db.execute("SELECT status FROM runs").fetchall() == [("finished",)]
    assert files(run) == files(tmp_path / "one")


def test_sync_bn_two_ranks_equal_one_process_and_only_rank_0_writes(
    data: Path, tmp_path: Path
) -> None:
    # each rank works in its own folder with a relative --out: what rank 1 wrote would be there
    cwd0, cwd1 = tmp_path / "rank0", tmp_path / "rank1"
    cwd0.mkdir(), cwd1.mkdir()
    proc = subprocess.run(
        torchrun(cli_args("lenet5_bn", data, "--sync-bn", "--out", "run")),
        env=env(DDP_CWD_RANK0=str(cwd0), DDP_CWD_RANK1=str(cwd1)),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert list(cwd1.iterdir()) == []  # rank 1 wrote nothing
    one = tmp_path / "one"
    train(config("lenet5_bn", data, sync_bn=True), one, quiet=True)
    two = weights(cwd0 / "run")
    assert any("running_var" in k for k in two)  # the batch norms' statistics compared too
    assert_close_weights(two, weights(one))
    assert files(cwd0 / "run") == files(one)


def test_a_killed_distributed_run_resumes_with_2_or_1_processes(
    two_ranks: tuple[Path, str], data: Path, tmp_path: Path
) -> None:
    straight = two_ranks[0]
    killed = tmp_path / "killed"
    pids = tmp_path / "pids"
    pids.mkdir()
    proc = subprocess.Popen(
        torchrun(cli_args("lenet5", data, "--out", str(killed))), env=env(DDP_PID_DIR=str(pids))
    )
    last = killed / "checkpoints" / "last.json"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        try:
            if json.loads(last.read_text())["step"] >= 10:  # into the second epoch
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.005)
    for rank in (0, 1):  # both ranks (each in a session of its own), then torchrun
        with contextlib.suppress(OSError, ValueError):
            os.kill(int((pids / f"rank{rank}.pid").read_text()), signal.SIGKILL)
    proc.kill()
    proc.wait()
    step = json.loads(last.read_text())["step"]
    assert 0 < step < EPOCHS * 7, "training ended before it could be killed"
    shutil.copytree(killed, tmp_path / "killed1")

    resumed = subprocess.run(
        torchrun(cli_args("lenet5", data, "--out", str(killed), "--resume")), env=env(),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    a, b = weights(killed), weights(straight)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert metrics(killed) == metrics(straight)

    # the same run resumed by one process (the global batch unchanged): the same weights
    train(config("lenet5", data), tmp_path / "killed1", resume=True, quiet=True)
    assert_close_weights(weights(tmp_path / "killed1"), b)


def test_a_nan_on_one_rank_stops_every_rank(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = subprocess.run(
        torchrun(cli_args("lenet5", data, "--out", str(out))),
        env=env(DDP_NAN_RANK="1", DDP_NAN_STEP="3"), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode != 0 and "the loss became nan at step 3" in proc.stderr
    # rank 0 (which alone records) saw it too, through the all-reduced loss, at the same step:
    # it stopped on its own and recorded why, rather than waiting for rank 1 until torchrun
    # killed it (the run would be recorded "interrupted")
    with sqlite3.connect(tmp_path / "runs.sqlite") as db:
        ((status, error),) = db.execute("SELECT status, error FROM runs").fetchall()
    assert status == "failed" and "step 3" in error
    assert json.loads((out / "checkpoints" / "last.json").read_text())["step"] == 3
