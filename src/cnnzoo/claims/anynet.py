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
- ``regnet-rule`` (in :mod:`cnnzoo.claims.regnet_rule`): the best networks' widths grow with depth
  and follow the RegNet staircase.

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

import math

from cnnzoo.claims.anynet_common import (
    CHAIN,
    LABEL,
    PAPER,
    budget_setting,
    edf_plot,
    format_interval,
    gap_finding,
    mean,
    mean_gap,
    median_gap,
    pct,
    sampled_networks,
    space_errors,
    space_jobs,
    train_length,
    trial_job,
)
from cnnzoo.claims.core import Analysis, Claim, Finding, Job, register_claim
from cnnzoo.claims.core import missing_finding as _missing
from cnnzoo.claims.stats import (
    bootstrap_interval,
    edf_share_above,
    ks_distance,
    median,
    spearman,
    two_sample_bootstrap,
)

__all__: list[str] = []


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
    return space_jobs(s, s["spaces"])


def _dof(space: str, s: dict) -> str:
    from cnnzoo.designspace.spaces import get_space, ranges_for

    stages = ranges_for(tuple(s["input_size"])).num_stages
    dof = get_space(space).degrees_of_freedom(stages)
    return "?" if dof is None else str(dof)


def _progression_rule(s: dict, results: dict) -> Analysis:
    errs = space_errors(results)
    tol = float(s["tolerance"])
    steps = [st for st in _steps(tol) if st[0] in s["spaces"] and st[1] in s["spaces"]]
    findings = [gap_finding(what, new, old, errs, thr) for new, old, thr, what in steps]
    previous = {new: old for new, old, _, _ in steps}
    cols = [
        "space", "parameters drawn", "networks", "mean error", "median", "best", "worst",
        "mean − previous [95%]", "median − previous [95%]", "KS vs previous [95%]",
        "share of the range where the EDF is above the previous one's",
    ]  # fmt: skip
    rows = []
    for sp in s["spaces"]:
        e = list(errs.get(sp, {}).values())
        row = [LABEL.get(sp, sp), _dof(sp, s), str(len(e))]
        if not e:
            rows.append(row + ["no result"] + [""] * (len(cols) - 4))
            continue
        row += [pct(mean(e)), pct(median(e)), pct(min(e)), pct(max(e))]
        old = list(errs.get(previous.get(sp, ""), {}).values())
        if len(e) >= 2 and len(old) >= 2:
            row += [
                format_interval(two_sample_bootstrap(mean_gap, e, old)),
                format_interval(two_sample_bootstrap(median_gap, e, old)),
                format_interval(two_sample_bootstrap(ks_distance, e, old), 1.0, "", 3),
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
        edf_plot(ax, errs, s["spaces"], "error EDFs")
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
        paper=PAPER,
        measured=(
            "n networks sampled from each space in the same cost window, each trained with the "
            "same short recipe; the test error EDF of each space; differences of mean error "
            "between consecutive spaces with bootstrap intervals (and medians, KS distances)"
        ),
        settings={
            b: budget_setting(b, spaces=list(CHAIN), tolerance=0.01)
            for b in ("smoke", "cpu", "paper")
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
    for i, c in enumerate(sampled_networks(s, space)):
        out.append(trial_job(f"short/{i:03d}", "short", i, c, s))
        out.append(trial_job(f"long/{i:03d}", "long", i, c, s, long=True))
    return out


def _top(errs: dict[int, float], k: int) -> set[int]:
    return set(sorted(errs, key=lambda i: (errs[i], i))[:k])


def _partial_rule(s: dict, results: dict) -> Analysis:
    errs = space_errors(results)
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
        ["short budget", _budget_text(train_length(s))],
        ["long budget", _budget_text(train_length(s, long=True))],
    ]
    if pairs:
        rows += [
            ["mean error, short → long", f"{pct(mean(list(sub_s.values())))} → "
             f"{pct(mean(list(sub_l.values())))}"],
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
        paper=PAPER,
        measured=(
            "the same AnyNetX_A networks trained for the short budget and for one several times "
            "longer; the rank correlation of the two errors with a bootstrap interval, and how "
            "much of the long budget's top decile the short budget finds"
        ),
        settings={
            "smoke": budget_setting(
                "smoke",
                space="anynetx_a",
                n=4,
                min_rho=0.5,
                long_epochs=1,
                long_subset=None,
                long_max_steps=4,
            ),
            "cpu": budget_setting(
                "cpu",
                space="anynetx_a",
                n=30,
                min_rho=0.5,
                long_epochs=3,
                long_subset=10000,
                long_max_steps=None,
            ),
            "paper": budget_setting(
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
    return space_jobs(s, [worse, better]) + space_jobs(
        s, [worse, better], s["large_window"], s["n_large"]
    )


def _scale_rule(s: dict, results: dict) -> Analysis:
    errs = space_errors(results)
    worse, better = s["pair"]
    big = s["large_window"]
    name = lambda g: LABEL.get(g.split("@")[0], g)  # noqa: E731
    findings = [
        gap_finding(
            f"{name(better)} beats {name(worse)} in the small window ({s['window']})",
            better, worse, errs, 0.0,
        ),
        gap_finding(
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
                + ([pct(mean(e)), pct(median(e)), pct(min(e))] if e else ["no result", "", ""])
            )

    def plot(fig) -> None:
        ax = fig.add_subplot(1, 2, 1)
        edf_plot(ax, errs, [worse, better], f"small: {s['window']} multiply-adds")
        ax2 = fig.add_subplot(1, 2, 2, sharex=ax)
        edf_plot(ax2, errs, [f"{worse}@{big}", f"{better}@{big}"], f"large: {big}")

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
        paper=PAPER,
        measured=(
            "networks of AnyNetX_A and AnyNetX_E in the small window and in one several times "
            "larger, the same short recipe; the difference of mean errors in each window, with "
            "bootstrap intervals"
        ),
        settings={
            "smoke": budget_setting(
                "smoke", pair=["anynetx_a", "anynetx_e"], large_window="24M:48M", n_large=2
            ),
            "cpu": budget_setting(
                "cpu", pair=["anynetx_a", "anynetx_e"], large_window="18M:36M", n_large=20
            ),
            "paper": budget_setting(
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
