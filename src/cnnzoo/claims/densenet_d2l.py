"""DenseNet's parameters, memory and speed (11) and the book's table of every D2L network (12).

Huang, Liu, van der Maaten & Weinberger, CVPR 2017; Zhang, Lipton, Li & Smola, Dive into
Deep Learning, ch. 7-8.
"""

from __future__ import annotations

from cnnzoo.claims.common import (
    SHORT,
    bars,
    cost_rows,
    diff_finding,
    fast_jobs,
    madd_rate_ratio,
    ratio_finding,
    seeds,
    speed_job,
    speed_of,
    speed_settings,
    train_job,
    variant_cost,
)
from cnnzoo.claims.core import (
    Analysis,
    Claim,
    Finding,
    Job,
    by_group,
    missing_finding,
    register_claim,
)
from cnnzoo.claims.stats import mean_interval

__all__: list[str] = []


# --------------------------------------------------------------------------- 11. DenseNet

_DENSE = {
    "DenseNet-BC (k=12, 3x6 layers)": ("densenet", {}),
    "ResNet-20": ("cifar_resnet", {"depth": 20}),
}


def _densenet_rule(s: dict, results: dict) -> Analysis:
    acc = by_group(results, "test_acc")
    dn, rn = list(_DENSE)
    p_dn, _ = variant_cost(*_DENSE[dn])
    p_rn, _ = variant_cost(*_DENSE[rn])
    findings = [
        ratio_finding(
            "DenseNet has fewer parameters", "parameters, DenseNet / ResNet", p_dn, p_rn, 1.0, "<"
        ),
        diff_finding(
            "... for comparable accuracy (within 1 point)",
            "test accuracy, DenseNet − ResNet",
            acc.get(dn),
            acc.get(rn),
            threshold=-0.01,
        ),
    ]
    speed = speed_of(results)
    if speed is None:
        x = {"scale": 1.0, "unit": "x"}
        findings += [
            missing_finding("more memory", "ratio", 1.0, **x),
            missing_finding("slower", "ratio", 1.0, "<", **x),
        ]
    else:
        v = speed["variants"]
        findings += [
            ratio_finding(
                "DenseNet keeps more activations for the backward pass (more memory)",
                "saved activation bytes per image, DenseNet / ResNet",
                v[dn]["saved_bytes_per_image"],
                v[rn]["saved_bytes_per_image"],
                1.0,
                ">",
            ),
            Finding(
                "DenseNet runs slower per multiply-add (harder to parallelise)",
                "multiply-adds per second, DenseNet / ResNet",
                madd_rate_ratio(speed, dn, rn),
                1.0,
                "<",
                unit="x",
            ),
        ]
    cols, rows = cost_rows(_DENSE, acc)
    if speed is not None:
        cols += ["activation MB / image", "training images/s"]
        for row, name in zip(rows, _DENSE, strict=True):
            x = speed["variants"][name]
            ips = next(iter(x["images_per_s"].values()))
            row += [f"{x['saved_bytes_per_image'] / 1e6:.2f}", mean_interval(ips).format(1)]

    def plot(fig) -> None:
        ax = fig.add_subplot(1, 2, 1)
        bars(ax, list(_DENSE), acc, "test accuracy")
        vals = [v for g in acc.values() for v in g.values()]
        if vals:
            ax.set_ylim(max(0.0, min(vals) - 0.03), min(1.0, max(vals) + 0.02))
        if speed is not None:
            ax2 = fig.add_subplot(1, 2, 2)
            names = list(_DENSE)
            ax2.bar(range(2), [speed["variants"][n]["saved_bytes_per_image"] / 1e6 for n in names])
            ax2.set_xticks(range(2), names, rotation=15, ha="right")
            ax2.set_ylabel("activations kept for backward (MB / image)")

    return Analysis(findings, cols, rows, plot)


register_claim(
    Claim(
        id="densenet",
        title="DenseNet: fewer parameters, more memory, slower",
        sentence=(
            "DenseNet connects every layer to all earlier ones: it needs fewer parameters than "
            "ResNet for comparable accuracy, but keeps more feature maps in memory and is "
            "harder to parallelise."
        ),
        paper="Huang, Liu, van der Maaten & Weinberger, CVPR 2017",
        measured=(
            "the paper's CIFAR DenseNet-BC (growth rate 12, three dense blocks of 6 layers) "
            "against ResNet-20, fast recipe: parameters, test accuracy paired by seed; the "
            "bytes autograd keeps for the backward pass and the training throughput per "
            "multiply-add, measured alone on this machine"
        ),
        settings={
            "smoke": speed_settings(SHORT["smoke"], 4, 2, 0.05, min_iters=1),
            "cpu": speed_settings(
                {"seeds": 3, "epochs": 3, "train_subset": 8000, "test_subset": 5000}, 64, 5, 2.0
            ),
            "paper": speed_settings({"seeds": 5, "epochs": 30, "train_subset": None}, 128, 5, 5),
        },
        experiment=lambda s: [*fast_jobs(_DENSE, s), speed_job(_DENSE, s)],
        rule=_densenet_rule,
    )
)


# --------------------------------------------------------------------------- 12. the book's table

