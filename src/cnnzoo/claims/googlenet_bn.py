"""GoogLeNet's parallel branches at low cost (6) and batch normalisation (7).

Szegedy et al., CVPR 2015; Ioffe & Szegedy, ICML 2015.
"""

from __future__ import annotations

import functools

from cnnzoo.claims.common import (
    SHORT,
    cost_rows,
    diff_finding,
    fast_jobs,
    match_width,
    point,
    ratio_finding,
    seeds,
    train_job,
    variant_cost,
)
from cnnzoo.claims.core import (
    Analysis,
    Claim,
    Job,
    by_group,
    register_claim,
)
from cnnzoo.claims.stats import mean_interval

__all__: list[str] = []


# --------------------------------------------------------------------------- 6. GoogLeNet

_VGG_SMALL = {"blocks": [[2, 32], [2, 64], [2, 128]], "hidden": 256, "pool_size": None,
              "input_size": 28}  # fmt: skip


@functools.cache
def _googlenet_variants() -> dict[str, tuple[str, dict]]:
    bn = {"batch_norm": True}
    _, target = variant_cost("inception_net", bn)
    one = match_width("inception_net", bn | {"branches": "3x3"}, "flops", target, "width")
    return {
        "GoogLeNet (Inception)": ("inception_net", bn),
        "VGG": ("vgg", _VGG_SMALL),
        "NiN": ("nin_net", bn),
        "one 3x3 branch, same cost": ("inception_net", one),
    }


def _googlenet_rule(s: dict, results: dict) -> Analysis:
    v = _googlenet_variants()
    acc = by_group(results, "test_acc")
    g, vgg, nin, one = list(v)
    _, f_g = variant_cost(*v[g])
    _, f_one = variant_cost(*v[one])
    _, f_g224 = variant_cost("googlenet", {}, (3, 224, 224))
    _, f_vgg224 = variant_cost("vgg16", {}, (3, 224, 224))
    findings = [
        ratio_finding(
            "GoogLeNet is far cheaper than VGG (the papers' ImageNet networks, 224x224)",
            "multiply-adds, GoogLeNet / VGG-16",
            f_g224,
            f_vgg224,
            1.0,
            "<",
        ),
        diff_finding(
            "... and more accurate than VGG at a similar small cost",
            "test accuracy, GoogLeNet − VGG",
            acc.get(g),
            acc.get(vgg),
        ),
        diff_finding(
            "... and more accurate than NiN at a similar small cost",
            "test accuracy, GoogLeNet − NiN",
            acc.get(g),
            acc.get(nin),
        ),
        diff_finding(
            "the parallel branches beat one kernel size at equal cost",
            "test accuracy, Inception − one 3x3 branch",
            acc.get(g),
            acc.get(one),
        ),
    ]
    cols, rows = cost_rows(v, acc)
    notes = [
        f"The one-branch network is widened to {f_one / 1e6:.2f}M multiply-adds against the "
        f"Inception network's {f_g / 1e6:.2f}M ({100 * (f_one / f_g - 1):+.1f}%).",
        "At 28x28 the three small networks cost about the same (the table); the cost claim is "
        "the papers' own, at ImageNet scale, counted by cnnzoo's cost counter.",
    ]

    def plot(fig) -> None:
        ax = fig.add_subplot(1, 1, 1)
        for name, (model, opts) in v.items():
            point(ax, variant_cost(model, opts)[1] / 1e6, acc.get(name), name)
        ax.set_xlabel("multiply-adds per image (millions)")
        ax.set_ylabel("test accuracy")
        ax.legend()
        ax.grid(alpha=0.3)
        ax.set_title("accuracy against cost (28x28)")

    return Analysis(findings, cols, rows, plot, notes)


register_claim(
    Claim(
        id="googlenet-cost",
        title="GoogLeNet: cheaper and more accurate, thanks to parallel branches",
        sentence=(
            "GoogLeNet's Inception blocks look at the image at several granularities through "
            "parallel branches of different kernel sizes; the network is cheaper than its "
            "predecessors and more accurate."
        ),
        paper="Szegedy et al., CVPR 2015",
        measured=(
            "the multiply-adds of torchvision's GoogLeNet and VGG-16 at 224x224; then small "
            "networks for 28x28 images of about the same cost, all with batch norm, under the "
            "fast recipe: a GoogLeNet of three Inception blocks, a three-block VGG, a "
            "three-stage NiN, and the GoogLeNet with each Inception block replaced by one 3x3 "
            "convolution widened to the same multiply-adds; test accuracy, paired by seed"
        ),
        settings=SHORT
        | {
            "cpu": {"seeds": 3, "epochs": 3, "train_subset": 8000, "test_subset": 5000},
            "paper": {"seeds": 5, "epochs": 30, "train_subset": None},
        },
        experiment=lambda s: fast_jobs(_googlenet_variants(), s),
        rule=_googlenet_rule,
    )
)


