"""Shared pieces of the network claims (:mod:`~cnnzoo.claims.alexnet` to
:mod:`~cnnzoo.claims.densenet_d2l`).

Training jobs under a recipe, a variant's cost on the meta device, width matching, the
throughput probe's job and settings, and the findings, tables and plots the rules share.
Accuracy differences are paired by seed (the seed fixes the initialisation and the data
order) and printed in percentage points.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence

from cnnzoo.claims.core import PP, Finding, Job, missing_finding
from cnnzoo.claims.stats import Interval, mean_interval, paired_difference

# --------------------------------------------------------------------------- helpers


def train_job(
    key: str, group: str, seed: int, model: str, setting: dict, options: dict | None = None,
    base: str | None = None, **fields: object,
) -> Job:  # fmt: skip
    """A training job: the ``base`` recipe's config for ``model`` with ``fields`` on top (or
    just ``fields`` when no base), with the setting's length (epochs, images, steps) and the
    seed."""
    from cnnzoo.train import TrainConfig
    from cnnzoo.train.recipes import recipe_config

    length = {
        "epochs": int(setting["epochs"]),
        "train_subset": setting.get("train_subset"),
        "test_subset": setting.get("test_subset"),
        "max_steps": setting.get("max_steps"),
        "val_size": 0,  # every epoch evaluated on the test split, as the book does
        "seed": seed,
        "model_options": dict(options or {}),
        "checkpoint_every": 60.0,
        "stop_unhealthy": False,  # an experiment runs its whole budget; judged at the end
    }
    if base is not None:
        config = recipe_config(base, model, **(length | fields))
    else:
        config = TrainConfig(model=model, **(length | fields))  # type: ignore[arg-type]
    return Job(key=key, group=group, seed=seed, train=config.to_dict())


def seeds(setting: dict) -> range:
    return range(int(setting["seeds"]))


def acc_table(groups: Sequence[tuple[str, str]], acc: dict) -> tuple[list[str], list[list[str]]]:
    cols = ["variant", "what it is", "runs", "test accuracy (mean, 95% interval)"]
    rows = []
    for g, what in groups:
        vals = acc.get(g, {})
        cell = mean_interval(list(vals.values())).format(4) if vals else "no result"
        rows.append([g, what, str(len(vals)), cell])
    return cols, rows


def diff_finding(
    statement: str, quantity: str, a: dict[int, float] | None, b: dict[int, float] | None,
    threshold: float = 0.0, claimed: str = ">", **fmt: object,
) -> Finding:  # fmt: skip
    fmt = PP | fmt
    if not a or not b or not set(a) & set(b):
        return missing_finding(statement, quantity, threshold, claimed)
    return Finding(statement, quantity, paired_difference(a, b), threshold, claimed, **fmt)  # type: ignore[arg-type]


def point(ax, x: float, values: dict[int, float] | None, label: str) -> None:
    """One variant as a point: the mean over seeds with its 95% interval."""
    vals = list((values or {}).values())
    if vals:
        iv = mean_interval(vals)
        err = [[iv.value - iv.low], [iv.high - iv.value]] if iv.known else None
        ax.errorbar(x, iv.value, yerr=err, marker="o", capsize=4, label=label)


def bars(ax, names: Sequence[str], values: dict, ylabel: str) -> None:
    """Mean and 95% interval per group as bars, each seed as a dot."""
    for i, g in enumerate(names):
        vals = list(values.get(g, {}).values())
        if not vals:
            continue
        iv = mean_interval(vals)
        lo = iv.value - iv.low if iv.known else 0
        hi = iv.high - iv.value if iv.known else 0
        ax.bar(i, iv.value, color="#9ecae1", edgecolor="#3182bd")
        ax.errorbar(i, iv.value, yerr=[[lo], [hi]], color="black", capsize=4)
        ax.scatter([i] * len(vals), vals, color="#08519c", s=12, zorder=3)
    ax.set_xticks(range(len(names)), names, rotation=20, ha="right")
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)


# --------------------------------------------------------------------------- shared pieces


def variant_cost(
    model: str, options: dict | None = None, size: tuple = (1, 28, 28)
) -> tuple[int, int]:
    """(parameters, multiply-adds) of a variant for one image, built on the meta device."""
    return _cost_cached(model, json.dumps(options or {}, sort_keys=True), tuple(size))


@functools.lru_cache(maxsize=512)
def _cost_cached(model: str, options_json: str, size: tuple) -> tuple[int, int]:
    import torch

    from cnnzoo.cost import complexity
    from cnnzoo.models import create_model

    with torch.device("meta"):
        net = create_model(model, num_classes=10, in_channels=size[0], **json.loads(options_json))
    c = complexity(net, size)
    return c.params, c.flops


def match_width(model: str, options: dict, key: str, target: float, field: str) -> dict:
    """``options`` with ``field`` (a width multiplier, or a channel list scaled by one) chosen
    by bisection so that the variant's parameters (``key="params"``) or multiply-adds
    (``"flops"``) come as close to ``target`` as whole channel counts allow."""

    def with_mult(m: float) -> dict:
        if field == "width":
            return options | {"width": round(m, 4)}
        blocks = [[b[0], max(1, round(b[1] * m)), *b[2:]] for b in options[field]]
        return options | {field: blocks}

    def value(m: float) -> int:
        p, f = variant_cost(model, with_mult(m))
        return p if key == "params" else f

    lo, hi = 0.05, 8.0
    for _ in range(40):
        mid = (lo * hi) ** 0.5
        if value(mid) < target:
            lo = mid
        else:
            hi = mid
    best = min((lo, hi), key=lambda m: abs(value(m) - target))
    return with_mult(best)


def fast_jobs(variants: dict[str, tuple[str, dict]], s: dict, **fields: object) -> list[Job]:
    """Each (model, options) variant under the ``fast`` recipe at batch 128 (more steps for a
    short budget; the recipe scales its rate to the batch), once per seed."""
    return [
        train_job(
            f"{g}/seed{seed}",
            g,
            seed,
            model,
            s,
            opts,
            base="fast",
            **({"batch_size": 128} | fields),
        )
        for g, (model, opts) in variants.items()
        for seed in seeds(s)
    ]


def ratio_finding(statement: str, quantity: str, a: float, b: float, threshold: float,
                   claimed: str) -> Finding:  # fmt: skip
    from cnnzoo.claims.stats import exact

    return Finding(statement, quantity, exact(a / b), threshold, claimed, unit="x", digits=2)


def cost_rows(variants: dict[str, tuple[str, dict]], acc: dict) -> tuple[list, list]:
    cols = ["variant", "model", "parameters", "multiply-adds", "runs", "test accuracy [95%]"]
    rows = []
    for g, (model, opts) in variants.items():
        p, f = variant_cost(model, opts)
        vals = acc.get(g, {})
        cell = mean_interval(list(vals.values())).format(4) if vals else "no result"
        rows.append([g, model, f"{p:,}", f"{f / 1e6:.2f}M", str(len(vals)), cell])
    return cols, rows


SHORT = {
    "smoke": {"seeds": 2, "epochs": 1, "train_subset": 128, "max_steps": 2},
}


def cores() -> int:
    import os

    return max(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 2)


def speed_job(variants: dict[str, tuple[str, dict]], s: dict) -> Job:
    args = {
        "variants": [{"name": n, "model": m, "options": o} for n, (m, o) in variants.items()],
        "input_size": [1, 28, 28], "batch_size": s["speed_batch"], "threads": [cores()],
        "repeats": s["speed_repeats"], "min_time": s["speed_min_time"],
    }  # fmt: skip
    if "speed_min_iters" in s:  # the smoke budget's (the other budgets' jobs keep their hashes)
        args["min_iters"] = s["speed_min_iters"]
    return Job("speed", "speed", 0, kind="probe", probe="train_speed", args=args, exclusive=True)


def speed_of(results: dict) -> dict | None:
    rec = results.get("speed")
    if not rec or rec.get("status") != "finished" or not rec.get("result"):
        return None
    return rec["result"]


def madd_rate_ratio(speed: dict, a: str, b: str) -> Interval:
    """Multiply-adds per second of ``a`` over ``b`` (paired repeats)."""
    from cnnzoo.claims.stats import ratio_interval

    va, vb = speed["variants"][a], speed["variants"][b]
    t = next(iter(va["images_per_s"]))
    return ratio_interval(
        [x * va["mult_adds"] for x in va["images_per_s"][t]],
        [x * vb["mult_adds"] for x in vb["images_per_s"][t]],
    )


def speed_settings(
    s: dict, batch: int, repeats: int, min_time: float, min_iters: int | None = None
) -> dict:
    out = s | {"speed_batch": batch, "speed_repeats": repeats, "speed_min_time": min_time}
    return out if min_iters is None else out | {"speed_min_iters": min_iters}
