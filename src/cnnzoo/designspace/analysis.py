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
- **Pareto front** of error against time: the models no other model beats on both (lower or
  equal error and time, one strictly lower) — the candidates of a search for time to
  accuracy, where neither the cheapest nor the most accurate model need be the answer.
- **Width fit**: for one network, least squares of its per-block widths w_j (block index j from
  0) on the line w_0 + w_a·j, the derived w_m (the geometric mean ratio of consecutive stage
  widths), and the fit error e_fit = mean_j |log(w_j / (w_0 + w_a·j))| (a line that falls
  below one channel counts as one there).
- **RegNet width fit** ("Designing Network Design Spaces", Sec. 4): the paper's own fit, to
  the quantised staircase u_j = w_0 + w_a·j, s_j = round(log(u_j / w_0) / log w_m),
  ŵ_j = w_0·w_m^{s_j} rounded to a multiple of 8 (pycls's rule, as
  :func:`cnnzoo.models.anynet.regnet_widths` computes it), by a grid search over
  (w_0, w_a, w_m) with d the network's depth, minimising e_fit = mean_j |log(w_j / ŵ_j)| (the
  same form as the line's, so the two compare): :func:`fit_regnet_widths`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Bootstrap",
    "Dominance",
    "RegNetFit",
    "WidthFit",
    "block_widths",
    "bootstrap_best",
    "bootstrap_best_exact",
    "complexity_bins",
    "complexity_weights",
    "dominance",
    "edf",
    "edf_curve",
    "fit_regnet_widths",
    "fit_widths",
    "pareto_front",
    "quantized_widths",
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
class RegNetFit(WidthFit):
    """The RegNet staircase fitted to one network's block widths ``widths``: its parameters
    w_0, w_a, w_m, its fitted widths ŵ_j (``fitted``) and e_fit = mean_j |log(w_j / ŵ_j)|.
    ``w_m`` is NaN where the fitted staircase has a single step (any w_m gives it)."""

    fitted: tuple[int, ...]


def quantized_widths(
    depth: int, w_0: float, w_a: float, w_m: float, quantum: int = 8
) -> tuple[np.ndarray, np.ndarray]:
    """The RegNet exponents s_j and widths ŵ_j, j = 0 … depth−1, as pycls computes them: the
    operations of :func:`cnnzoo.models.anynet.regnet_widths` (``rounding="pycls"``) in the same
    order, so the floats are the same. The parameters may be arrays of one shape, which gets
    the j axis appended."""
    w_0, w_a, w_m = (np.asarray(x, dtype=float)[..., None] for x in (w_0, w_a, w_m))
    ws_cont = np.arange(depth) * w_a + w_0
    ks = np.round(np.log(ws_cont / w_0) / np.log(w_m))
    ws = np.round(np.divide(w_0 * np.power(w_m, ks), quantum)) * quantum
    return ks.astype(int), ws.astype(int)


def _sweep(logw, w0s, wms, r_max, quantum):
    """e_fit of the best staircase in each stretch of w_a, for every (w_0, w_m) of the grid.

    For fixed w_m, block j's exponent s_j = round(log(1 + r·j) / log w_m), r = w_a / w_0,
    steps from k to k + 1 where r crosses (w_m^{k+1/2} − 1) / j: these events, sorted, cut
    r ≥ 0 into stretches of one staircase each, and each event changes one block's error, so
    a cumulative sum gives every stretch's e_fit — exact in w_a, and the same for every w_0.
    Returns err (len(w0s), len(wms), E + 1), and each stretch's start and end in r (len(wms),
    E + 1); stretches empty or beyond ``r_max`` (per w_0) have err = inf."""
    d = len(logw)
    j = np.arange(1, d)
    # enough exponents that the first event left out lies beyond r_max for every w_0 and w_m
    top = float(r_max.max()) * (d - 1)
    n_k = max(1, math.ceil(math.log1p(top) / math.log(float(wms.min())) - 0.5) + 1)
    k = np.arange(n_k)
    beta = (np.power(wms[:, None, None], k + 0.5) - 1.0) / j[:, None]  # (M, d − 1, K)
    beta = beta.reshape(len(wms), -1)
    ev_j = np.repeat(j, n_k)
    ev_k = np.tile(k, d - 1)
    order = np.argsort(beta, axis=1, kind="stable")
    beta = np.take_along_axis(beta, order, axis=1)
    keep = int((beta <= top).sum(axis=1).max()) if beta.size else 0
    beta, order = beta[:, :keep], order[:, :keep]  # events beyond every cap change nothing
    jj, kk = ev_j[order], ev_k[order]  # (M, E)
    kk_all = np.arange(n_k + 1, dtype=float)
    levels = np.round(np.divide(w0s[:, None, None] * np.power(wms[:, None], kk_all), quantum))
    log_levels = np.log(np.maximum(levels * quantum, 1.0))  # (A, M, K + 1)
    rows = np.arange(len(wms))[:, None]
    lw = logw[jj]
    delta = np.abs(lw - log_levels[:, rows, kk + 1]) - np.abs(lw - log_levels[:, rows, kk])
    e0 = np.abs(logw - log_levels[:, :, :1]).sum(axis=-1, keepdims=True)  # all s_j = 0
    err = np.concatenate([e0, e0 + np.cumsum(delta, axis=-1)], axis=-1) / d
    start = np.concatenate([np.zeros((len(wms), 1)), beta], axis=1)
    end = np.concatenate([beta, np.full((len(wms), 1), np.inf)], axis=1)
    ok = (end > start * (1 + 1e-9) + 1e-15)[None] & (start[None] < r_max[:, None, None])
    return np.where(ok, err, np.inf), start, end


