"""The statistics of a verdict: intervals across seeds and the rule that reads them.

Every measured quantity becomes an :class:`Interval` — a point estimate with a two-sided
confidence interval (95% by default): Student's t for means and paired differences across seeds,
a percentile bootstrap for statistics without a formula (rank correlations), a zero-width
interval for exact quantities (parameter counts). :func:`decide` turns an interval and a
threshold into a verdict: *reproduced* when the whole interval is on the claimed side,
*not reproduced* when the whole interval is on the other side, *inconclusive* when it straddles
the threshold (or when one seed leaves the spread unknown).

No SciPy: the t quantile comes from the regularised incomplete beta function (continued
fraction, as in Numerical Recipes) and bisection; tests check it against tabulated values.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = [
    "INCONCLUSIVE",
    "NOT_REPRODUCED",
    "REPRODUCED",
    "VERDICTS",
    "Interval",
    "bootstrap_interval",
    "combine",
    "decide",
    "edf_area",
    "edf_at",
    "edf_share_above",
    "exact",
    "ks_distance",
    "mean_interval",
    "median",
    "paired_difference",
    "ratio_interval",
    "spearman",
    "t_quantile",
    "two_sample_bootstrap",
]

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
INCONCLUSIVE = "inconclusive"
VERDICTS = (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE)


@dataclass(frozen=True)
class Interval:
    """A point estimate with a confidence interval ``[low, high]`` from ``n`` measurements."""

    value: float
    low: float
    high: float
    n: int
    method: str = "t"  # t | bootstrap | exact | none

    def __post_init__(self) -> None:
        if not self.low <= self.value <= self.high and not math.isnan(self.value):
            raise ValueError(f"interval [{self.low}, {self.high}] does not hold {self.value}")

    @property
    def known(self) -> bool:
        """Whether the interval says anything (one seed leaves the spread unknown)."""
        return math.isfinite(self.low) and math.isfinite(self.high)

    def scaled(self, k: float) -> Interval:
        lo, hi = sorted((self.low * k, self.high * k))
        return Interval(self.value * k, lo, hi, self.n, self.method)

    def format(self, digits: int = 3, scale: float = 1.0, unit: str = "") -> str:
        if self.n == 0 or math.isnan(self.value):
            return "no result"
        v = self.scaled(scale)
        if v.method == "exact" or v.low == v.high:
            return f"{v.value:.{digits}f}{unit}"
        if not v.known:
            return f"{v.value:.{digits}f}{unit} (n={v.n}, no interval)"
        return f"{v.value:.{digits}f}{unit} [{v.low:.{digits}f}, {v.high:.{digits}f}]"

    def to_dict(self) -> dict:
        def num(x: float) -> float | None:
            return x if math.isfinite(x) else None

        return {
            "value": num(self.value),
            "low": num(self.low),
            "high": num(self.high),
            "n": self.n,
            "method": self.method,
        }


def exact(x: float) -> Interval:
    """A quantity without uncertainty (a parameter count, a multiply-add count)."""
    return Interval(float(x), float(x), float(x), 1, "exact")


# --------------------------------------------------------------------------- Student's t


def _betacf(a: float, b: float, x: float) -> float:
    # continued fraction of the incomplete beta function (modified Lentz)
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def _betai(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    lbt = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x)
    lbt += b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(lbt) * _betacf(a, b, x) / a
    return 1.0 - math.exp(lbt) * _betacf(b, a, 1.0 - x) / b


def _t_cdf(t: float, df: float) -> float:
    tail = 0.5 * _betai(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t distribution with ``df`` degrees of freedom."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p}")
    if df <= 0:
        raise ValueError(f"degrees of freedom must be > 0, got {df}")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while _t_cdf(hi, df) < p:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if _t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12 * max(1.0, hi):
            break
    return 0.5 * (lo + hi)


# --------------------------------------------------------------------------- intervals


def _clean(xs: Sequence[float]) -> list[float]:
    vals = [float(x) for x in xs]
    bad = [x for x in vals if not math.isfinite(x)]
    if bad:
        raise ValueError(f"measurements must be finite numbers, got {bad[:3]}")
    return vals


def mean_interval(xs: Sequence[float], level: float = 0.95) -> Interval:
    """The mean of ``xs`` with Student's t interval (unknown spread for a single value)."""
    vals = _clean(xs)
    n = len(vals)
    if n == 0:
        raise ValueError("no measurements to average")
    m = sum(vals) / n
    if n == 1:
        return Interval(m, -math.inf, math.inf, 1, "none")
    sd = math.sqrt(sum((x - m) ** 2 for x in vals) / (n - 1))
    half = t_quantile(0.5 + level / 2.0, n - 1) * sd / math.sqrt(n)
    return Interval(m, m - half, m + half, n, "t")


