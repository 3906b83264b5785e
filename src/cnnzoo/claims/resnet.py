"""ResNet's skip connections against degradation (8) and vanishing gradients (9), and
ResNeXt's grouped blocks (10).

He, Zhang, Ren & Sun, CVPR 2016; Xie, Girshick, Dollár, Tu & He, CVPR 2017.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

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


# --------------------------------------------------------------------------- 8. degradation


def _degradation_jobs(s: dict) -> list[Job]:
    variants = {
        f"{kind}{d}": ("cifar_resnet", {"depth": d, "skip": kind == "resnet"})
        for kind in ("plain", "resnet")
        for d in s["depths"]
    }
    return fast_jobs(variants, s, label_smoothing=0.0, crop_padding=0, hflip=False)


def _train_error(r: dict) -> float | None:
    h = r.get("history") or []
    acc = h[-1].get("train_acc") if h else None
    return None if acc is None else 1.0 - acc


def _degradation_rule(s: dict, results: dict) -> Analysis:
    shallow, deep = s["depths"][0], s["depths"][-1]
    err = by_group(results, _train_error)
    acc = by_group(results, "test_acc")
    pp = {"scale": 100.0, "unit": " pp", "digits": 2}
    findings = [
        diff_finding(
            f"degradation: the deeper plain network trains worse (plain-{deep} vs plain-{shallow})",
            f"final training error, plain-{deep} − plain-{shallow}",
            err.get(f"plain{deep}"),
            err.get(f"plain{shallow}"),
            **pp,
        ),
        diff_finding(
            f"skip connections cure it: ResNet-{deep} trains better than plain-{deep}",
            f"final training error, plain-{deep} − ResNet-{deep}",
            err.get(f"plain{deep}"),
            err.get(f"resnet{deep}"),
            **pp,
        ),
        diff_finding(
            f"with skips, depth helps: ResNet-{deep} trains better than ResNet-{shallow}",
            f"final training error, ResNet-{shallow} − ResNet-{deep}",
            err.get(f"resnet{shallow}"),
            err.get(f"resnet{deep}"),
            **pp,
        ),
    ]
    cols = ["network", "runs", "final training error [95%]", "test accuracy [95%]"]
    rows = []
    groups = [f"{k}{d}" for k in ("plain", "resnet") for d in s["depths"]]
    for g in groups:
        e, a = list(err.get(g, {}).values()), list(acc.get(g, {}).values())
        rows.append([g, str(len(e)), mean_interval(e).format(4) if e else "no result",
                     mean_interval(a).format(4) if a else "no result"])  # fmt: skip

    def plot(fig) -> None:
        axes = [fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)]
        for ax, kind in zip(axes, ("plain", "resnet"), strict=True):
            for d in s["depths"]:
                curves = [
                    [1 - h["train_acc"] for h in (r["result"] or {}).get("history", [])]
                    for r in results.values()
                    if r["group"] == f"{kind}{d}" and r.get("result")
                ]
                curves = [c for c in curves if c]
                if not curves:
                    continue
                n = min(map(len, curves))
                mean = [sum(c[i] for c in curves) / len(curves) for i in range(n)]
                ax.plot(range(1, n + 1), [100 * m for m in mean], marker="o", label=f"{kind}-{d}")
            ax.set_xlabel("epoch")
            ax.set_ylabel("training error (%)")
            ax.set_title("plain" if kind == "plain" else "ResNet")
            ax.legend()
            ax.grid(alpha=0.3)

    return Analysis(findings, cols, rows, plot)


register_claim(
    Claim(
        id="resnet-degradation",
        title="ResNet: skip connections cure the degradation of deep plain networks",
        sentence=(
            "Deeper plain networks train worse than shallower ones (degradation); with skip "
            "connections the deeper network trains better, not worse."
        ),
        paper="He, Zhang, Ren & Sun, CVPR 2016 (Fig. 6)",
        measured=(
            "the paper's CIFAR networks, plain and residual, at two depths, under the fast "
            "recipe without augmentation or label smoothing; training error over the last epoch "
            "(as in the paper's Fig. 6), paired by seed"
        ),
        settings={
            "smoke": SHORT["smoke"] | {"depths": [8, 14]},
            "cpu": {
                "seeds": 3,
                "epochs": 3,
                "train_subset": 4000,
                "test_subset": 2000,
                "depths": [20, 56],
            },
            "paper": {"seeds": 3, "epochs": 30, "train_subset": None, "depths": [20, 56, 110]},
        },
        experiment=_degradation_jobs,
        rule=_degradation_rule,
        why_it_may_fail=(
            "on a short budget the deep plain network may not yet show its higher floor, and "
            "the deep residual one has not had the time to pass the shallow one"
        ),
    )
)


# --------------------------------------------------------------------------- 9. gradients


def _grad_jobs(s: dict) -> list[Job]:
    jobs = []
    for kind in ("plain", "resnet"):
        model = f"{kind}{s['depth']}"
        for seed in seeds(s):
            args = {"model": model, "seed": seed, "batch_size": s["batch_size"],
                    "steps": s["steps"], "lr": s["lr"], "data": "fashion-mnist"}  # fmt: skip
            jobs.append(Job(f"{kind}/seed{seed}", kind, seed, kind="probe",
                            probe="gradient_norms", args=args))  # fmt: skip
    return jobs


def _attenuation(norms: list[float]) -> float | None:
    """log10 of (median gradient norm of the first third of the layers / of the last third)."""
    import statistics

    k = max(1, len(norms) // 3)
    first, last = statistics.median(norms[:k]), statistics.median(norms[-k:])
    if first <= 0 or last <= 0:
        return None
    return math.log10(first / last)


def _abs(x: float | None) -> float | None:
    return None if x is None else abs(x)


def _grad_rule(s: dict, results: dict) -> Analysis:
    when = {"at_init": "at initialisation", "after": f"after {s['steps']} SGD steps"}
    att = {w: by_group(results, lambda r, w=w: _attenuation(r[w])) for w in when}
    spread = {w: by_group(results, lambda r, w=w: _abs(_attenuation(r[w]))) for w in when}
    d = s["depth"]
    findings = [
        diff_finding(
            f"{label}, ResNet-{d}'s first and last layers get gradients of the same order, "
            f"where plain-{d}'s explode or vanish",
            "|log10(first-third / last-third gradient norm)|, plain − ResNet",
            spread[w].get("plain"),
            spread[w].get("resnet"),
            scale=1.0,
            unit="",
            digits=2,
        )
        for w, label in when.items()
    ]
    cols = ["network", "when", "log10(first / last third) [95%]", "runs"]
    rows = []
    for kind in ("plain", "resnet"):
        for w, label in when.items():
            vals = list(att[w].get(kind, {}).values())
            rows.append([f"{kind}-{d}", label, mean_interval(vals).format(2) if vals else
                         "no result", str(len(vals))])  # fmt: skip

    def plot(fig) -> None:
        for i, (w, label) in enumerate(when.items()):
            ax = fig.add_subplot(1, 2, i + 1)
            for kind, colour in (("plain", "#d62728"), ("resnet", "#1f77b4")):
                for r in results.values():
                    if r["group"] == kind and r.get("result"):
                        ys = r["result"][w]
                        ax.plot(range(1, len(ys) + 1), ys, color=colour, alpha=0.6,
                                label=f"{kind}-{d}" if r["seed"] == 0 else None)  # fmt: skip
            ax.set_yscale("log")
            ax.set_xlabel("weight layer (input to output)")
            ax.set_ylabel("gradient norm")
            ax.set_title(label)
            ax.legend()
            ax.grid(alpha=0.3)

    notes = [
        "The table keeps the sign: above 0 the first layers get larger gradients than the last "
        "(exploding towards the input), below 0 smaller (vanishing)."
    ]
    return Analysis(findings, cols, rows, plot, notes)


register_claim(
    Claim(
        id="resnet-gradients",
        title="ResNet: skip connections against vanishing gradients",
        sentence=(
            "Skip connections counteract the vanishing and exploding gradients of very deep "
            "networks: the gradient reaches the first layers undiminished."
        ),
        paper="He, Zhang, Ren & Sun, CVPR 2016",
        measured=(
            "the gradient norm of every weight layer of plain-110 and ResNet-110 on a batch of "
            "real images, at initialisation and after a few SGD steps (no trainer, no "
            "schedule); the log ratio of the first third's median norm to the last third's: "
            "far from 0 either way (exploding or vanishing) against near 0"
        ),
        settings={
            "smoke": {"seeds": 2, "depth": 20, "batch_size": 16, "steps": 2, "lr": 0.05},
            "cpu": {"seeds": 3, "depth": 110, "batch_size": 128, "steps": 20, "lr": 0.05},
            "paper": {"seeds": 5, "depth": 110, "batch_size": 128, "steps": 100, "lr": 0.1},
        },
        experiment=_grad_jobs,
        rule=_grad_rule,
        why_it_may_fail=(
            "with batch norm the plain network's gradients may not vanish at all - He et al. "
            "themselves found healthy gradient norms in their plain networks and blamed the "
            "degradation on optimisation, not on vanishing gradients"
        ),
    )
)


# --------------------------------------------------------------------------- 10. ResNeXt


def _anynet(widths: Sequence[int], depths: Sequence[int], b: float, g: int | None) -> dict:
    """An AnyNet config for 28x28 images: stem 24 (stride 2), first stage at stride 1."""
    stages = [
        {
            "depth": d,
            "width": w,
            "stride": 1 if i == 0 else 2,
            "bottleneck_ratio": b,
            "group_width": g or round(w / b),
        }
        for i, (w, d) in enumerate(zip(widths, depths, strict=True))
    ]
    return {"config": {"stem_width": 24, "se_ratio": 0.0, "stages": stages}}


_RESNEXT = {
    "ResNet bottleneck (1 group)": ("anynet", _anynet((64, 128, 256), (2, 3, 3), 4.0, None)),
    "ResNeXt (groups of 4)": ("anynet", _anynet((64, 128, 256), (2, 3, 3), 2.0, 4)),
}


def _resnext_rule(s: dict, results: dict) -> Analysis:
    acc = by_group(results, "test_acc")
    res, nxt = list(_RESNEXT)
    _, f_res = variant_cost(*_RESNEXT[res])
    _, f_nxt = variant_cost(*_RESNEXT[nxt])
    findings = [
        ratio_finding(
            "the two networks cost about the same (within 15%)",
            "multiply-adds, ResNeXt / ResNet",
            f_nxt,
            f_res,
            1.15,
            "<",
        ),
        diff_finding(
            "grouped multi-branch blocks are more accurate at equal cost",
            "test accuracy, ResNeXt − ResNet",
            acc.get(nxt),
            acc.get(res),
        ),
    ]
    speed = speed_of(results)
    if speed is None:
        findings.append(
            missing_finding(
                "grouped convolutions run slower per multiply-add",
                "ratio",
                1.0,
                "<",
                scale=1.0,
                unit="x",
            )
        )
    else:
        findings.append(
            Finding(
                "... but grouped convolutions run slower per multiply-add on this machine",
                "multiply-adds per second, ResNeXt / ResNet",
                madd_rate_ratio(speed, nxt, res),
                1.0,
                "<",
                unit="x",
            )
        )
    cols, rows = cost_rows(_RESNEXT, acc)
    if speed is not None:
        cols.append("training images/s")
        for row, name in zip(rows, _RESNEXT, strict=True):
            ips = next(iter(speed["variants"][name]["images_per_s"].values()))
            row.append(mean_interval(ips).format(1))

    def plot(fig) -> None:
        ax = fig.add_subplot(1, 2, 1)
        bars(ax, list(_RESNEXT), acc, "test accuracy")
        vals = [v for g in acc.values() for v in g.values()]
        if vals:
            ax.set_ylim(max(0.0, min(vals) - 0.03), min(1.0, max(vals) + 0.02))
        if speed is not None:
            ax2 = fig.add_subplot(1, 2, 2)
            for i, name in enumerate(_RESNEXT):
                v = speed["variants"][name]
                ips = next(iter(v["images_per_s"].values()))
                ax2.bar(i, mean_interval(ips).value * v["mult_adds"] * 3 * 2 / 1e9)
            ax2.set_xticks(range(len(_RESNEXT)), list(_RESNEXT), rotation=15, ha="right")
            ax2.set_ylabel("achieved training GFLOP/s")

    return Analysis(findings, cols, rows, plot)


register_claim(
    Claim(
        id="resnext-groups",
        title="ResNeXt: grouped multi-branch blocks at equal cost",
        sentence=(
            "ResNeXt combines skip connections with multi-branch (grouped) convolutions: at the "
            "same cost it is more accurate than ResNet, at some cost in speed."
        ),
        paper="Xie, Girshick, Dollár, Tu & He, CVPR 2017",
        measured=(
            "two AnyNetX networks of the same widths and depths for 28x28 images: ResNet's "
            "bottleneck (ratio 4, one group) and ResNeXt's (ratio 2, groups of 4 channels), "
            "about the same multiply-adds and parameters; fast recipe; test accuracy paired by "
            "seed, and training throughput per multiply-add measured alone on this machine"
        ),
        settings={
            "smoke": speed_settings(SHORT["smoke"], 4, 2, 0.05, min_iters=1),
            "cpu": speed_settings(
                {"seeds": 3, "epochs": 3, "train_subset": 8000, "test_subset": 5000}, 64, 5, 2.0
            ),
            "paper": speed_settings({"seeds": 5, "epochs": 30, "train_subset": None}, 128, 5, 5),
        },
        experiment=lambda s: [*fast_jobs(_RESNEXT, s), speed_job(_RESNEXT, s)],
        rule=_resnext_rule,
    )
)
