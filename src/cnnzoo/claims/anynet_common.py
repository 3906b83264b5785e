"""What the AnyNet claims share: the budgets' settings, the sampled networks and their training
jobs, the errors per space, the gap findings and the EDF plot (see :mod:`cnnzoo.claims.anynet`
and :mod:`cnnzoo.claims.regnet_rule`)."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

from cnnzoo.claims.core import PP as _PP
from cnnzoo.claims.core import Finding, Job, by_group
from cnnzoo.claims.core import missing_finding as _missing
from cnnzoo.claims.stats import (
    Interval,
    median,
    two_sample_bootstrap,
)

PAPER = "Radosavovic, Kosaraju, Girshick, He & Dollár, CVPR 2020"
LABEL = {
    "anynetx_a": "A",
    "anynetx_b": "B",
    "anynetx_c": "C",
    "anynetx_d": "D",
    "anynetx_e": "E",
    "regnetx": "RegNetX",
    "regnety": "RegNetY",
}
CHAIN = ("anynetx_a", "anynetx_b", "anynetx_c", "anynetx_d", "anynetx_e", "regnetx")

#: Every claim's networks: 1x28x28 Fashion-MNIST, three stages, 6M-12M multiply-adds (the
#: window of benchmarks/RESULTS-designspace.md), sampled with seed 0; each trained with the
#: sweeps' short recipe and the same data order (training seed 0).
BASE = {
    "input_size": [1, 28, 28],
    "num_classes": 10,
    "window": "6M:12M",
    "sample_seed": 0,
    "train_seed": 0,
}
SHORT = {
    # two epochs on a seeded subset of 5,000 images, error on the whole test set
    "smoke": {"epochs": 1, "train_subset": None, "test_subset": None, "max_steps": 2},
    "cpu": {"epochs": 2, "train_subset": 5000, "test_subset": None, "max_steps": None},
    "paper": {"epochs": 10, "train_subset": None, "test_subset": None, "max_steps": None},
}
N_NETWORKS = {"smoke": 3, "cpu": 40, "paper": 100}


def budget_setting(budget: str, **extra: object) -> dict:
    return BASE | SHORT[budget] | {"n": N_NETWORKS[budget]} | extra


# --------------------------------------------------------------------------- networks and jobs


@functools.lru_cache(maxsize=64)
def sample_space(space: str, n: int, window: str, input_size: tuple, num_classes: int, seed: int):
    from cnnzoo.designspace.sampling import sample_configs

    return tuple(
        sample_configs(space, n, window, input_size=input_size, num_classes=num_classes, seed=seed)
    )


def sampled_networks(s: dict, space: str, n: int | None = None, window: str | None = None) -> tuple:
    """The first ``n`` networks of ``space`` in ``window`` (the setting's by default): the
    first n of a larger sample are the same networks, so claims with different n share them."""
    return sample_space(
        space,
        int(n if n is not None else s["n"]),
        window or s["window"],
        tuple(int(v) for v in s["input_size"]),
        int(s["num_classes"]),
        int(s["sample_seed"]),
    )


def train_length(s: dict, long: bool = False) -> dict:
    if not long:
        return {k: s[k] for k in ("epochs", "train_subset", "test_subset", "max_steps")}
    return {
        "epochs": s["long_epochs"],
        "train_subset": s["long_subset"],
        "test_subset": s["test_subset"],
        "max_steps": s["long_max_steps"],
    }


def trial_job(key: str, group: str, idx: int, cand, s: dict, long: bool = False) -> Job:
    from cnnzoo.designspace.sweep import trial_config

    train = trial_config(
        cand.config.to_dict(),
        **train_length(s, long),
        val_size=0,
        seed=int(s["train_seed"]),
        resize=int(s["input_size"][1]),  # the size the cost window was computed at
        checkpoint_every=60.0,
        stop_unhealthy=False,  # a network that trains badly is a measurement, not an error
    )
    # only the final error is judged: the test split is evaluated once, at the end
    return Job(key=key, group=group, seed=idx, train=train, args={"epoch_eval": False})


def space_jobs(s: dict, spaces: Sequence[str], window: str | None = None, n=None) -> list[Job]:
    tag = f"@{window}" if window else ""
    return [
        trial_job(f"{LABEL.get(sp, sp)}{tag}/{i:03d}", sp + tag, i, c, s)
        for sp in spaces
        for i, c in enumerate(sampled_networks(s, sp, n, window))
    ]


def space_errors(results: dict) -> dict[str, dict[int, float]]:
    """``{group: {network index: test error}}`` of the networks that have a result (a network
    that diverged counts with its error: a bad network is a measurement)."""

    def err(r: dict) -> float | None:
        acc = r.get("test_acc")
        return None if acc is None or not math.isfinite(acc) else 1.0 - float(acc)

    return by_group(results, err)


def mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs)


def mean_gap(new: list, old: list) -> float:
    return mean(new) - mean(old)


def median_gap(new: list, old: list) -> float:
    return median(new) - median(old)


def gap_finding(
    statement: str, new: str, old: str, errs: dict, threshold: float, label=None
) -> Finding:
    """ "``new``'s mean error − ``old``'s is below ``threshold``", with a two-sample bootstrap
    interval over the networks of the two spaces."""
    name = label or (lambda g: LABEL.get(g.split("@")[0], g))
    quantity = f"mean test error, {name(new)} − {name(old)}"
    a, b = list(errs.get(new, {}).values()), list(errs.get(old, {}).values())
    if len(a) < 2 or len(b) < 2:
        return _missing(statement, quantity, threshold, "<")
    iv = two_sample_bootstrap(mean_gap, a, b)
    return Finding(statement, quantity, iv, threshold, "<", **_PP)  # type: ignore[arg-type]


def pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def format_interval(iv: Interval, scale: float = 100.0, unit: str = " pp", digits: int = 2) -> str:
    return iv.format(digits, scale, unit)


def edf_plot(ax, errs: dict, groups: Sequence[str], title: str = "") -> None:
    """The error EDFs of several spaces on one axis: for each error e, the share of the space's
    networks with error at most e (higher and further left is better)."""
    for g in groups:
        vals = sorted(errs.get(g, {}).values())
        if not vals:
            continue
        ys = [0.0] + [(i + 1) / len(vals) for i in range(len(vals))]
        xs = [100 * v for v in [vals[0], *vals]]
        name = LABEL.get(g.split("@")[0], g)
        ax.step(xs, ys, where="post", label=f"{name} (n={len(vals)})")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("test error (%)")
    ax.set_ylabel("cumulative share of networks")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    if title:
        ax.set_title(title, fontsize=10)
