"""Sweeps for real on tiny synthetic data (PNG image folders): trials train with the trainer
in worker processes, failures are recorded without stopping the sweep, a sweep killed with
SIGKILL resumes without counting anything twice, Ray runs the same trials, and the analysis
writes its report."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from _sweep_faults import cli_command, env_with_tests_dir, with_faults
from cnnzoo.cli import main
from cnnzoo.designspace.executors import LocalExecutor
from cnnzoo.designspace.store import SweepStore
from cnnzoo.designspace.sweep import SweepSpec, run_sweep
from cnnzoo.store import RunStore
from test_train import make_folder


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_folder(tmp_path_factory.mktemp("quadrants"), {"train": 24, "test": 8}, size=16)


def spec(data: Path, space: str = "anynetx_e", n: int = 4, **kw) -> SweepSpec:
    base = {
        "space": space,
        "n": n,
        "flops": (0, 3e6),
        "data": str(data),
        "epochs": 2,
        "max_steps": None,
        "val_size": 16,
        "train_options": {"batch_size": 16, "precision": "fp32"},
        "ranges": {"width": [8, 64], "depth": [1, 3]},
    }
    return SweepSpec(**(base | kw))


def test_a_sweep_records_every_trial_and_survives_failures(data: Path, tmp_path: Path) -> None:
    # trial 1 raises, trial 2 diverges (non-finite loss), trial 3 kills its worker process
    faulty = LocalExecutor(workers=2, threads=1, run_task=with_faults("1=raise,2=nan,3=kill"))
    out = tmp_path / "sweep"
    lines: list[str] = []
    summary = run_sweep(spec(data, n=6), out, faulty, log=lines.append)
    assert summary.counts == {"pending": 0, "running": 0, "done": 3, "failed": 3}
    trials = SweepStore(out / "sweep.sqlite").trials()
    assert [t["idx"] for t in trials] == list(range(6))
    by = {t["idx"]: t for t in trials}
    assert "injected failure" in by[1]["message"]
    assert "NonFiniteLossError" in by[2]["message"]
    assert "killed by SIGKILL" in by[3]["message"]
    for t in trials:
        assert t["flops"] <= 3e6 and t["n_params"] > 0 and t["config"]["stages"]
        assert t["wall_time"] is not None and t["attempts"] == 1
        if t["status"] == "done":
            assert 0 <= t["error"] <= 1 and 0 <= t["best_error"] <= 1
            assert t["epochs"] == 2 and t["train_time"] > 0
            history = (out / "trials" / f"{t['idx']:05d}" / "metrics.jsonl").read_text()
            assert len(history.splitlines()) == 2 and "val_acc" in history
            # trained at the size its cost was computed for (the data's 16), not resized to
            # the 32 the trainer would pick for an AnyNet (its stride)
            trial_cfg = (out / "trials" / f"{t['idx']:05d}" / "config.json").read_text()
            sampled = json.loads((out / "sweep.json").read_text())["input_size"]
            assert json.loads(trial_cfg)["resize"] == sampled[1] == 16
    # each trial trained through the trainer, its run recorded in the same file
    runs = RunStore(out / "sweep.sqlite").runs()
    assert sorted(r["status"] for r in runs) == ["failed", "finished", "finished", "finished"]
    assert any("FAILED" in line for line in lines)
    # a rerun has nothing to do, and keeps every result as it was
    again = run_sweep(spec(data, n=6), out, workers=2, log=lines.append)
    assert again.ran == 0 and again.counts == summary.counts
    assert SweepStore(out / "sweep.sqlite").trials() == trials
    # ... unless asked to retry the failures (without faults now)
    retried = run_sweep(spec(data, n=6), out, workers=2, retry_failed=True, log=None)
    assert retried.ran == 3 and retried.counts["done"] == 6
    # other settings in the same directory are refused
    with pytest.raises(ValueError, match=r"other settings.*n: 6 in the sweep, 7 now"):
        run_sweep(spec(data, n=7), out, log=None)


def _cli(data: Path, out: Path) -> list[str]:
    return [
        "sweep", "run", "--space", "anynetx_a", "--n", "8",
        "--flops", ":3M", "--data", str(data), "--epochs", "2",
        "--train-opt", "batch_size=16", "--train-opt", 'precision="fp32"',
        "--range", "width=[8,64]", "--range", "depth=[1,3]", "--workers", "1", "--threads", "1",
        "--out", str(out),
    ]  # fmt: skip


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead too
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_a_killed_sweep_resumes_without_counting_twice(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    # trial 3 stalls, so that the kill surely lands in the middle of a trial
    proc = subprocess.Popen(
        cli_command("3=hang", _cli(data, out)), env=env_with_tests_dir(env),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    db = out / "sweep.sqlite"
    deadline = time.time() + 120
    running: list[dict] = []
    while time.time() < deadline and proc.poll() is None:
        try:
            trials = SweepStore(db).trials() if db.exists() else []
        except Exception:
            trials = []
        running = [t for t in trials if t["status"] == "running"]
        if [t["idx"] for t in running] == [3]:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the sweep ended before it could be killed"
    store = SweepStore(db)
    assert store.counts() == {"pending": 4, "running": 1, "done": 3, "failed": 0}
    # the orphaned worker notices its parent is gone and exits
    worker_pid = int(running[0]["worker"].split("pid ")[1].rstrip(")"))
    t0 = time.time()
    while _alive(worker_pid) and time.time() - t0 < 10:
        time.sleep(0.1)
    assert not _alive(worker_pid)
    kept = {t["idx"]: t for t in store.trials() if t["status"] == "done"}

    res = subprocess.run(
        [sys.executable, "-m", "cnnzoo", *_cli(data, out)],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "resuming" in res.stdout and "unfinished, rerun" in res.stdout
    trials = store.trials()
    assert len(trials) == 8 and all(t["status"] == "done" for t in trials)
    for idx, t in kept.items():  # finished trials kept as they were, not rerun
        assert trials[idx] == t
    assert [t["attempts"] for t in trials] == [1, 1, 1, 2, 1, 1, 1, 1]  # 3 was running
    # the trainer's runs: one per trial, none twice
    runs = RunStore(db).runs()
    assert len(runs) == 8 and all(r["status"] == "finished" for r in runs)


def test_ray_executor_runs_trials_and_records_a_crashed_worker(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("ray", reason="Ray is optional: pip install 'cnnzoo[ray]'")
    from cnnzoo.designspace.executors import RayExecutor

    # Ray's workers import the task function from this folder
    monkeypatch.setenv("PYTHONPATH", env_with_tests_dir(dict(os.environ))["PYTHONPATH"])
    out = tmp_path / "ray-sweep"
    ex = RayExecutor(address=None, workers=2, threads=1, num_cpus=2, run_task=with_faults("1=kill"))
    summary = run_sweep(spec(data, n=3), out, ex, log=None)
    assert summary.counts["done"] == 2 and summary.counts["failed"] == 1
    failed = SweepStore(out / "sweep.sqlite").trials("failed")
    assert failed[0]["idx"] == 1 and "Ray task failed" in failed[0]["message"]


def test_cli_run_status_and_analyze(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dirs = []
    for space in ("anynetx_a", "anynetx_e", "speednet"):
        out = tmp_path / space
        width = "[16,64]" if space == "speednet" else "[8,64]"
        args = [
            "sweep", "run", "--space", space, "--n", "5", "--flops", ":3M", "--data", str(data),
            "--epochs", "1", "--max-steps", "2", "--train-opt", "batch_size=16",
            "--range", f"width={width}", "--range", "depth=[1,3]", "--workers", "2",
            "--threads", "1", "--out", str(out), "--quiet",
        ]  # fmt: skip
        assert main(args) == 0
        assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["done"] == 5
        dirs.append(out)
    assert main(["sweep", "status", str(dirs[0])]) == 0
    assert "5 done" in capsys.readouterr().out
    # a generic network's sweep trains the network it drew, with the options it drew
    assert main(["sweep", "status", str(dirs[2]), "--top", "3"]) == 0
    best = r"trial \d+: convs=\d-\d-\d stem=\d+ widths=\d+-\d+-\d+"
    out = capsys.readouterr().out
    assert re.search(best, out)
    rows = [r.split() for r in out.splitlines() if re.match(r"\s+\d+\s+\d+\.\d\d%", r)]
    assert len(rows) == 3 and [float(r[1][:-1]) for r in rows] == sorted(
        float(r[1][:-1]) for r in rows
    )  # the best three, best first
    assert all(r[4].startswith("convs=") for r in rows)
    trial = json.loads((dirs[2] / "trials" / "00000" / "config.json").read_text())
    assert trial["model"] == "speednet"
    assert (
        trial["model_options"]
        == SweepStore(dirs[2] / "sweep.sqlite").trials()[0]["config"]["options"]
    )
    report = tmp_path / "report"
    assert main(["sweep", "analyze", *map(str, dirs), "--out", str(report), "--top", "2"]) == 0
    md = (report / "report.md").read_text()
    for name in ("edf.png", "edf_normalized.png", "bootstrap.png", "widths.png", "time.png"):
        assert (report / name).read_bytes()[:4] == b"\x89PNG", name
        assert f"]({name})" in md
    assert (report / "params_anynetx_a.png").exists() and (report / "params_anynetx_e.png").exists()
    assert (report / "params_speednet.png").exists()
    assert "anynetx_e" in md and "dominates" in md and "95% interval" in md
    # the Pareto front names each network; the width fit is for the AnyNet sweeps only
    assert "| speednet |" in md.split("Error against training time")[1].split("##")[0]
    assert "| speednet |" not in md.split("Block widths of the best models")[1]
    # a sweep of generic networks alone: no width section
    alone = tmp_path / "alone"
    assert main(["sweep", "analyze", str(dirs[2]), "--out", str(alone)]) == 0
    assert "Block widths" not in (alone / "report.md").read_text()
    assert (alone / "time.png").exists() and not (alone / "widths.png").exists()
    assert "<img src='edf.png'" in (report / "report.html").read_text()
    assert main(["sweep", "spaces"]) == 0
    assert "regnety" in capsys.readouterr().out
    assert main(["sweep", "analyze", str(tmp_path / "nothing")]) == 2
