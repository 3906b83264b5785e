"""What a checkpoint keeps of a training run besides its weights: the step and epoch, the
optimiser, the loader's place, the random state, the running sums, the health monitor, the
history and the config; taken from a :class:`~cnnzoo.train.trainer.Trainer` and put back into
one when the run resumes (the same on every rank of a distributed run: rank 0's)."""

from __future__ import annotations

import json

import torch

from cnnzoo.train.checkpoint import Checkpoint, load_weights

__all__ = ["restore_trainer", "trainer_state"]


def trainer_state(t) -> dict:
    """The state of trainer ``t`` (tensors, numbers and strings only)."""
    state = {
        "step": t.step,
        "epoch": t.epoch,
        "best_acc": t.best_acc,
        "elapsed": t.clock.elapsed,
        "optimizer": t.optimizer.state_dict(),
        "loader": t.train_loader.state_dict(),
        "rng_cpu": torch.get_rng_state(),
        "history_json": json.dumps(t.history),
        "epoch_sums_json": json.dumps(t.sums.epoch_state()),
        "health_json": json.dumps(t.health.state_dict() | {"window": t.sums.window_state()}),
        "config_json": json.dumps(t.config.to_dict()),
    }
    if t.device.type == "cuda":
        state["rng_cuda"] = torch.cuda.get_rng_state(t.device)
    if t.ema is not None:
        state["ema"] = t.ema.state_dict()
    if t.scaler.is_enabled():
        state["scaler"] = t.scaler.state_dict()
    return state


def restore_trainer(t, ckpt: Checkpoint) -> None:
    """Put the state of checkpoint ``ckpt`` back into trainer ``t``."""
    st = ckpt.state
    load_weights(t.model, ckpt.model, ckpt.path)
    if t.ema is not None and ckpt.ema is not None:
        load_weights(t.ema.module, ckpt.ema, ckpt.path)
        t.ema.load_state_dict(st["ema"])
    t.optimizer.load_state_dict(st["optimizer"])
    t.train_loader.load_state_dict(st["loader"])
    torch.set_rng_state(st["rng_cpu"])
    if "rng_cuda" in st and t.device.type == "cuda":
        torch.cuda.set_rng_state(st["rng_cuda"], t.device)
    if "scaler" in st:
        t.scaler.load_state_dict(st["scaler"])
    t.step, t.epoch = int(st["step"]), int(st["epoch"])
    t.best_acc, t.clock.elapsed = float(st["best_acc"]), float(st["elapsed"])
    t.history = json.loads(st["history_json"])
    health = json.loads(st["health_json"]) if "health_json" in st else {}
    t.health.load_state_dict(health)
    t.sums.load_state_dict(json.loads(st["epoch_sums_json"]), health.get("window", [0.0, 0]))
