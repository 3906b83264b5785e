"""The ``regnet-rule`` claim: in the best networks of the AnyNet spaces, block widths grow with
the block index and follow the RegNet rule (a quantised line: Radosavovic et al., "Designing
Network Design Spaces", CVPR 2020, Sec. 4) — the fitted w_0, w_a, w_m and the quality of the fit,
and RegNetX's good region."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

from cnnzoo.claims.anynet_common import (
    LABEL,
    PAPER,
    budget_setting,
    mean_gap,
    pct,
    sampled_networks,
    space_errors,
    space_jobs,
)
from cnnzoo.claims.core import Analysis, Claim, Finding, Job, register_claim
from cnnzoo.claims.core import missing_finding as _missing
from cnnzoo.claims.stats import (
    bootstrap_interval,
    median,
    spearman,
    two_sample_bootstrap,
)

__all__: list[str] = []


# --------------------------------------------------------------------------- 4. the RegNet rule


class _Fit(NamedTuple):
    """Both fits of one network's block widths: the least-squares line (``WidthFit``) and the
    paper's quantised RegNet staircase (``RegNetFit``)."""

    line: Any
    regnet: Any


def _fits(s: dict, spaces: Sequence[str]) -> dict[str, dict[int, _Fit]]:
    from cnnzoo.designspace.analysis import block_widths, fit_regnet_widths, fit_widths

    out: dict[str, dict[int, _Fit]] = {}
    for sp in spaces:
        out[sp] = {}
        for i, c in enumerate(sampled_networks(s, sp)):
            w = block_widths(c.config.to_dict())
            out[sp][i] = _Fit(fit_widths(w), fit_regnet_widths(w))
    return out


def _regnet_jobs(s: dict) -> list[Job]:
    return space_jobs(s, s["free_widths"] + s["sorted_widths"] + [s["regnet"]])


def _growth(fit) -> float:
    """How much wider the last block is than the first (log ratio)."""
    return math.log(fit.widths[-1] / fit.widths[0])


def _best_vs_rest(errs: dict[int, float], frac: float) -> tuple[list[int], list[int]]:
    order = sorted(errs, key=lambda i: (errs[i], i))
    k = max(1, round(len(order) * frac))
    return order[:k], order[k:]


