"""The claims: what the seed says each network introduced, each as an experiment and a rule.

Every claim trains (or measures) variants built with the zoo's generic builders (``lenet``,
``vgg``, ...) or its named networks, at three budgets (see :data:`~cnnzoo.claims.core.BUDGETS`),
and judges the claim from intervals across seeds (:mod:`cnnzoo.claims.stats`). Accuracy
differences are paired by seed (the seed fixes the initialisation and the data order) and
printed in percentage points.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from cnnzoo.claims.core import Analysis, Claim, Finding, Job, by_group, register_claim
from cnnzoo.claims.stats import Interval, mean_interval, paired_difference

__all__: list[str] = []

_PP = {"scale": 100.0, "unit": " pp", "digits": 2}


# --------------------------------------------------------------------------- helpers


def _train(
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
        "max_steps": setting.get("max_steps"),
        "val_size": 0,  # every epoch evaluated on the test split, as the book does
        "seed": seed,
        "model_options": dict(options or {}),
        "checkpoint_every": 60.0,
    }
    if base is not None:
        config = recipe_config(base, model, **(length | fields))
    else:
        config = TrainConfig(model=model, **(length | fields))  # type: ignore[arg-type]
    return Job(key=key, group=group, seed=seed, train=config.to_dict())


def _seeds(setting: dict) -> range:
    return range(int(setting["seeds"]))


def _acc_table(groups: Sequence[tuple[str, str]], acc: dict) -> tuple[list[str], list[list[str]]]:
    cols = ["variant", "what it is", "runs", "test accuracy (mean, 95% interval)"]
    rows = []
    for g, what in groups:
        vals = acc.get(g, {})
        cell = mean_interval(list(vals.values())).format(4) if vals else "no result"
        rows.append([g, what, str(len(vals)), cell])
    return cols, rows


def _missing(statement: str, quantity: str, threshold: float = 0.0, claimed: str = ">") -> Finding:
    """A finding without data (its runs failed or have not run): inconclusive."""
    return Finding(
        statement, quantity, Interval(math.nan, -math.inf, math.inf, 0, "none"), threshold,
        claimed, **_PP,
    )  # fmt: skip


def _diff_finding(
    statement: str, quantity: str, a: dict[int, float] | None, b: dict[int, float] | None,
    threshold: float = 0.0, claimed: str = ">", **fmt: object,
) -> Finding:  # fmt: skip
    fmt = _PP | fmt
    if not a or not b or not set(a) & set(b):
        return _missing(statement, quantity, threshold, claimed)
    return Finding(statement, quantity, paired_difference(a, b), threshold, claimed, **fmt)  # type: ignore[arg-type]


def _bars(ax, names: Sequence[str], values: dict, ylabel: str) -> None:
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


# --------------------------------------------------------------------------- 1. AlexNet's tricks

_RELU, _SIG = {"act": "relu", "pool": "max"}, {"act": "sigmoid", "pool": "max"}
_ALEX_VARIANTS = {
    # group: (lenet options, augmentation, what it is)
    "modern": (_RELU | {"dropout": 0.5}, True, "ReLU, max pooling, dropout, augmentation"),
    "sigmoid": (_SIG | {"dropout": 0.5}, True, "modern, sigmoid instead of ReLU"),
    "avg-pool": (_RELU | {"pool": "avg", "dropout": 0.5}, True, "modern, average pooling"),
    "no-dropout": (_RELU | {"dropout": 0.0}, True, "modern without dropout"),
    "no-augment": (_RELU | {"dropout": 0.5}, False, "modern without augmentation"),
    "lenet-1998": (_SIG | {"pool": "avg", "dropout": 0.0}, False, "none of the four (reference)"),
}
_ALEX_TECHNIQUES = (
    ("ReLU", "sigmoid", "ReLU instead of sigmoid raises test accuracy"),
    ("max pooling", "avg-pool", "max instead of average pooling raises test accuracy"),
    ("dropout", "no-dropout", "dropout raises test accuracy"),
    ("augmentation", "no-augment", "augmentation (random crops and flips) raises test accuracy"),
)


def _alexnet_jobs(s: dict) -> list[Job]:
    jobs = []
    for group, (opts, aug, _) in _ALEX_VARIANTS.items():
        for seed in _seeds(s):
            jobs.append(
                _train(
                    f"{group}/seed{seed}",
                    group,
                    seed,
                    "lenet",
                    s,
                    opts,
                    batch_size=128,
                    optimizer="sgd",
                    lr=0.1,
                    momentum=0.9,
                    nesterov=True,
                    weight_decay=5e-4,
                    schedule="cosine",
                    warmup_epochs=0.5,
                    init="xavier",
                    crop_padding=2 if aug else 0,
                    hflip=aug,
                    recipe="claim:alexnet-techniques",
                )
            )
    return jobs


def _alexnet_rule(s: dict, results: dict) -> Analysis:
    acc = by_group(results, "test_acc")
    findings = [
        _diff_finding(
            statement, f"test accuracy, modern − without {tech}", acc.get("modern"), acc.get(g)
        )
        for tech, g, statement in _ALEX_TECHNIQUES
    ]
    cols, rows = _acc_table([(g, v[2]) for g, v in _ALEX_VARIANTS.items()], acc)

    def plot(fig) -> None:
        ax = fig.add_subplot(1, 1, 1)
        _bars(ax, list(_ALEX_VARIANTS), acc, "test accuracy")
        lows = [v for g in acc.values() for v in g.values()]
        if lows:
            ax.set_ylim(max(0.0, min(lows) - 0.05), min(1.0, max(lows) + 0.02))
        ax.set_title("LeNet-5 with and without each of AlexNet's techniques")

    return Analysis(findings, cols, rows, plot)


register_claim(
    Claim(
        id="alexnet-techniques",
        title="AlexNet's modern techniques, one at a time",
        sentence=(
            "AlexNet improved on LeNet with ReLU instead of the sigmoid, max pooling, dropout and "
            "image augmentation; each of them makes the network better."
        ),
        paper="Krizhevsky, Sutskever & Hinton, NeurIPS 2012",
        measured=(
            "LeNet-5's shapes with all four techniques ('modern') against the same network "
            "with one technique taken away; the same optimiser for all (SGD, Nesterov 0.9, "
            "peak rate 0.1 at batch 128, cosine, xavier init); test accuracy, paired by seed"
        ),
        settings={
            "smoke": {"seeds": 2, "epochs": 1, "train_subset": 128, "max_steps": 3},
            "cpu": {"seeds": 3, "epochs": 30, "train_subset": 5000},
            "paper": {"seeds": 5, "epochs": 30, "train_subset": None},
        },
        experiment=_alexnet_jobs,
        rule=_alexnet_rule,
        why_it_may_fail=(
            "dropout and augmentation fight overfitting; a network as small as LeNet on a "
            "short budget hardly overfits, so they may cost accuracy instead"
        ),
    )
)
