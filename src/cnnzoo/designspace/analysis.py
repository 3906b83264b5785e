"""The statistics of design spaces: error EDFs, the complexity-normalised EDF, the empirical
bootstrap of the best error, and the linear fit of block widths.

- **Error EDF** (Radosavovic et al. 2019, "On Network Design Spaces for Visual Recognition"):
  F(e) = (1/n) Σ 1[e_i < e], the fraction of models with error below e. A space whose EDF lies
  above another's has more good models.
- **Normalised EDF** (same paper): complexity confounds the comparison (bigger networks err
  less), so models are weighted to make each space's complexity distribution uniform: the
  complexity range is cut into k bins (log-spaced here, the same edges for every space
  compared) and each of the m_j models in bin j weighs w = 1/(k' m_j), k' being the number of
  non-empty bins (so the weights sum to 1); F̂(e) = Σ w_i 1[e_i < e].
- **Bootstrap of the best error** ("Designing Network Design Spaces", 2020): draw m models with
  replacement (m = 25% of n by default, as the paper does), keep the lowest error; repeat B
  times; report the median and the 2.5th and 97.5th percentiles (95% interval). For sorted
  errors e_(1) ≤ … ≤ e_(n) the exact law of that minimum is
  P(min ≥ e_(k)) = ((n − k + 1) / n)^m, which :func:`bootstrap_best_exact` gives and the tests
  check the Monte-Carlo against.
- **Width fit**: for one network, least squares of its per-block widths w_j (block index j from
  0) on the line w_0 + w_a·j, the derived w_m (the geometric mean ratio of consecutive stage
  widths), and the fit error e_fit = mean_j |log(w_j / (w_0 + w_a·j))| (a line that falls
  below one channel counts as one there).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Bootstrap",
    "Dominance",
    "WidthFit",
    "block_widths",
    "bootstrap_best",
    "bootstrap_best_exact",
    "complexity_bins",
    "complexity_weights",
    "dominance",
    "edf",
    "edf_curve",
    "fit_widths",
]


def edf(errors: Sequence[float], at: float | Sequence[float], weights=None) -> np.ndarray | float:
    """F(e) = Σ w_i 1[e_i < e] (w_i = 1/n by default) at one error or several."""
    e = np.asarray(errors, dtype=float)
    w = np.full(len(e), 1.0 / len(e)) if weights is None else np.asarray(weights, dtype=float)
    x = np.asarray(at, dtype=float)
    out = (w[None, :] * (e[None, :] < x.reshape(-1, 1))).sum(axis=1)
    return float(out[0]) if x.ndim == 0 else out


def edf_curve(errors: Sequence[float], weights=None) -> tuple[np.ndarray, np.ndarray]:
    """The EDF as a step curve for plotting: x = sorted errors, y = F just after each one."""
    e = np.asarray(errors, dtype=float)
    w = np.full(len(e), 1.0 / len(e)) if weights is None else np.asarray(weights, dtype=float)
    order = np.argsort(e, kind="stable")
    return e[order], np.cumsum(w[order])


def complexity_bins(flops: Sequence[Sequence[float]] | Sequence[float], k: int) -> np.ndarray:
    """k log-spaced bins spanning every value given (one list, or a list per space)."""
    vals = np.concatenate([np.ravel(np.asarray(f, dtype=float)) for f in flops])
    lo, hi = float(vals.min()), float(vals.max())
    if lo <= 0:
        raise ValueError("complexities must be positive for log-spaced bins")
    if hi == lo:
        hi = lo * (1 + 1e-9)
    return np.geomspace(lo, hi, k + 1)


def complexity_weights(flops: Sequence[float], edges: Sequence[float]) -> np.ndarray:
    """w_i = 1 / (k' m_j) for model i in bin j (m_j models in it, k' non-empty bins); values
    outside the edges go to the first or last bin."""
    f = np.asarray(flops, dtype=float)
    edges = np.asarray(edges, dtype=float)
    k = len(edges) - 1
    b = np.clip(np.searchsorted(edges, f, side="right") - 1, 0, k - 1)
    counts = np.bincount(b, minlength=k)
    nonempty = int((counts > 0).sum())
    return 1.0 / (nonempty * counts[b])


@dataclass(frozen=True)
class Bootstrap:
    """The bootstrap of the lowest error: its median and 95% interval, the sample minimum, the
    resample size m and the number of resamples."""

    best: float
    median: float
    low: float
    high: float
    m: int
    n_boot: int


def _m(n: int, frac: float) -> int:
    return max(1, round(frac * n))


def bootstrap_best(
    errors: Sequence[float], frac: float = 0.25, n_boot: int = 10_000, seed: int = 0
) -> Bootstrap:
    """Monte-Carlo bootstrap of the lowest error of ``m = round(frac * n)`` models drawn with
    replacement; percentiles by numpy's default (linear) rule."""
    e = np.asarray(errors, dtype=float)
    if e.size == 0:
        raise ValueError("no errors to bootstrap")
    m = _m(len(e), frac)
    rng = np.random.default_rng(seed)
    mins = np.empty(n_boot)
    chunk = max(1, 2_000_000 // m)
    for s in range(0, n_boot, chunk):
        c = min(chunk, n_boot - s)
        mins[s : s + c] = e[rng.integers(0, len(e), size=(c, m))].min(axis=1)
    low, med, high = np.percentile(mins, [2.5, 50, 97.5])
    return Bootstrap(float(e.min()), float(med), float(low), float(high), m, n_boot)


def bootstrap_best_exact(errors: Sequence[float], frac: float = 0.25) -> dict[float, float]:
    """The exact law of the bootstrap minimum: {error value: probability}, from
    P(min ≥ e_(k)) = ((n − k + 1) / n)^m."""
    e = np.sort(np.asarray(errors, dtype=float))
    n = len(e)
    m = _m(n, frac)
    out: dict[float, float] = {}
    for k in range(n):  # P(min = e_(k)) = P(min >= e_(k)) - P(min >= e_(k+1)), 0-based here
        p = ((n - k) / n) ** m - ((n - k - 1) / n) ** m
        out[float(e[k])] = out.get(float(e[k]), 0.0) + p
    return out


@dataclass(frozen=True)
class WidthFit:
    """w_j ≈ w_0 + w_a·j for one network's block widths, its w_m and its fit error."""

    w_0: float
    w_a: float
    w_m: float
    e_fit: float
    widths: tuple[int, ...]


def block_widths(config: dict) -> list[int]:
    """Per-block output widths of an AnyNet config dict (``AnyNetConfig.to_dict()``)."""
    return [int(s["width"]) for s in config["stages"] for _ in range(int(s["depth"]))]


def fit_widths(widths: Sequence[float], stage_widths: Sequence[float] | None = None) -> WidthFit:
    """Least-squares line through (j, w_j), j = 0 … d−1; w_m = (last stage width / first)^(1 /
    (stages − 1)), the geometric mean ratio of consecutive stages (1 for one stage), the stages
    being the runs of equal width unless ``stage_widths`` is given."""
    w = np.asarray(widths, dtype=float)
    j = np.arange(len(w), dtype=float)
    if len(w) == 1:
        w_0, w_a = float(w[0]), 0.0
    else:
        w_a, w_0 = (float(v) for v in np.polyfit(j, w, 1))
    if stage_widths is None:
        stage_widths = [float(x) for i, x in enumerate(w) if i == 0 or x != w[i - 1]]
    s = np.asarray(stage_widths, dtype=float)
    w_m = float((s[-1] / s[0]) ** (1.0 / (len(s) - 1))) if len(s) > 1 else 1.0
    pred = w_0 + w_a * j
    e_fit = float(np.mean(np.abs(np.log(w / np.maximum(pred, 1.0)))))
    return WidthFit(w_0, w_a, w_m, e_fit, tuple(round(x) for x in w))


@dataclass(frozen=True)
class Dominance:
    """How two error EDFs compare: ``frac_above`` is the share of the error range (between the
    two sweeps' lowest and highest errors) where A's EDF is above B's, ``max_gap`` the largest
    F_A − F_B and ``at`` where it is, ``min_gap`` / ``at_min`` the most negative one,
    ``mean_gap`` the average F_A − F_B over the range, plus the means and medians."""

    a: str
    b: str
    frac_above: float
    frac_below: float
    max_gap: float
    at: float
    min_gap: float
    at_min: float
    mean_gap: float
    mean_a: float
    mean_b: float
    median_a: float
    median_b: float


def dominance(
    a: Sequence[float], b: Sequence[float], names=("A", "B"), wa=None, wb=None, points: int = 2001
) -> Dominance:
    """Compare two EDFs (optionally weighted) on a fine grid of errors."""
    ea, eb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    lo = min(ea.min(), eb.min())
    hi = max(ea.max(), eb.max())
    grid = np.linspace(lo, hi, points) if hi > lo else np.array([lo])
    fa, fb = edf(ea, grid, wa), edf(eb, grid, wb)
    diff = np.atleast_1d(fa - fb)
    i, k = int(np.argmax(diff)), int(np.argmin(diff))
    return Dominance(
        names[0],
        names[1],
        float((diff > 1e-12).mean()),
        float((diff < -1e-12).mean()),
        float(diff[i]),
        float(grid[i]),
        float(diff[k]),
        float(grid[k]),
        float(diff.mean()),
        float(ea.mean()),
        float(eb.mean()),
        float(np.median(ea)),
        float(np.median(eb)),
    )
