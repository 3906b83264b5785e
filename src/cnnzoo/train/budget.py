"""Training to a time budget: as many epochs as fit in a given wall time on this machine.

The ``fast`` recipe lays its one-cycle schedule and its progressive resizing out over the whole
run, so a run's length has to be known before its first step: a budget cannot be a stop
watch that ends a run midway (its learning rate would still be high, its accuracy far from what
the same time buys). Instead the budget is turned into a number of epochs once, at the start:
a few training steps of the run's own network, at its batch size, precision and memory format,
are timed on this machine at the smallest and the full image size, and one evaluation batch;
the run's time is estimated for each number of epochs (the recipe re-resolved for it, so that
progressive resizing spans its share of the run), and the longest run that fits is chosen.
The run itself is then an ordinary run of that many epochs: the same seed gives the same
weights as ``--epochs N`` would, and ``--resume`` continues it at that length.

What counts: the wall time since the process started (Python and PyTorch loading, reading the
data, these measurements), the training steps, every epoch's evaluation and the final one;
:data:`RESERVE` is kept for the checkpoints, the report and the plots at the end, and the plan
fills only :data:`PLANNED_SHARE` of the budget. The plan is made once: a machine that slows
down after it was measured (a shared VM) can still end the run after its budget, and
``cnnzoo train`` then says by how much (benchmarks/RESULTS.md, "94%", has such runs).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from cnnzoo.errors import ConfigError
from cnnzoo.train.config import TrainConfig

__all__ = ["RESERVE", "BudgetPlan", "StepCosts", "estimate_seconds", "fit_epochs",
           "measure_costs", "parse_duration", "plan_budget", "process_age"]  # fmt: skip

#: seconds kept aside for what is not measured: each epoch's checkpoint and metrics files, the
#: report and plots at the end (about 2 s for a small network)
RESERVE = 4.0
#: fraction of the budget planned for, the rest a margin for the machine's own variation (a
#: shared VM's speed was seen to drift by 20-50% between the measurement and the run's end)
PLANNED_SHARE = 0.9
#: the longest run a budget is turned into
MAX_EPOCHS = 1000

_UNITS = {"": 1.0, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


def parse_duration(text: str | float) -> float:
    """Seconds in ``text``: a number of seconds (``300``), or with a unit (``90s``, ``5m``,
    ``5min``, ``1.5h``, ``2m30s``)."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        seconds = float(text)
    else:
        s = str(text).strip().lower().replace(" ", "")
        parts = re.findall(r"(\d+(?:\.\d*)?|\.\d+)([a-z]*)", s)
        if not s or "".join(n + u for n, u in parts) != s or any(u not in _UNITS for _, u in parts):
            raise ConfigError(
                f"cannot read {text!r} as a duration: give seconds (300) or a number with a "
                "unit, s, m or h (90s, 5m, 1.5h, 2m30s)"
            )
        seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if not math.isfinite(seconds) or seconds <= 0:
        raise ConfigError(f"a time budget must be a positive duration, got {text!r}")
    return seconds


def process_age() -> float:
    """Seconds since this process started (on Linux, from /proc; elsewhere since this module
    was imported)."""
    try:
        with open("/proc/self/stat") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError, AttributeError):
        return time.perf_counter() - _IMPORTED


_IMPORTED = time.perf_counter()


@dataclass(frozen=True)
class StepCosts:
    """What a run costs on this machine, measured: seconds per training step at each image
    side measured (``step``), seconds per epoch's evaluation and for the final one."""

    step: dict[int, float]
    steps_per_epoch: int
    full_size: int
    epoch_eval: float
    final_eval: float

    def step_at(self, size: int) -> float:
        """Seconds per step at ``size``: linear in the number of pixels through the smallest
        and the largest size measured (proportional to it when only one was)."""
        lo, hi = min(self.step), max(self.step)
        if lo == hi:
            return self.step[lo] * (size / lo) ** 2
        t = (size**2 - lo**2) / (hi**2 - lo**2)
        return max(0.0, self.step[lo] + t * (self.step[hi] - self.step[lo]))