def paired_difference(
    a: dict[object, float], b: dict[object, float], level: float = 0.95
) -> Interval:
    """Mean of ``a[s] - b[s]`` over the seeds ``s`` both were measured with (a paired t
    interval: the seed fixes the initialisation and the data order, so pairing removes their
    shared noise)."""
    common = [s for s in a if s in b]
    if not common:
        raise ValueError(
            f"no seed measured on both sides (got {sorted(map(str, a))} and {sorted(map(str, b))})"
        )
    return mean_interval([a[s] - b[s] for s in common], level)


def ratio_interval(num: Sequence[float], den: Sequence[float], level: float = 0.95) -> Interval:
    """Ratio of paired positive measurements (``num[i] / den[i]``, e.g. two timings taken side
    by side), with a t interval on the log ratios, mapped back."""
    n_, d_ = _clean(num), _clean(den)
    if len(n_) != len(d_) or not n_:
        raise ValueError(f"need paired measurements, got {len(n_)} and {len(d_)}")
    if min(n_ + d_) <= 0:
        raise ValueError("ratios need positive measurements")
    logs = mean_interval([math.log(x / y) for x, y in zip(n_, d_, strict=True)], level)
    lo = math.exp(logs.low) if math.isfinite(logs.low) else 0.0
    hi = math.exp(logs.high) if math.isfinite(logs.high) else math.inf
    if not logs.known:
        lo, hi = -math.inf, math.inf
    return Interval(math.exp(logs.value), lo, hi, logs.n, logs.method)