# --------------------------------------------------------------------------- 7. batch norm


def _bn_jobs(s: dict) -> list[Job]:
    jobs = []
    for model in ("lenet5", "lenet5_bn"):
        for lr in s["lrs"]:
            for seed in seeds(s):
                jobs.append(
                    train_job(
                        f"{model}/lr{lr}/seed{seed}",
                        f"{model}@{lr}",
                        seed,
                        model,
                        s,
                        base="d2l",
                        lr=float(lr),
                    )
                )
    return jobs


def _first_epoch_acc(r: dict) -> float | None:
    h = r.get("history") or []
    return h[0].get("test_acc") if h else None


def _bn_rule(s: dict, results: dict) -> Analysis:
    lrs = [float(x) for x in s["lrs"]]
    acc = by_group(results, "test_acc")
    first = by_group(results, _first_epoch_acc)
    book, high = s["book_lr"], max(lrs)
    findings = [
        diff_finding(
            f"with batch norm LeNet learns faster (accuracy after the first epoch, rate {book})",
            "first-epoch test accuracy, BN − plain",
            first.get(f"lenet5_bn@{book}"),
            first.get(f"lenet5@{book}"),
        ),
        diff_finding(
            f"with batch norm LeNet tolerates a higher rate ({high})",
            f"final test accuracy at rate {high}, BN − plain",
            acc.get(f"lenet5_bn@{high}"),
            acc.get(f"lenet5@{high}"),
        ),
    ]
    cols = ["learning rate", "LeNet-5", "BN-LeNet-5", "diverged runs (plain / BN)"]
    rows = []
    for lr in s["lrs"]:
        cells = [str(lr)]
        for m in ("lenet5", "lenet5_bn"):
            vals = list(acc.get(f"{m}@{lr}", {}).values())
            cells.append(mean_interval(vals).format(4) if vals else "no result")
        div = [
            sum(1 for r in results.values()
                if r["group"] == f"{m}@{lr}" and r["status"] == "diverged")
            for m in ("lenet5", "lenet5_bn")
        ]  # fmt: skip
        rows.append([*cells, f"{div[0]} / {div[1]}"])

    def plot(fig) -> None:
        ax = fig.add_subplot(1, 1, 1)
        for m, label in (("lenet5", "LeNet-5"), ("lenet5_bn", "BN-LeNet-5")):
            xs, ys, lo, hi = [], [], [], []
            for lr in s["lrs"]:
                vals = list(acc.get(f"{m}@{lr}", {}).values())
                if vals:
                    iv = mean_interval(vals)
                    xs.append(float(lr))
                    ys.append(iv.value)
                    lo.append(iv.value - iv.low if iv.known else 0)
                    hi.append(iv.high - iv.value if iv.known else 0)
            ax.errorbar(xs, ys, yerr=[lo, hi], marker="o", capsize=4, label=label)
        ax.set_xscale("log")
        ax.set_xlabel("learning rate (plain SGD, batch 128)")
        ax.set_ylabel("final test accuracy")
        ax.legend()
        ax.grid(alpha=0.3)

    return Analysis(findings, cols, rows, plot)


register_claim(
    Claim(
        id="batchnorm",
        title="Batch normalisation: faster training, higher learning rates",
        sentence=(
            "Batch normalisation (ResNet's, and the book's BN-LeNet) makes networks train "
            "faster and tolerate much higher learning rates."
        ),
        paper="Ioffe & Szegedy, ICML 2015",
        measured=(
            "the book's LeNet-5 and BN-LeNet-5 under the book's procedure (plain SGD, constant "
            "rate, batch 128, xavier init) at several learning rates; test accuracy after the "
            "first epoch and at the end, paired by seed"
        ),
        settings={
            "smoke": SHORT["smoke"] | {"lrs": [0.9, 9.0], "book_lr": 0.9},
            "cpu": {
                "seeds": 3,
                "epochs": 3,
                "train_subset": 10000,
                "lrs": [0.1, 0.9, 3.0, 9.0],
                "book_lr": 0.9,
            },
            "paper": {
                "seeds": 5,
                "epochs": 10,
                "train_subset": None,
                "lrs": [0.1, 0.3, 0.9, 3.0, 9.0],
                "book_lr": 0.9,
            },
        },
        experiment=_bn_jobs,
        rule=_bn_rule,
    )
)