def _pick(logw, w0s, wms, w_a_max, quantum):
    """The best (w_0, w_a, w_m) on the grid of w_0 and w_m, w_a anywhere in [0, w_a_max]; of
    equal e_fit, the one whose levels w_0·w_m^{s_j} before the rounding to ``quantum`` are
    closest to the widths, then the one whose line w_0 + w_a·j is (w_a within its stretch
    chosen so too), then the first found."""
    d, j = len(logw), np.arange(len(logw), dtype=float)
    err, start, end = _sweep(logw, w0s, wms, w_a_max / w0s, quantum)
    a, m, i = np.nonzero(err <= err.min() + 1e-12)
    w0, wm = w0s[a], wms[m]
    # w_a: 0 in the first stretch, else 16 points across the stretch (capped at w_a_max)
    lo, hi = start[m, i] * w0, np.minimum(end[m, i] * w0, w_a_max)
    frac = np.linspace(0.0, 1.0, 17)[:, None]
    first = i == 0
    was = np.where(first, hi * frac, lo * np.power(hi / np.where(first, 1, lo), frac))
    was = np.where((frac > 0) & (frac < 1) | first & (frac == 0), was, np.nan)  # inside only
    line = np.abs(np.log(np.maximum(j * was[..., None] + w0[:, None], 1.0)) - logw).mean(-1)
    best = np.nanargmin(np.where(np.isnan(was), np.inf, line), axis=0)
    wa, line = was[best, np.arange(len(a))], line[best, np.arange(len(a))]
    ks, fitted = quantized_widths(d, w0, wa, wm, quantum)
    exact = np.abs(logw - np.log(np.maximum(fitted, 1))).mean(-1)
    raw = np.abs(logw - np.log(w0[:, None] * np.power(wm[:, None], ks))).mean(-1)
    c = np.lexsort((np.arange(len(a)), np.round(line, 12), np.round(raw, 12), np.round(exact, 12)))[
        0
    ]
    return float(w0[c]), float(wa[c]), float(wm[c]), float(exact[c])