def estimate_seconds(cfg: TrainConfig, costs: StepCosts) -> float:
    """Seconds ``cfg``'s run takes with ``costs``: its epochs' steps at the size each epoch
    trains at (progressive resizing), an evaluation after every epoch, the final one."""
    from cnnzoo.train.run_data import train_resize

    full = costs.full_size
    steps = costs.steps_per_epoch
    total = 0.0
    for epoch in range(cfg.epochs):
        size = train_resize(cfg, epoch, full) if cfg.progressive_epochs else None
        total += steps * costs.step_at(size or full) + costs.epoch_eval
    return total + costs.final_eval


@dataclass(frozen=True)
class BudgetPlan:
    """The run a budget buys: its config and what it was estimated to take."""

    config: TrainConfig
    budget: float  # seconds given
    spent: float  # seconds gone before training (start-up, data, measurements)
    estimate: float  # seconds the chosen run is estimated to take
    costs: StepCosts

    def describe(self) -> str:
        c = self.costs
        steps = ", ".join(f"{s}x{s} {1000 * t:.0f} ms" for s, t in sorted(c.step.items()))
        return (
            f"time budget {self.budget:.0f} s: {self.config.epochs} epoch"
            f"{'s' if self.config.epochs != 1 else ''} fit (estimated {self.estimate:.0f} s of "
            f"training and evaluation after {self.spent:.0f} s of start-up and measurement; "
            f"a step of {self.config.batch_size} images: {steps}; an evaluation "
            f"{c.epoch_eval:.1f} s)"
        )


def fit_epochs(
    config_for: Callable[[int], TrainConfig], costs: StepCosts, seconds: float
) -> tuple[TrainConfig, float]:
    """The config of the longest run (``config_for(epochs)``) estimated to fit in
    ``seconds``, and its estimate. Raises a ConfigError when not even one epoch fits."""
    one = config_for(1)
    first = estimate_seconds(one, costs)
    if first > seconds:
        raise ConfigError(
            f"not even one epoch fits in the time left ({seconds:.0f} s): one epoch of "
            f"{costs.steps_per_epoch} steps and its evaluation are estimated at {first:.0f} s "
            "on this machine. Give a longer --budget, or train on fewer images "
            "(--train-subset) or a smaller network"
        )
    lo, hi = 1, 2  # lo fits; grow hi until it does not (or the cap), then bisect
    fits = {1: (one, first)}
    while hi <= MAX_EPOCHS:
        cfg = config_for(hi)
        est = estimate_seconds(cfg, costs)
        if est > seconds:
            break
        fits[hi] = (cfg, est)
        lo, hi = hi, hi * 2
    hi = min(hi, MAX_EPOCHS + 1)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        cfg = config_for(mid)
        est = estimate_seconds(cfg, costs)
        if est <= seconds:
            lo, fits[mid] = mid, (cfg, est)
        else:
            hi = mid
    return fits[lo]