def _regnet_rule(s: dict, results: dict) -> Analysis:
    errs = space_errors(results)
    free, ordered, reg = s["free_widths"], s["sorted_widths"], s["regnet"]
    fits = _fits(s, free + ordered)
    frac = float(s["best_share"])
    # 1. in the spaces whose widths are free, networks whose widths grow more have lower error
    pairs = [(_growth(fits[sp][i].line), e) for sp in free for i, e in errs.get(sp, {}).items()]
    q1 = "Spearman ρ, width growth (last / first block) vs error, " + "+".join(
        LABEL.get(sp, sp) for sp in free
    )
    fmt = {"scale": 1.0, "unit": "", "digits": 3}
    s1 = "the better networks' widths grow with depth (free-width spaces)"
    f1 = (
        Finding(s1, q1, bootstrap_interval(spearman, pairs), 0.0, "<", **fmt)  # type: ignore[arg-type]
        if len(pairs) >= 3
        else _missing(s1, q1, 0.0, "<", **fmt)
    )
    # 2. in the spaces with sorted widths, the best networks' widths are closer to the RegNet
    # rule: the paper's fit, a quantised linear staircase (and, as a note, a plain line)
    best_fit: dict[str, list[float]] = {"regnet": [], "line": []}
    rest_fit: dict[str, list[float]] = {"regnet": [], "line": []}
    for sp in ordered:
        top, rest = _best_vs_rest(errs.get(sp, {}), frac)
        for kind in ("regnet", "line"):
            best_fit[kind] += [getattr(fits[sp][i], kind).e_fit for i in top]
            rest_fit[kind] += [getattr(fits[sp][i], kind).e_fit for i in rest]
    # fits whose w_m sits at the top of the searched range: steps wider than the rule allows
    capped = {"best": [0, 0], "rest": [0, 0]}
    for sp in ordered:
        for what, ids in zip(("best", "rest"), _best_vs_rest(errs.get(sp, {}), frac), strict=True):
            capped[what][0] += sum(fits[sp][i].regnet.w_m >= 2.999 for i in ids)
            capped[what][1] += len(ids)
    enough = len(best_fit["regnet"]) >= 2 and len(rest_fit["regnet"]) >= 2
    gaps = {
        kind: two_sample_bootstrap(mean_gap, best_fit[kind], rest_fit[kind])
        for kind in ("regnet", "line")
        if enough
    }
    spaces = "+".join(LABEL.get(sp, sp) for sp in ordered)
    s2 = (
        f"the best {100 * frac:.0f}% of networks are closer to the RegNet rule (quantized linear "
        "widths) than the rest"
    )
    q2 = f"mean RegNet-fit error e_fit, best − rest, {spaces}"
    fmt2 = {"scale": 1.0, "unit": "", "digits": 3}
    f2 = (
        Finding(s2, q2, gaps["regnet"], 0.0, "<", **fmt2)  # type: ignore[arg-type]
        if enough
        else _missing(s2, q2, 0.0, "<", **fmt2)
    )
    # what the best networks look like, against the paper's good region
    pooled = [(e, sp, i) for sp in free + ordered for i, e in errs.get(sp, {}).items()]
    pooled.sort()
    best = pooled[: max(1, round(len(pooled) * frac))] if pooled else []
    cols = ["networks", "count", "median w_0", "median w_a", "median w_m", "median e_fit",
            "median e_fit (line)", "median depth", "median error"]  # fmt: skip
    rows = []
    for what, group in (
        (f"best {100 * frac:.0f}% of {'+'.join(LABEL[sp] for sp in free + ordered)}", best),
        ("all of them", pooled),
    ):
        if not group:
            continue
        ff = [fits[sp][i].regnet for _, sp, i in group]
        w_m = [f.w_m for f in ff if math.isfinite(f.w_m)]
        w_m_cell = f"{median(w_m):.2f}" if w_m else "—"
        if len(w_m) < len(ff):
            w_m_cell += f" ({len(w_m)} with steps)"
        rows.append([
            what, str(len(group)),
            f"{median([f.w_0 for f in ff]):.0f}", f"{median([f.w_a for f in ff]):.1f}", w_m_cell,
            f"{median([f.e_fit for f in ff]):.3f}",
            f"{median([fits[sp][i].line.e_fit for _, sp, i in group]):.3f}",
            f"{median([len(f.widths) for f in ff]):.0f}", pct(median([e for e, _, _ in group])),
        ])  # fmt: skip
    region = _regnet_region(s, errs.get(reg, {}), frac)
    line_note = (
        [
            f"With a plain least-squares line instead of the quantised fit, mean e_fit best − "
            f"rest in {spaces} = {gaps['line'].format(3, 1.0, '')} (two-sample bootstrap; for "
            "comparison only: the rule is the quantised staircase, whose jumps a line does not "
            "follow).",
            f"Fits with w_m at the top of its range (3), steps wider than the rule allows, in "
            f"{spaces}: {capped['best'][0]} of the best {capped['best'][1]}, "
            f"{capped['rest'][0]} of the other {capped['rest'][1]}.",
        ]
        if enough
        else []
    )
    notes = [
        "Width growth: log(last block's width / first block's). e_fit (the paper's fit, Sec. "
        "4): the mean over blocks of |log(w_j / ŵ_j)|, ŵ_j the RegNet widths — u_j = w_0 + "
        "w_a·j, s_j = round(log(u_j / w_0) / log w_m), ŵ_j = w_0·w_m^s_j rounded to a multiple "
        "of 8 — of the w_0, w_a, w_m that minimise it (a grid search, d the network's depth, "
        "w_m in [1.5, 3]); the table's w_0, w_a, w_m are those, w_m only where the fitted "
        "staircase has more than one step. e_fit (line): the same mean for a least-squares "
        "line through the widths. The paper fits its top AnyNetX_E networks with w_0 ≈ w_a and "
        "w_m ≈ 2.5 at ImageNet scale, and finds the best networks of C and E all have good "
        "fits.",
        *line_note,
        *region,
    ]

    def plot(fig) -> None:
        ax = fig.add_subplot(1, 2, 1)
        for e, sp, i in best[:6]:
            f = fits[sp][i].regnet
            j = list(range(len(f.widths)))
            line = ax.plot(j, f.widths, marker="o", ms=3,
                           label=f"{LABEL[sp]}#{i} ({100 * e:.1f}%)")  # fmt: skip
            ax.plot(j, f.fitted, ls="--", drawstyle="steps-mid", color=line[0].get_color())
        ax.set_xlabel("block index j")
        ax.set_ylabel("block width w_j (dashed: the fitted RegNet staircase)")
        ax.set_title("widths of the best networks", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        ax2 = fig.add_subplot(1, 2, 2)
        pts = _regnet_params(s, errs.get(reg, {}))
        if pts:
            sc = ax2.scatter([p["wm"] for p in pts], [100 * p["error"] for p in pts],
                             c=[p["depth"] for p in pts], cmap="viridis", s=18)  # fmt: skip
            fig.colorbar(sc, ax=ax2, label="depth d")
        ax2.set_xlabel("RegNetX w_m")
        ax2.set_ylabel("test error (%)")
        ax2.set_title("RegNetX: error against w_m and depth", fontsize=10)
        ax2.grid(alpha=0.3)

    return Analysis([f1, f2], cols, rows, plot, notes)


def _regnet_params(s: dict, errs: dict[int, float]) -> list[dict]:
    nets = sampled_networks(s, s["regnet"])
    return [
        {
            "error": e,
            "depth": nets[i].params.get("depth"),
            "wm": nets[i].params.get("wm"),
            "wa": nets[i].params.get("wa"),
            "w0": nets[i].params.get("w0"),
            "g": nets[i].params.get("group_width"),
        }
        for i, e in errs.items()
        if i < len(nets)
    ]


def _regnet_region(s: dict, errs: dict[int, float], frac: float) -> list[str]:
    """Where RegNetX's best networks are, parameter by parameter, against all sampled ones."""
    pts = _regnet_params(s, errs)
    if len(pts) < 4:
        return []
    pts.sort(key=lambda p: p["error"])
    best = pts[: max(2, round(len(pts) * frac))]
    bits = []
    for key, what in (("depth", "d"), ("wm", "w_m"), ("wa", "w_a"), ("w0", "w_0"), ("g", "g")):
        b = [p[key] for p in best if p[key] is not None]
        a = [p[key] for p in pts if p[key] is not None]
        if b and a:
            bits.append(
                f"{what} {min(b):g}–{max(b):g} (median {median(b):g}; all sampled: "
                f"{min(a):g}–{max(a):g})"
            )
    return [f"RegNetX's best {len(best)} of {len(pts)} networks here: " + "; ".join(bits) + "."]


register_claim(
    Claim(
        id="regnet-rule",
        title="AnyNet: good networks have widths that grow roughly linearly",
        sentence=(
            "In the best networks of the unconstrained spaces the block width grows with the "
            "block index, roughly along a line — the rule RegNet is built on (w_j = w_0 + w_a·j, "
            "quantised with a ratio w_m)."
        ),
        paper=PAPER,
        measured=(
            "the networks of anynet-progression (no extra training): in A, B and C (free "
            "widths) the rank correlation of width growth with error; in D and E (sorted "
            "widths) the RegNet-fit error (the paper's quantised linear fit) of the best quarter "
            "against the rest, and that of a plain line as a note; the fitted "
            "w_0, w_a, w_m of the best networks, and RegNetX's good region"
        ),
        settings={
            b: budget_setting(
                b,
                free_widths=["anynetx_a", "anynetx_b", "anynetx_c"],
                sorted_widths=["anynetx_d", "anynetx_e"],
                regnet="regnetx",
                best_share=0.25,
            )
            for b in ("smoke", "cpu", "paper")
        },
        experiment=_regnet_jobs,
        rule=_regnet_rule,
        why_it_may_fail=(
            "at 28x28 with three stages a network has few blocks and widths limited by the cost "
            "window, so the line has few points to fit"
        ),
    )
)
