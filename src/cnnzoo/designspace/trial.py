"""One trial of a sweep: train one sampled network for the short budget, in this process.

The trial is plain data in and plain data out (a dict each way), so that a local worker
process and a Ray task run exactly the same function. It never raises: a crash (an exception,
a non-finite loss) comes back as ``status="failed"`` with the reason; a killed worker is
noticed by the executor, which records that instead.
"""

from __future__ import annotations

import json
import math
import shutil
import time
import traceback
from pathlib import Path

__all__ = ["run_task", "run_trial"]


def run_trial(task: dict) -> dict:
    """Train ``task["train"]`` (a :class:`~cnnzoo.train.TrainConfig` dict) into
    ``task["out_dir"]`` with ``task["threads"]`` threads, recording the run in
    ``task["store"]``; returns ``{"status", "error", "best_error", "wall_time", "train_time",
    "epochs", "message"}``.

    ``error`` is the test error at the end (1 - the trainer's test accuracy); ``best_error`` the
    lowest error of the per-epoch evaluations (on the validation split when the sweep holds one
    out, else on the test split). A directory left by an unfinished attempt is wiped first: an
    unfinished trial is rerun from scratch.
    """
    t0 = time.perf_counter()
    out_dir = Path(task["out_dir"])
    try:
        import torch

        from cnnzoo.train import TrainConfig, train

        threads = int(task.get("threads") or 0)
        if threads > 0:
            torch.set_num_threads(threads)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        out_dir.mkdir(parents=True)
        config = TrainConfig.from_dict(task["train"])
        result = train(config, out_dir, quiet=True, store=task.get("store"), plots=False)
        if result.get("status") != "finished":
            # diverged, or a non-finite test loss: its "error" would be chance level, a number
            # that is not a measurement of the network; the trial failed
            return {
                "status": "failed",
                "error": None,
                "best_error": None,
                "wall_time": time.perf_counter() - t0,
                "train_time": float(result.get("wall_time") or 0.0),
                "epochs": int(result.get("epochs") or 0),
                "message": f"training {result.get('status')}: {result.get('diagnosis')}",
            }
        history = _history(out_dir)
        accs = [h.get("val_acc", h.get("test_acc")) for h in history]
        accs = [a for a in accs if a is not None and math.isfinite(a)]
        if not task.get("keep_checkpoints", False):
            shutil.rmtree(out_dir / "checkpoints", ignore_errors=True)
        return {
            "status": "done",
            "error": 1.0 - float(result["test_acc"]),
            "best_error": 1.0 - max(accs) if accs else None,
            "wall_time": time.perf_counter() - t0,
            "train_time": float(result["wall_time"]),
            "epochs": int(result["epochs"]),
            "message": None,
        }
    except Exception as e:
        tb = traceback.format_exc(limit=4)
        return {
            "status": "failed",
            "error": None,
            "best_error": None,
            "wall_time": time.perf_counter() - t0,
            "train_time": None,
            "epochs": None,
            "message": f"{type(e).__name__}: {e}\n{tb}"[-4000:],
        }


def _history(out_dir: Path) -> list[dict]:
    path = out_dir / "metrics.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run_task(task: dict) -> dict:
    """What an executor's worker runs: a sweep trial, or the function named by
    ``task["runner"]`` (``"cnnzoo.module:function"``, e.g. a claim's job), which takes the task
    and returns a plain dict with at least ``status`` and ``message``, and never raises."""
    runner = task.get("runner")
    if runner is None:
        return run_trial(task)
    t0 = time.perf_counter()
    module, _, name = str(runner).partition(":")
    if not module.startswith("cnnzoo.") or not name:
        return {"status": "failed", "message": f"refusing to run {runner!r}: not a cnnzoo task"}
    try:
        import importlib

        fn = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        return {
            "status": "failed",
            "wall_time": time.perf_counter() - t0,
            "message": f"cannot load the task runner {runner!r}: {e}",
        }
    return fn(task)