def measure_costs(cfg: TrainConfig, min_time: float = 0.5) -> StepCosts:
    """Time ``cfg``'s training step on this machine — its network (built as the trainer builds
    it, then thrown away), optimiser, batch size, precision and memory format, on random
    images — at the full image size and at progressive resizing's smallest, and one batch of
    evaluation; read the number of steps and evaluation images from the run's data."""
    from cnnzoo.bench import seconds_per_call
    from cnnzoo.train.device import (
        autocast_context,
        pick_channels_last,
        pick_device,
        pick_precision,
    )
    from cnnzoo.train.optim import build_optimizer
    from cnnzoo.train.run_data import prepare_data
    from cnnzoo.train.run_model import build_model

    device = pick_device(cfg.device)
    precision = pick_precision(device, cfg.precision)
    channels_last = pick_channels_last(precision, cfg.channels_last, device)
    data = prepare_data(cfg, device, channels_last)
    c, h, w = data.input_size
    classes = len(data.classes)
    state = torch.random.get_rng_state()  # the run draws its own numbers afterwards
    try:
        # thrown away after: built without --init-from's weights (and its message)
        model = build_model(data.config.replace(init_from=None), classes, c, device, channels_last)
        optimizer = build_optimizer(
            model, cfg.optimizer, cfg.lr * 1e-3, cfg.momentum, cfg.nesterov, cfg.weight_decay
        )
        full = min(h, w)
        # the full size, and progressive resizing's first (the trainer's resize of that epoch)
        resizes = {full: data.config.resize}
        if cfg.progressive_epochs and cfg.progressive_size:
            resizes[int(cfg.progressive_size)] = int(cfg.progressive_size)
        step: dict[int, float] = {}
        model.train()
        loader = data.train_loader
        for size, resize in resizes.items():
            loader.augment = dataclasses.replace(loader.augment, resize=resize)
            load = _seconds_per_batch(loader, min_time)  # read, augment, resize
            batches = itertools.cycle(list(itertools.islice(_endless(loader), 4)))

            def train_step(batches=batches) -> None:
                # the trainer's step on real batches
                x, y = next(batches)
                with autocast_context(device, precision):
                    logits = model(x)
                loss = F.cross_entropy(logits.float(), y, label_smoothing=cfg.label_smoothing)
                # as the trainer: count the correct predictions, wait for the loss to check it
                (logits.detach().argmax(1) == y).sum()
                bool(torch.isfinite(loss.detach()))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()

            train_step()  # a second warm-up call: the first steps at a new size set up kernels
            step[size] = seconds_per_call(train_step, device, min_time) + load
        model.eval()
        eval_bs = cfg.eval_batch_size
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        xe = torch.randn(eval_bs, c, h, w, device=device).contiguous(memory_format=fmt)

        @torch.no_grad()
        def eval_batch() -> None:
            with autocast_context(device, precision):
                model(xe)
                if cfg.tta:
                    model(torch.flip(xe, dims=[3]))

        per_image = seconds_per_call(eval_batch, device, min_time) / eval_bs
    finally:
        torch.random.set_rng_state(state)
    n_test = len(data.eval_loaders["test"].dataset)
    held_out = "val" in data.eval_loaders
    n_epoch = len(data.eval_loaders["val"].dataset) if held_out else n_test
    ema = 2 if cfg.ema_decay else 1
    return StepCosts(
        step=step,
        steps_per_epoch=len(data.train_loader),
        full_size=full,
        epoch_eval=per_image * n_epoch * ema,
        final_eval=per_image * n_test * ema if held_out else 0.0,
    )


def _endless(loader):
    """The loader's batches, epoch after epoch."""
    while True:
        yield from loader


def _seconds_per_batch(loader, min_time: float) -> float:
    """Seconds the loader takes to give one batch, over at least ``min_time`` or a whole epoch
    (it builds several batches at once: a long enough run of them spreads that evenly)."""
    n, start = 0, time.perf_counter()
    for _ in loader:
        n += 1
        if time.perf_counter() - start >= min_time:
            break
    return (time.perf_counter() - start) / max(n, 1)


def plan_budget(
    budget: float,
    config_for: Callable[[int], TrainConfig],
    log: Callable[[str], None] | None = None,
    costs: StepCosts | None = None,
    spent: float | None = None,
) -> BudgetPlan:
    """The run that fits in ``budget`` seconds of this process's wall time: ``config_for``
    gives the config of a run of so many epochs (the recipe, resolved for that length);
    ``costs`` are measured on this machine unless given; ``spent`` (default: this process's
    age once they are) is the time already gone."""
    if costs is None:  # with the settings of a long run: progressive resizing on, if any
        costs = measure_costs(config_for(MAX_EPOCHS))
    if spent is None:
        spent = process_age()
    left = budget * PLANNED_SHARE - spent - RESERVE
    if left <= 0:
        raise ConfigError(
            f"the time budget ({budget:.0f} s) is used up before training starts: {spent:.0f} s "
            f"went on start-up and measuring this machine, {RESERVE:.0f} s are kept for the "
            f"report and {100 - 100 * PLANNED_SHARE:.0f}% for the machine's variation; give a "
            "longer --budget"
        )
    cfg, est = fit_epochs(config_for, costs, left)
    plan = BudgetPlan(cfg, budget, spent, est, costs)
    if log is not None:
        log(plan.describe())
    return plan