def fit_regnet_widths(
    widths: Sequence[float],
    quantum: int = 8,
    w_m_range: tuple[float, float] = (1.5, 3.0),
    w_m_step: float = 0.025,
    max_w_0: int = 48,
) -> RegNetFit:
    """The paper's fit of the RegNet rule to one network's block widths: the (w_0, w_a, w_m)
    that minimise e_fit = mean_j |log(w_j / ŵ_j)| for the quantised RegNet widths ŵ_j
    (:func:`quantized_widths`), d = ``len(widths)``.

    A grid search: w_0 the multiples of ``quantum`` from ``quantum`` to twice the first width
    (at most ``max_w_0`` of them, log-spaced, always with those within two quanta of the first
    width) and the first width itself; w_m from ``w_m_range`` in steps of ``w_m_step`` (the
    paper's range); w_a exactly, anywhere in [0, 4·max(widths' range, quantum)/(d − 1)] (for
    each w_0 and w_m the staircase changes only where some s_j steps, so every staircase is
    tried, see :func:`_sweep`). Then, with w_0 ± one quantum around the best, w_m within four
    steps of the best in steps of ``w_m_step``/25, and within one such step of the new best in
    steps 25 times finer (the rounded levels w_0·w_m^k move in small steps of w_m where k is
    large). Ties
    (many parameters give the same staircase) go to the levels, then the line, closest to the
    widths."""
    w = np.asarray(widths, dtype=float)
    if w.ndim != 1 or not len(w) or not np.all(w > 0):
        raise ValueError(f"widths must be a non-empty list of positive numbers, got {widths!r}")
    # a pure function of its arguments, asked again for the same networks (a claim's rule and
    # its report fit every sampled network): remembered
    return _fit_regnet_widths(
        tuple(w.tolist()), int(quantum), (float(w_m_range[0]), float(w_m_range[1])),
        float(w_m_step), int(max_w_0),
    )  # fmt: skip


@functools.lru_cache(maxsize=4096)
def _fit_regnet_widths(
    widths: tuple[float, ...],
    quantum: int,
    w_m_range: tuple[float, float],
    w_m_step: float,
    max_w_0: int,
) -> RegNetFit:
    w = np.asarray(widths, dtype=float)
    d, logw = len(w), np.log(w)
    top = max(2.0 * w[0], float(quantum))
    w0s = np.arange(quantum, top + 1e-9, quantum, dtype=float)
    if len(w0s) > max_w_0:
        near = np.round(w[0] / quantum) * quantum + quantum * np.arange(-2, 3)
        thin = np.round(np.geomspace(quantum, top, max_w_0 - 5) / quantum) * quantum
        w0s = np.concatenate([thin, near[near >= quantum]])
    w0s = np.unique(np.concatenate([w0s, [w[0]]]))
    if d == 1:  # no w_a or w_m to fit: the nearest level
        _, lv = quantized_widths(1, w0s, 0.0, 2.0, quantum)
        e = np.abs(logw[0] - np.log(np.maximum(lv[:, 0], 1)))
        k = int(np.argmin(e))
        return RegNetFit(
            float(w0s[k]), 0.0, math.nan, float(e[k]), (round(w[0]),), (int(lv[k, 0]),)
        )
    w_a_max = 4.0 * max(float(w.max() - w.min()), float(quantum)) / (d - 1)
    lo_m, hi_m = w_m_range
    wms = np.round(np.arange(lo_m, hi_m + w_m_step / 2, w_m_step), 10)
    w_0, w_a, w_m, e_fit = _pick(logw, w0s, wms, w_a_max, quantum)
    # near the best w_0 and w_m: w_m within 4 steps, 25 times finer, then within one of those
    # 25 times finer again (each grid holds the best point so far, so e_fit can't grow)
    for width, n in ((4 * w_m_step, 201), (w_m_step / 25, 51)):
        wms = w_m + np.linspace(-1.0, 1.0, n) * width
        w0s = np.unique([x for x in (w_0 - quantum, w_0, w_0 + quantum) if x > 0])
        wms = np.unique(np.concatenate([np.clip(wms, lo_m, hi_m), [w_m]]))
        w_0, w_a, w_m, e_fit = _pick(logw, w0s, wms, w_a_max, quantum)
    ks, fitted = quantized_widths(d, w_0, w_a, w_m, quantum)
    if not ks.any():  # one step: w_m is not determined
        w_m = math.nan
    return RegNetFit(
        w_0, w_a, w_m, e_fit, tuple(round(x) for x in w), tuple(int(x) for x in fitted)
    )


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


def pareto_front(errors: Sequence[float], times: Sequence[float]) -> list[int]:
    """Indices of the models on the front of (error, time), both to be low, ordered by time:
    model i is on it unless some j has e_j <= e_i and t_j <= t_i with one of the two strictly
    lower. Models with a non-finite time are left out."""
    e = np.asarray(errors, dtype=float)
    t = np.asarray(times, dtype=float)
    order = sorted((i for i in range(len(e)) if np.isfinite(t[i])), key=lambda i: (t[i], e[i]))
    front: list[int] = []
    best = math.inf
    for i in order:  # by time; a model joins if it errs less than every faster one
        if e[i] < best:
            front.append(i)
            best = e[i]
    return front