#: The test accuracies Dive into Deep Learning prints for its networks on Fashion-MNIST
#: (chapters 7-8; a range where the book's editions print different numbers).
D2L_BOOK_ACCURACY: dict[str, tuple[float, float]] = {
    "lenet5": (0.789, 0.789), "lenet5_bn": (0.836, 0.836), "alexnet_d2l": (0.882, 0.882),
    "vgg_d2l": (0.922, 0.922), "nin": (0.785, 0.867), "googlenet_d2l": (0.883, 0.883),
    "resnet18_d2l": (0.918, 0.918), "densenet_d2l": (0.821, 0.893),
    "regnetx32_d2l": (0.908, 0.908),
}  # fmt: skip


def _d2l_jobs(s: dict) -> list[Job]:
    extra = {"test_subset": s.get("test_subset")}
    if s.get("batch_size"):
        extra["batch_size"] = s["batch_size"]
    return [
        train_job(f"{m}/seed{seed}", m, seed, m, s, base="d2l", **extra)
        for m in s["networks"]
        for seed in seeds(s)
    ]


def _d2l_rule(s: dict, results: dict) -> Analysis:
    from cnnzoo.claims.stats import bootstrap_interval, spearman

    acc = by_group(results, "test_acc")
    nets = [m for m in s["networks"] if acc.get(m)]
    mean = {m: sum(acc[m].values()) / len(acc[m]) for m in nets}
    pairs = [(mean[m], sum(D2L_BOOK_ACCURACY[m]) / 2) for m in nets]
    findings = []
    if len(pairs) >= 3:
        findings.append(
            Finding(
                "the book's ranking of its networks holds (rank correlation with its table)",
                "Spearman correlation, measured vs printed accuracy (bootstrap over networks)",
                bootstrap_interval(spearman, pairs),
                0.0,
                ">",
                digits=2,
            )
        )
    else:
        findings.append(missing_finding("the book's ranking holds", "Spearman correlation"))
    if s["budget"] == "paper":
        for m in s["networks"]:
            low = D2L_BOOK_ACCURACY[m][0]
            if not acc.get(m):
                findings.append(missing_finding(f"{m} reaches the book's accuracy", "accuracy"))
                continue
            findings.append(
                Finding(
                    f"{m} reaches the book's accuracy ({low:.3f}, within 2 points)",
                    f"{m} test accuracy",
                    mean_interval(list(acc[m].values())),
                    low - 0.02,
                    ">",
                    digits=3,
                )
            )
    cols = ["network", "runs", "test accuracy [95%]", "the book prints", "difference (pp)"]
    rows = []
    for m in s["networks"]:
        lo, hi = D2L_BOOK_ACCURACY[m]
        book = f"{lo:.3f}" if lo == hi else f"{lo:.3f}-{hi:.3f}"
        vals = list(acc.get(m, {}).values())
        if not vals:
            rows.append([m, "0", "no result", book, ""])
            continue
        iv = mean_interval(vals)
        diff = 100 * (iv.value - (lo + hi) / 2)
        rows.append([m, str(len(vals)), iv.format(4), book, f"{diff:+.1f}"])
    notes = []
    if s["budget"] != "paper":
        notes.append(
            f"Budget {s['budget']}: {s['epochs']} epoch(s) on {s.get('train_subset') or 'all'} "
            f"training images instead of the book's 10 epochs on 60,000, so the accuracies are "
            f"far below the book's; only the ranking is compared. The paper budget compares "
            f"each number."
        )

    def plot(fig) -> None:
        ax = fig.add_subplot(1, 1, 1)
        for m in nets:
            lo, hi = D2L_BOOK_ACCURACY[m]
            ax.errorbar((lo + hi) / 2, mean[m], xerr=[[(hi - lo) / 2], [(hi - lo) / 2]],
                        marker="o", capsize=3)  # fmt: skip
            ax.annotate(m, ((lo + hi) / 2, mean[m]), fontsize=8, xytext=(4, 4),
                        textcoords="offset points")  # fmt: skip
        ax.set_xlabel("test accuracy the book prints")
        ax.set_ylabel(f"test accuracy measured ({s['budget']} budget)")
        ax.grid(alpha=0.3)

    return Analysis(findings, cols, rows, plot, notes)


_D2L_NETS = list(D2L_BOOK_ACCURACY)

register_claim(
    Claim(
        id="d2l-table",
        title="The book's table: every D2L network under the book's procedure",
        sentence=(
            "Each network of the book's chapters 7-8 improves on its predecessors: trained "
            "the book's way on Fashion-MNIST they reach the test accuracies the book prints."
        ),
        paper="Zhang, Lipton, Li & Smola, Dive into Deep Learning, ch. 7-8",
        measured=(
            "the book's nine networks under the d2l recipe (plain SGD at the book's rate for "
            "each, batch 128, xavier init, the book's image sizes 28/96/224); test accuracy "
            "against the book's printed numbers: their rank correlation, and at the paper "
            "budget each number"
        ),
        settings={
            "smoke": SHORT["smoke"]
            | {
                "seeds": 1,
                "networks": ["lenet5", "lenet5_bn", "regnetx32_d2l"],
                "test_subset": 32,
                "batch_size": 16,
            },
            "cpu": {
                "seeds": 1,
                "epochs": 1,
                "train_subset": 5000,
                "test_subset": 2000,
                "networks": _D2L_NETS,
            },
            "paper": {
                "seeds": 3,
                "epochs": 10,
                "train_subset": None,
                "test_subset": None,
                "networks": _D2L_NETS,
            },
        },
        experiment=_d2l_jobs,
        rule=_d2l_rule,
        why_it_may_fail=(
            "at the cpu budget (one epoch on 5,000 images) the slow starters of the book's "
            "procedure - the plain networks at rate 0.01 - have barely begun"
        ),
    )
)
