"""The AnyNet claims: the design-space method's assumptions, judged from sampled networks.

Radosavovic, Kosaraju, Girshick, He & Dollár, "Designing Network Design Spaces", CVPR 2020,
judge a design space by the error distribution (EDF) of networks sampled from it and trained
briefly, and refine AnyNetX step by step (A → B → C → D → E → RegNet). The method rests on
assumptions the seed names: design principles exist and can be found roughly one at a time;
a short training ranks networks as a long one would; what holds for small networks holds for
larger ones; and the good networks follow a simple rule (widths linear in the block index).
Each is a claim here:

- ``anynet-progression``: B and C lose nothing against A, D and E gain, RegNetX is as good as
  E — differences of mean error between consecutive spaces (the signed area between their
  EDFs, :func:`~cnnzoo.claims.stats.edf_area`) with two-sample bootstrap intervals;
- ``partial-metrics``: the rank correlation of short- and long-budget errors of the same
  networks, with a bootstrap interval, and whether the short budget finds the top decile;
- ``small-to-large``: E beats A in the small cost window and in one several times larger;
- ``regnet-rule``: the best networks' widths grow with depth and lie near a line.

Every network is sampled with :func:`~cnnzoo.designspace.sampling.sample_configs` (seeded:
the same setting gives the same networks) and trained with the sweeps' short recipe
(:func:`~cnnzoo.designspace.sweep.trial_config`). The claims sample the same networks with the
same training wherever they can, so a network trained for one claim is reused by the others
(the runner shares jobs with equal specs).

Every space is sampled with the same seed. Where two samplers draw the same numbers (C, D and
E differ only in sorting the widths and depths they drew), the same draw gives related
networks, sometimes the very same one (trained once): common random numbers, which make the
differences between spaces less noisy. The bootstrap resamples each space as if the samples
were independent, so its intervals are, if anything, too wide.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any, NamedTuple

from cnnzoo.claims.core import PP as _PP
from cnnzoo.claims.core import Analysis, Claim, Finding, Job, by_group, register_claim
from cnnzoo.claims.core import missing_finding as _missing
from cnnzoo.claims.stats import (
    Interval,
    bootstrap_interval,
    edf_share_above,
    ks_distance,
    median,
    spearman,
    two_sample_bootstrap,
)

__all__: list[str] = []

_PAPER = "Radosavovic, Kosaraju, Girshick, He & Dollár, CVPR 2020"
_LABEL = {
    "anynetx_a": "A",
    "anynetx_b": "B",
    "anynetx_c": "C",
    "anynetx_d": "D",
    "anynetx_e": "E",
    "regnetx": "RegNetX",
    "regnety": "RegNetY",
}
_CHAIN = ("anynetx_a", "anynetx_b", "anynetx_c", "anynetx_d", "anynetx_e", "regnetx")

#: Every claim's networks: 1x28x28 Fashion-MNIST, three stages, 6M-12M multiply-adds (the
#: window of benchmarks/RESULTS-designspace.md), sampled with seed 0; each trained with the
#: sweeps' short recipe and the same data order (training seed 0).
_BASE = {
    "input_size": [1, 28, 28],
    "num_classes": 10,
    "window": "6M:12M",
    "sample_seed": 0,
    "train_seed": 0,
}
_SHORT = {
    # two epochs on a seeded subset of 5,000 images, error on the whole test set
    "smoke": {"epochs": 1, "train_subset": None, "test_subset": None, "max_steps": 2},
    "cpu": {"epochs": 2, "train_subset": 5000, "test_subset": None, "max_steps": None},
    "paper": {"epochs": 10, "train_subset": None, "test_subset": None, "max_steps": None},
}
_N = {"smoke": 3, "cpu": 40, "paper": 100}


def _setting(budget: str, **extra: object) -> dict:
    return _BASE | _SHORT[budget] | {"n": _N[budget]} | extra


# --------------------------------------------------------------------------- networks and jobs


@functools.lru_cache(maxsize=64)
def _sample(space: str, n: int, window: str, input_size: tuple, num_classes: int, seed: int):
    from cnnzoo.designspace.sampling import sample_configs

    return tuple(
        sample_configs(space, n, window, input_size=input_size, num_classes=num_classes, seed=seed)
    )


def _networks(s: dict, space: str, n: int | None = None, window: str | None = None) -> tuple:
    """The first ``n`` networks of ``space`` in ``window`` (the setting's by default): the
    first n of a larger sample are the same networks, so claims with different n share them."""
    return _sample(
        space,
        int(n if n is not None else s["n"]),
        window or s["window"],
        tuple(int(v) for v in s["input_size"]),
        int(s["num_classes"]),
        int(s["sample_seed"]),
    )


def _length(s: dict, long: bool = False) -> dict:
    if not long:
        return {k: s[k] for k in ("epochs", "train_subset", "test_subset", "max_steps")}
    return {
        "epochs": s["long_epochs"],
        "train_subset": s["long_subset"],
        "test_subset": s["test_subset"],
        "max_steps": s["long_max_steps"],
    }


def _job(key: str, group: str, idx: int, cand, s: dict, long: bool = False) -> Job:
    from cnnzoo.designspace.sweep import trial_config

    train = trial_config(
        cand.config.to_dict(),
        **_length(s, long),
        val_size=0,
        seed=int(s["train_seed"]),
        resize=int(s["input_size"][1]),  # the size the cost window was computed at
        checkpoint_every=60.0,
        stop_unhealthy=False,  # a network that trains badly is a measurement, not an error
    )
    # only the final error is judged: the test split is evaluated once, at the end
    return Job(key=key, group=group, seed=idx, train=train, args={"epoch_eval": False})


def _space_jobs(s: dict, spaces: Sequence[str], window: str | None = None, n=None) -> list[Job]:
    tag = f"@{window}" if window else ""
    return [
        _job(f"{_LABEL.get(sp, sp)}{tag}/{i:03d}", sp + tag, i, c, s)
        for sp in spaces
        for i, c in enumerate(_networks(s, sp, n, window))
    ]


def _errors(results: dict) -> dict[str, dict[int, float]]:
    """``{group: {network index: test error}}`` of the networks that have a result (a network
    that diverged counts with its error: a bad network is a measurement)."""

    def err(r: dict) -> float | None:
        acc = r.get("test_acc")
        return None if acc is None or not math.isfinite(acc) else 1.0 - float(acc)

    return by_group(results, err)


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs)


def _mean_gap(new: list, old: list) -> float:
    return _mean(new) - _mean(old)


def _median_gap(new: list, old: list) -> float:
    return median(new) - median(old)


def _gap_finding(
    statement: str, new: str, old: str, errs: dict, threshold: float, label=None
) -> Finding:
    """ "``new``'s mean error − ``old``'s is below ``threshold``", with a two-sample bootstrap
    interval over the networks of the two spaces."""
    name = label or (lambda g: _LABEL.get(g.split("@")[0], g))
    quantity = f"mean test error, {name(new)} − {name(old)}"
    a, b = list(errs.get(new, {}).values()), list(errs.get(old, {}).values())
    if len(a) < 2 or len(b) < 2:
        return _missing(statement, quantity, threshold, "<")
    iv = two_sample_bootstrap(_mean_gap, a, b)
    return Finding(statement, quantity, iv, threshold, "<", **_PP)  # type: ignore[arg-type]


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def _iv(iv: Interval, scale: float = 100.0, unit: str = " pp", digits: int = 2) -> str:
    return iv.format(digits, scale, unit)


def _edf_plot(ax, errs: dict, groups: Sequence[str], title: str = "") -> None:
    """The error EDFs of several spaces on one axis: for each error e, the share of the space's
    networks with error at most e (higher and further left is better)."""
    for g in groups:
        vals = sorted(errs.get(g, {}).values())
        if not vals:
            continue
        ys = [0.0] + [(i + 1) / len(vals) for i in range(len(vals))]
        xs = [100 * v for v in [vals[0], *vals]]
        name = _LABEL.get(g.split("@")[0], g)
        ax.step(xs, ys, where="post", label=f"{name} (n={len(vals)})")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("test error (%)")
    ax.set_ylabel("cumulative share of networks")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    if title:
        ax.set_title(title, fontsize=10)


# --------------------------------------------------------------------------- 1. the progression


#: (newer space, older space, threshold on the difference of mean errors, what is claimed)
def _steps(tol: float) -> list[tuple[str, str, float, str]]:
    return [
        ("anynetx_b", "anynetx_a", tol, "B (one bottleneck ratio for all stages) loses nothing "
         "against A"),
        ("anynetx_c", "anynetx_b", tol, "C (one group width too) loses nothing against B"),
        ("anynetx_d", "anynetx_c", 0.0, "D (non-decreasing widths) is better than C"),
        ("anynetx_e", "anynetx_d", 0.0, "E (non-decreasing depths too) is better than D"),
        ("regnetx", "anynetx_e", tol, "RegNetX (linear widths, 5 parameters) is as good as E"),
    ]  # fmt: skip


def _progression_jobs(s: dict) -> list[Job]:
    return _space_jobs(s, s["spaces"])


def _dof(space: str, s: dict) -> str:
    from cnnzoo.designspace.spaces import get_space, ranges_for

    stages = ranges_for(tuple(s["input_size"])).num_stages
    dof = get_space(space).degrees_of_freedom(stages)
    return "?" if dof is None else str(dof)


def _progression_rule(s: dict, results: dict) -> Analysis:
    errs = _errors(results)
    tol = float(s["tolerance"])
    steps = [st for st in _steps(tol) if st[0] in s["spaces"] and st[1] in s["spaces"]]
    findings = [_gap_finding(what, new, old, errs, thr) for new, old, thr, what in steps]
    previous = {new: old for new, old, _, _ in steps}
    cols = [
        "space", "parameters drawn", "networks", "mean error", "median", "best", "worst",
        "mean − previous [95%]", "median − previous [95%]", "KS vs previous [95%]",
        "share of the range where the EDF is above the previous one's",
    ]  # fmt: skip
    rows = []
    for sp in s["spaces"]:
        e = list(errs.get(sp, {}).values())
        row = [_LABEL.get(sp, sp), _dof(sp, s), str(len(e))]
        if not e:
            rows.append(row + ["no result"] + [""] * (len(cols) - 4))
            continue
        row += [_pct(_mean(e)), _pct(median(e)), _pct(min(e)), _pct(max(e))]
        old = list(errs.get(previous.get(sp, ""), {}).values())
        if len(e) >= 2 and len(old) >= 2:
            row += [
                _iv(two_sample_bootstrap(_mean_gap, e, old)),
                _iv(two_sample_bootstrap(_median_gap, e, old)),
                _iv(two_sample_bootstrap(ks_distance, e, old), 1.0, "", 3),
                f"{edf_share_above(e, old):.2f}",
            ]
        else:
            row += ["", "", "", ""]
        rows.append(row)
    notes = [
        "The difference of mean errors is the signed area between the two EDFs (with the sign "
        "turned): a negative difference means the newer space's EDF lies above the older one's "
        "on the whole. Intervals: percentile bootstrap, the networks of each space resampled on "
        f'their own. "Loses nothing" means a mean error at most {100 * tol:.1f} points worse.'
    ]

    def plot(fig) -> None:
        ax = fig.add_subplot(1, 2, 1)
        _edf_plot(ax, errs, s["spaces"], "error EDFs")
        ax2 = fig.add_subplot(1, 2, 2)
        labels, pts = [], []
        for i, f in enumerate(findings):
            iv = f.interval
            if not math.isnan(iv.value):
                lo = iv.value - iv.low if math.isfinite(iv.low) else 0
                hi = iv.high - iv.value if math.isfinite(iv.high) else 0
                ax2.errorbar(i, 100 * iv.value, yerr=[[100 * lo], [100 * hi]], fmt="o", capsize=4)
                pts.append(i)
            labels.append(f.quantity.replace("mean test error, ", ""))
            ax2.hlines(100 * f.threshold, i - 0.3, i + 0.3, colors="red", linestyles="dashed")
        ax2.axhline(0, color="grey", lw=0.8)
        ax2.set_xticks(range(len(labels)), labels, rotation=20, ha="right")
        ax2.set_ylabel("difference of mean test error (pp)\n(red: the claimed bound)")
        ax2.grid(axis="y", alpha=0.3)

    return Analysis(findings, cols, rows, plot, notes)


register_claim(
    Claim(
        id="anynet-progression",
        title="AnyNet: from A to E to RegNetX, each constraint loses nothing or gains",
        sentence=(
            "Design principles exist and can be found one at a time: sharing one bottleneck "
            "ratio (B) and one group width (C) loses nothing, non-decreasing widths (D) and "
            "depths (E) gain, and RegNetX's linear widths, with far fewer degrees of freedom, "
            "are as good as E."
        ),
        paper=_PAPER,
        measured=(
            "n networks sampled from each space in the same cost window, each trained with the "
            "same short recipe; the test error EDF of each space; differences of mean error "
            "between consecutive spaces with bootstrap intervals (and medians, KS distances)"
        ),
        settings={
            b: _setting(b, spaces=list(_CHAIN), tolerance=0.01) for b in ("smoke", "cpu", "paper")
        },
        experiment=_progression_jobs,
        rule=_progression_rule,
        why_it_may_fail=(
            "a short training on a small data set and a 28x28 input (three stages) is far from "
            "the paper's ImageNet setting; the steps B and C are meant to change little, so "
            "their intervals decide only with many networks per space"
        ),
    )
)


# --------------------------------------------------------------------------- 2. partial metrics


def _partial_jobs(s: dict) -> list[Job]:
    space = s["space"]
    out = []
    for i, c in enumerate(_networks(s, space)):
        out.append(_job(f"short/{i:03d}", "short", i, c, s))
        out.append(_job(f"long/{i:03d}", "long", i, c, s, long=True))
    return out


def _top(errs: dict[int, float], k: int) -> set[int]:
    return set(sorted(errs, key=lambda i: (errs[i], i))[:k])


def _partial_rule(s: dict, results: dict) -> Analysis:
    errs = _errors(results)
    short, long = errs.get("short", {}), errs.get("long", {})
    common = sorted(set(short) & set(long))
    pairs = [(short[i], long[i]) for i in common]
    thr = float(s["min_rho"])
    statement = "a short training ranks the networks as a several times longer one does"
    quantity = "Spearman rank correlation, short vs long error"
    fmt = {"scale": 1.0, "unit": "", "digits": 3}
    if len(pairs) >= 3:
        rho = bootstrap_interval(spearman, pairs)
        findings = [Finding(statement, quantity, rho, thr, ">", **fmt)]  # type: ignore[arg-type]
    else:
        findings = [_missing(statement, quantity, thr, ">", **fmt)]
    k = max(1, round(len(common) / 10))
    sub_s = {i: short[i] for i in common}
    sub_l = {i: long[i] for i in common}
    top_s, top_l = _top(sub_s, k), _top(sub_l, k)
    rank_long = {i: r + 1 for r, i in enumerate(sorted(sub_l, key=lambda i: (sub_l[i], i)))}
    cols = ["", "value"]
    rows = [
        ["networks with both errors", str(len(common))],
        ["short budget", _budget_text(_length(s))],
        ["long budget", _budget_text(_length(s, long=True))],
    ]
    if pairs:
        rows += [
            ["mean error, short → long", f"{_pct(_mean(list(sub_s.values())))} → "
             f"{_pct(_mean(list(sub_l.values())))}"],
            [f"top decile (best {k}) by the long budget found by the short one",
             f"{len(top_s & top_l)} of {k}"],
            ["long-budget ranks of the short budget's top decile",
             ", ".join(str(rank_long[i]) for i in sorted(top_s, key=lambda i: sub_s[i]))],
        ]  # fmt: skip
    notes = [
        "Spearman's ρ with a percentile bootstrap interval over the networks (pairs resampled); "
        f"the claim holds when the whole interval is above {thr:g} (a strong correlation)."
    ]

    def plot(fig) -> None:
        ax = fig.add_subplot(1, 1, 1)
        xs = [100 * sub_s[i] for i in common]
        ys = [100 * sub_l[i] for i in common]
        colors = ["#d62728" if i in top_l else "#1f77b4" for i in common]
        ax.scatter(xs, ys, c=colors, s=18)
        if xs:
            lo, hi = min(xs + ys), max(xs + ys)
            ax.plot([lo, hi], [lo, hi], color="grey", lw=0.8, ls="--")
        ax.set_xlabel("test error after the short budget (%)")
        ax.set_ylabel("test error after the long budget (%)")
        ax.set_title("each dot a network (red: the long budget's top decile)", fontsize=10)
        ax.grid(alpha=0.3)

    return Analysis(findings, cols, rows, plot, notes)


def _budget_text(length: dict) -> str:
    what = f"{length['epochs']} epoch(s) on {length['train_subset'] or 'all'} images"
    if length.get("max_steps"):
        what += f", at most {length['max_steps']} steps"
    return what


register_claim(
    Claim(
        id="partial-metrics",
        title="AnyNet: a short training is enough to rank networks",
        sentence=(
            "Partial metrics are sufficient: networks ranked by their error after a short "
            "training keep their order after a several times longer one, so design spaces can "
            "be compared from short trainings."
        ),
        paper=_PAPER,
        measured=(
            "the same AnyNetX_A networks trained for the short budget and for one several times "
            "longer; the rank correlation of the two errors with a bootstrap interval, and how "
            "much of the long budget's top decile the short budget finds"
        ),
        settings={
            "smoke": _setting(
                "smoke",
                space="anynetx_a",
                n=4,
                min_rho=0.5,
                long_epochs=1,
                long_subset=None,
                long_max_steps=4,
            ),
            "cpu": _setting(
                "cpu",
                space="anynetx_a",
                n=30,
                min_rho=0.5,
                long_epochs=3,
                long_subset=10000,
                long_max_steps=None,
            ),
            "paper": _setting(
                "paper",
                space="anynetx_a",
                n=100,
                min_rho=0.5,
                long_epochs=50,
                long_subset=None,
                long_max_steps=None,
            ),
        },
        experiment=_partial_jobs,
        rule=_partial_rule,
        why_it_may_fail=(
            "networks that learn slowly (deep ones, without enough steps) are ranked low by a "
            "short training and catch up later"
        ),
    )
)


# --------------------------------------------------------------------------- 3. small to large


def _scale_jobs(s: dict) -> list[Job]:
    worse, better = s["pair"]
    return _space_jobs(s, [worse, better]) + _space_jobs(
        s, [worse, better], s["large_window"], s["n_large"]
    )


def _scale_rule(s: dict, results: dict) -> Analysis:
    errs = _errors(results)
    worse, better = s["pair"]
    big = s["large_window"]
    name = lambda g: _LABEL.get(g.split("@")[0], g)  # noqa: E731
    findings = [
        _gap_finding(
            f"{name(better)} beats {name(worse)} in the small window ({s['window']})",
            better, worse, errs, 0.0,
        ),
        _gap_finding(
            f"... and still in the window of larger networks ({big})",
            f"{better}@{big}", f"{worse}@{big}", errs, 0.0,
            label=lambda g: f"{name(g)} ({big})",
        ),
    ]  # fmt: skip
    cols = ["window", "space", "networks", "mean error", "median", "best"]
    rows = []
    for window, tag in ((s["window"], ""), (big, f"@{big}")):
        for sp in (worse, better):
            e = list(errs.get(sp + tag, {}).values())
            rows.append(
                [window, name(sp), str(len(e))]
                + ([_pct(_mean(e)), _pct(median(e)), _pct(min(e))] if e else ["no result", "", ""])
            )

    def plot(fig) -> None:
        ax = fig.add_subplot(1, 2, 1)
        _edf_plot(ax, errs, [worse, better], f"small: {s['window']} multiply-adds")
        ax2 = fig.add_subplot(1, 2, 2, sharex=ax)
        _edf_plot(ax2, errs, [f"{worse}@{big}", f"{better}@{big}"], f"large: {big}")

    notes = [
        f"The small window's networks are those of anynet-progression (the first {s['n']}); "
        f"the large window holds networks with {_window_ratio(s)} the multiply-adds, "
        "trained with the same recipe."
    ]
    return Analysis(findings, cols, rows, plot, notes)


def _window_ratio(s: dict) -> str:
    from cnnzoo.designspace.sampling import parse_window

    (a, b), (c, d) = parse_window(s["window"]), parse_window(s["large_window"])
    return f"{(c + d) / (a + b):.0f}x"


register_claim(
    Claim(
        id="small-to-large",
        title="AnyNet: what holds for small networks holds for larger ones",
        sentence=(
            "Results found with small networks carry over to larger ones: the ordering of "
            "design spaces (E better than A) seen in a small cost window holds in a window of "
            "networks several times larger."
        ),
        paper=_PAPER,
        measured=(
            "networks of AnyNetX_A and AnyNetX_E in the small window and in one several times "
            "larger, the same short recipe; the difference of mean errors in each window, with "
            "bootstrap intervals"
        ),
        settings={
            "smoke": _setting(
                "smoke", pair=["anynetx_a", "anynetx_e"], large_window="24M:48M", n_large=2
            ),
            "cpu": _setting(
                "cpu", pair=["anynetx_a", "anynetx_e"], large_window="18M:36M", n_large=20
            ),
            "paper": _setting(
                "paper", pair=["anynetx_a", "anynetx_e"], large_window="24M:48M", n_large=100
            ),
        },
        experiment=_scale_jobs,
        rule=_scale_rule,
        why_it_may_fail=(
            "with the same number of training steps the larger networks are further from "
            "converged, which may favour one space's shapes over the other's"
        ),
    )
)


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
        for i, c in enumerate(_networks(s, sp)):
            w = block_widths(c.config.to_dict())
            out[sp][i] = _Fit(fit_widths(w), fit_regnet_widths(w))
    return out


def _regnet_jobs(s: dict) -> list[Job]:
    return _space_jobs(s, s["free_widths"] + s["sorted_widths"] + [s["regnet"]])


def _growth(fit) -> float:
    """How much wider the last block is than the first (log ratio)."""
    return math.log(fit.widths[-1] / fit.widths[0])


def _best_vs_rest(errs: dict[int, float], frac: float) -> tuple[list[int], list[int]]:
    order = sorted(errs, key=lambda i: (errs[i], i))
    k = max(1, round(len(order) * frac))
    return order[:k], order[k:]


def _regnet_rule(s: dict, results: dict) -> Analysis:
    errs = _errors(results)
    free, ordered, reg = s["free_widths"], s["sorted_widths"], s["regnet"]
    fits = _fits(s, free + ordered)
    frac = float(s["best_share"])
    # 1. in the spaces whose widths are free, networks whose widths grow more have lower error
    pairs = [(_growth(fits[sp][i].line), e) for sp in free for i, e in errs.get(sp, {}).items()]
    q1 = "Spearman ρ, width growth (last / first block) vs error, " + "+".join(
        _LABEL.get(sp, sp) for sp in free
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
        kind: two_sample_bootstrap(_mean_gap, best_fit[kind], rest_fit[kind])
        for kind in ("regnet", "line")
        if enough
    }
    spaces = "+".join(_LABEL.get(sp, sp) for sp in ordered)
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
        (f"best {100 * frac:.0f}% of {'+'.join(_LABEL[sp] for sp in free + ordered)}", best),
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
            f"{median([len(f.widths) for f in ff]):.0f}", _pct(median([e for e, _, _ in group])),
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
                           label=f"{_LABEL[sp]}#{i} ({100 * e:.1f}%)")  # fmt: skip
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
    nets = _networks(s, s["regnet"])
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
        paper=_PAPER,
        measured=(
            "the networks of anynet-progression (no extra training): in A, B and C (free "
            "widths) the rank correlation of width growth with error; in D and E (sorted "
            "widths) the RegNet-fit error (the paper's quantised linear fit) of the best quarter "
            "against the rest, and that of a plain line as a note; the fitted "
            "w_0, w_a, w_m of the best networks, and RegNetX's good region"
        ),
        settings={
            b: _setting(
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
