"""What a run writes besides its checkpoints: the metrics of every epoch (``metrics.jsonl``
and ``metrics.csv``), the final result (``eval.json``, with the run's status), and the lines
it prints."""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import platform
from collections.abc import Callable, Iterator
from pathlib import Path

import torch

from cnnzoo.errors import NonFiniteLossError
from cnnzoo.store import RunStore
from cnnzoo.train.evaluation import EvalResult
from cnnzoo.train.health import HealthMonitor

__all__ = [
    "epoch_line",
    "final_result",
    "final_status",
    "json_safe",
    "recording_failures",
    "write_eval",
    "write_metrics",
]


def json_safe(value: object) -> object:
    """``value`` with every non-finite float replaced by None (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def write_metrics(out_dir: Path, history: list[dict]) -> None:
    """``metrics.jsonl`` and ``metrics.csv``: one row per epoch, each file replaced whole."""
    keys: list[str] = []
    for row in history:
        keys += [k for k in row if k not in keys]
    tmp = out_dir / ".metrics.jsonl.tmp"
    tmp.write_text("".join(json.dumps(r) + "\n" for r in history))
    os.replace(tmp, out_dir / "metrics.jsonl")
    tmp = out_dir / ".metrics.csv.tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(history)
    os.replace(tmp, out_dir / "metrics.csv")


def write_eval(out_dir: Path, result: dict) -> dict:
    """``eval.json``, written whole; returns ``result`` as written (NaN as None)."""
    result = json_safe(result)  # type: ignore[assignment]
    tmp = out_dir / ".eval.json.tmp"
    tmp.write_text(json.dumps(result, indent=2, allow_nan=False))
    os.replace(tmp, out_dir / "eval.json")
    return result


def final_status(diagnosis: str | None, test: EvalResult, advice: str) -> tuple[str, str | None]:
    """``finished``; ``diverged`` (with the health monitor's diagnosis); or ``failed`` when the
    test loss is not finite although training ended normally."""
    if diagnosis is not None:
        return "diverged", diagnosis
    if not math.isfinite(test.loss):
        return "failed", (
            f"the test loss is {test.loss} (the network's outputs overflow on the test "
            f"images) although training ended normally." + advice
        )
    return "finished", None


def final_result(
    model: str,
    data: str,
    status: str,
    diagnosis: str | None,
    test: EvalResult,
    health: HealthMonitor,
    *,
    best_val_acc: float | None,
    epochs: int,
    steps: int,
    wall_time: float,
    images_per_s: float,
    params: int,
    device: str,
    precision: str,
    channels_last: bool,
    classes: list[str],
) -> dict:
    """The final metrics: what ``eval.json`` holds and ``train()`` returns."""
    return {
        "model": model,
        "data": data,
        "status": status,
        "diagnosis": diagnosis,
        "test_acc": test.acc,
        "test_loss": test.loss,
        "best_val_acc": best_val_acc,
        "epochs": epochs,
        "steps": steps,
        "wall_time": wall_time,
        "images_per_s": images_per_s,
        "params": params,
        "device": device,
        "precision": precision,
        "channels_last": channels_last,
        "machine": platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "classes": classes,
        "per_class_acc": test.per_class_acc,
        "confusion": test.confusion,
        "train_loss_curve": health.curve,
        "health_warning": health.warning,
        "chance_loss": health.chance,
    }


@contextlib.contextmanager
def recording_failures(store: RunStore, run_id: str, elapsed: Callable[[], float]) -> Iterator:
    """Record in the store how a run that raised ended: ``failed`` (a NaN loss, an error) or
    ``interrupted`` (Ctrl-C, SIGTERM), with ``elapsed()`` seconds of training; then re-raise."""
    try:
        yield
    except NonFiniteLossError as e:
        store.finish_run(run_id, "failed", wall_time=elapsed(), error=str(e))
        raise
    except KeyboardInterrupt:
        store.finish_run(run_id, "interrupted", wall_time=elapsed(), error="interrupted")
        raise
    except Exception as e:
        store.finish_run(run_id, "failed", wall_time=elapsed(), error=repr(e))
        raise


def epoch_line(metrics: dict, epochs: int, split: str, res: EvalResult | None) -> str:
    """The line printed at the end of an epoch (``split``: the one evaluated, if any)."""
    evaluated = ""
    if res is not None:
        ema = metrics.get(f"ema_{split}_acc")
        evaluated = f"  {split} loss {res.loss:.4f}  acc {res.acc:.4f}" + (
            f"  (ema {ema:.4f})" if ema is not None else ""
        )
    size = metrics.get("image_size")  # progressive resizing: the size this epoch trained at
    return (
        f"epoch {metrics['epoch']:>3}/{epochs}  train loss {metrics['train_loss']:.4f}"
        f"  acc {metrics['train_acc']:.4f}{f' at {size}' if size else ''}{evaluated}"
        f"  {metrics['images_per_s']:,.0f} img/s  {metrics['epoch_time']:.1f}s"
    )