def bootstrap_interval(
    stat: Callable[[list], float],
    items: Sequence,
    level: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> Interval:
    """``stat(items)`` with a percentile bootstrap interval (``items`` resampled with
    replacement; resamples where the statistic is undefined are dropped)."""
    items = list(items)
    if len(items) < 2:
        raise ValueError(f"a bootstrap needs at least 2 items, got {len(items)}")
    point = float(stat(items))
    rng = random.Random(seed)
    vals = []
    for _ in range(resamples):
        v = stat([items[rng.randrange(len(items))] for _ in items])
        if v is not None and math.isfinite(v):
            vals.append(float(v))
    return _percentiles(point, vals, len(items), level, resamples)


def _percentiles(point: float, vals: list[float], n: int, level: float, resamples: int) -> Interval:
    """The percentile interval of bootstrap values (unknown when more than half the resamples
    left the statistic undefined); it always holds the point estimate."""
    if len(vals) < resamples // 2:
        return Interval(point, -math.inf, math.inf, n, "bootstrap")
    vals = sorted(vals)
    k_lo = math.floor((1 - level) / 2 * (len(vals) - 1))
    k_hi = math.ceil((1 + level) / 2 * (len(vals) - 1))
    lo, hi = min(vals[k_lo], point), max(vals[k_hi], point)
    return Interval(point, lo, hi, n, "bootstrap")


def _ranks(xs: Sequence[float]) -> list[float]:
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    ranks = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2.0 + 1.0  # ties share their mean rank
        i = j + 1
    return ranks


def spearman(pairs: Sequence[tuple[float, float]]) -> float:
    """Spearman's rank correlation of ``(x, y)`` pairs (NaN when a side is constant)."""
    if len(pairs) < 2:
        return math.nan
    rx, ry = _ranks([p[0] for p in pairs]), _ranks([p[1] for p in pairs])
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    sxx = sum((a - mx) ** 2 for a in rx)
    syy = sum((b - my) ** 2 for b in ry)
    if sxx == 0 or syy == 0:
        return math.nan
    return sxy / math.sqrt(sxx * syy)


# --------------------------------------------------------------------------- error EDFs


def edf_at(xs: Sequence[float], x: float) -> float:
    """The empirical distribution function of ``xs`` at ``x``: the share of values <= x."""
    return sum(1 for v in xs if v <= x) / len(xs)


def ks_distance(a: Sequence[float], b: Sequence[float]) -> float:
    """The two-sample Kolmogorov–Smirnov distance: the largest vertical gap between the EDFs
    of ``a`` and ``b`` (0: the same distribution of values; 1: no overlap at all)."""
    a, b = _clean(a), _clean(b)
    if not a or not b:
        raise ValueError("the KS distance needs values on both sides")
    return max(abs(edf_at(a, x) - edf_at(b, x)) for x in sorted(set(a) | set(b)))


def edf_area(a: Sequence[float], b: Sequence[float]) -> float:
    """The signed area between the EDFs, ∫ (F_a − F_b) dx over the pooled range: positive when
    ``a``'s EDF lies above ``b``'s (``a`` has more small values: for errors, ``a`` is the better
    space). For plain EDFs it equals ``mean(b) − mean(a)``, so a difference of mean errors is
    this area with the sign turned."""
    a, b = _clean(a), _clean(b)
    if not a or not b:
        raise ValueError("the area between EDFs needs values on both sides")
    xs = sorted(set(a) | set(b))
    return sum((edf_at(a, x0) - edf_at(b, x0)) * (x1 - x0) for x0, x1 in itertools.pairwise(xs))


def edf_share_above(a: Sequence[float], b: Sequence[float]) -> float:
    """The share of the pooled range (lowest to highest value) where ``a``'s EDF is strictly
    above ``b``'s — 1.0 when ``a`` dominates everywhere (the paper's "E's EDF is above A's")."""
    a, b = _clean(a), _clean(b)
    xs = sorted(set(a) | set(b))
    if len(xs) < 2:
        return 0.0
    above = sum(
        x1 - x0 for x0, x1 in itertools.pairwise(xs) if edf_at(a, x0) > edf_at(b, x0) + 1e-12
    )
    return above / (xs[-1] - xs[0])


def median(xs: Sequence[float]) -> float:
    vals = sorted(_clean(xs))
    if not vals:
        raise ValueError("no values")
    k = len(vals) // 2
    return vals[k] if len(vals) % 2 else (vals[k - 1] + vals[k]) / 2.0


def two_sample_bootstrap(
    stat: Callable[[list, list], float],
    a: Sequence[float],
    b: Sequence[float],
    level: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> Interval:
    """``stat(a, b)`` of two independent samples (e.g. the networks of two design spaces) with
    a percentile bootstrap interval: each side resampled with replacement on its own."""
    a, b = list(a), list(b)
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"a bootstrap needs at least 2 values a side, got {len(a)} and {len(b)}")
    point = float(stat(a, b))
    rng = random.Random(seed)
    vals = []
    for _ in range(resamples):
        ra = [a[rng.randrange(len(a))] for _ in a]
        rb = [b[rng.randrange(len(b))] for _ in b]
        v = stat(ra, rb)
        if v is not None and math.isfinite(v):
            vals.append(float(v))
    return _percentiles(point, vals, min(len(a), len(b)), level, resamples)


# --------------------------------------------------------------------------- verdicts


def decide(interval: Interval, threshold: float, claimed: str = ">") -> str:
    """The verdict on "the quantity is ``claimed`` (``>`` or ``<``) ``threshold``": reproduced
    when the whole interval is on the claimed side, not reproduced when the whole interval is on
    the other side (touching the threshold counts as the other side), inconclusive otherwise."""
    if claimed not in (">", "<"):
        raise ValueError(f"claimed must be '>' or '<', got {claimed!r}")
    lo, hi = interval.low, interval.high
    if math.isnan(interval.value) or math.isnan(lo) or math.isnan(hi):
        return INCONCLUSIVE
    if claimed == ">":
        if lo > threshold:
            return REPRODUCED
        if hi <= threshold:
            return NOT_REPRODUCED
    else:
        if hi < threshold:
            return REPRODUCED
        if lo >= threshold:
            return NOT_REPRODUCED
    return INCONCLUSIVE


def combine(verdicts: Sequence[str]) -> str:
    """One verdict for a claim made of several findings: not reproduced if any finding is not,
    else inconclusive if any is, else reproduced."""
    if not verdicts:
        return INCONCLUSIVE
    for v in verdicts:
        if v not in VERDICTS:
            raise ValueError(f"unknown verdict {v!r}")
    if NOT_REPRODUCED in verdicts:
        return NOT_REPRODUCED
    if INCONCLUSIVE in verdicts:
        return INCONCLUSIVE
    return REPRODUCED
