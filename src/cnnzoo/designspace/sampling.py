"""Sampling a design space under a cost window: analytic cost, no network built, no duplicates,
seeded.

Each candidate is drawn from the space, fitted with pycls's width/group rule
(:func:`~cnnzoo.models.anynet_config.adjust_compatibility`, as pycls's AnyNet does when it
builds; :meth:`~cnnzoo.designspace.spaces.DesignSpace.sample` does it), costed by
:func:`~cnnzoo.cost.analytic.anynet_complexity` (plain integer arithmetic from the config) and
kept when its multiply-adds fall in the window and no earlier draw gave the same network. The
same seed always gives the same list. A generic network's draw (a
:class:`~cnnzoo.designspace.spaces.ModelSpec`) is costed by building it on the meta device
(:func:`~cnnzoo.designspace.generic.spec_complexity`).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from cnnzoo.cost.analytic import Complexity, anynet_complexity
from cnnzoo.designspace.generic import spec_complexity
from cnnzoo.designspace.spaces import (
    DesignSpace,
    Draw,
    ModelSpec,
    Ranges,
    get_space,
)
from cnnzoo.errors import ConfigError
from cnnzoo.fmt import human_count
from cnnzoo.models.anynet_config import AnyNetConfig

__all__ = [
    "Candidate",
    "SampleStats",
    "config_params",
    "format_count",
    "parse_window",
    "sample_configs",
]

_SUFFIX = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "b": 1e9}


def _parse_count(text: str) -> float:
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:e[+-]?\d+)?)\s*([kmgb]?)(?:f|flops)?\s*", text.lower())
    if not m:
        raise ConfigError(f"cannot read {text!r} as a count such as 400M, 1.5G or 25e6")
    return float(m.group(1)) * _SUFFIX[m.group(2)]


def parse_window(text: str | Sequence[float] | None) -> tuple[float, float] | None:
    """``"15M:25M"`` → (15e6, 25e6); ``":25M"`` has no lower bound, ``"15M:"`` no upper one."""
    if text is None:
        return None
    if not isinstance(text, str):
        lo, hi = text
        return (float(lo), float(hi))
    if ":" not in text:
        raise ConfigError(f"a cost window is LOW:HIGH, such as 15M:25M or 360M:400M, got {text!r}")
    a, b = text.split(":", 1)
    lo = _parse_count(a) if a.strip() else 0.0
    hi = _parse_count(b) if b.strip() else math.inf
    if not lo <= hi:
        raise ConfigError(f"cost window {text!r}: LOW must not exceed HIGH")
    return (lo, hi)


def format_count(n: float) -> str:
    """A cost as windows are written, four significant digits: ``15M``, ``1.5G``."""
    return human_count(n, ".4g")


def config_params(config: AnyNetConfig) -> dict[str, float]:
    """The AnyNet design parameters of a (fitted) config: d_i, w_i, b_i, g_i per stage (1-based)
    and the total depth."""
    out: dict[str, float] = {}
    for i, s in enumerate(config.stages, start=1):
        out[f"d{i}"] = s.depth
        out[f"w{i}"] = s.width
        out[f"b{i}"] = s.bottleneck_ratio
        out[f"g{i}"] = s.group_width
    out["depth"] = config.depth
    return out


@dataclass(frozen=True)
class Candidate:
    """One sampled network: the fitted config, its cost and its design parameters."""

    config: AnyNetConfig | ModelSpec
    cost: Complexity
    params: dict[str, float]


@dataclass
class SampleStats:
    """How many draws it took: ``drawn`` = accepted + invalid + out of window + duplicates."""

    drawn: int = 0
    invalid: int = 0
    out_of_window: int = 0
    duplicates: int = 0
    accepted: int = 0
    seconds: float = 0.0
    rejected_examples: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Candidates drawn (and costed) per second."""
        return self.drawn / self.seconds if self.seconds > 0 else math.inf


def sample_configs(
    space: str | DesignSpace,
    n: int,
    flops: tuple[float, float] | str | None = None,
    *,
    input_size: Sequence[int] = (3, 224, 224),
    num_classes: int = 1000,
    ranges: Ranges | None = None,
    seed: int = 0,
    max_draws: int | None = None,
    exclude: set[AnyNetConfig | ModelSpec] | None = None,
    stats: SampleStats | None = None,
) -> list[Candidate]:
    """``n`` distinct networks of ``space`` whose multiply-adds lie in ``flops`` (inclusive).

    ``ranges`` default to :func:`ranges_for` the input size with the space's own defaults.
    Draws stop after ``max_draws`` (default ``max(100_000, 10_000 * n)``; for a generic
    network's space, whose draws are costed by building the network, ``max(1_000, 50 * n)``),
    and a window that
    admits too few networks then raises a ``ValueError`` with what was rejected and why.
    ``exclude`` holds configs that do not count (already sampled elsewhere). ``stats`` (a
    :class:`SampleStats`) is filled in.
    """
    sp = get_space(space) if isinstance(space, str) else space
    window = parse_window(flops) if isinstance(flops, str) else flops
    lo, hi = window if window is not None else (0.0, math.inf)
    size = tuple(int(v) for v in input_size)
    r = ranges or sp.ranges(size)
    draw = Draw(seed)
    if max_draws is not None:
        limit = max_draws
    elif sp.kind == "generic":  # each draw's cost is measured (~50 ms): give up within a minute
        limit = max(1_000, 50 * n)
    else:
        limit = max(100_000, 10_000 * n)
    st = stats if stats is not None else SampleStats()
    seen: set[AnyNetConfig | ModelSpec] = set(exclude or ())
    out: list[Candidate] = []
    t0 = time.perf_counter()
    while len(out) < n and st.drawn < limit:
        st.drawn += 1
        s = sp.sample(draw, r)
        if s is None:
            st.invalid += 1
            continue
        config = s.config
        try:
            if isinstance(config, ModelSpec):
                cost = spec_complexity(config, size, num_classes)
            else:
                cost = anynet_complexity(config, size, num_classes)
        except ValueError as e:  # e.g. an SE that rounds to nothing, a too-small input
            st.invalid += 1
            if len(st.rejected_examples) < 3:
                st.rejected_examples.append(str(e))
            continue
        if not lo <= cost.flops <= hi:
            st.out_of_window += 1
            continue
        if config in seen:
            st.duplicates += 1
            continue
        seen.add(config)
        params = dict(s.params) if s.params else {}
        if isinstance(config, AnyNetConfig):
            params |= {k: v for k, v in config_params(config).items() if k not in params}
        out.append(Candidate(config, cost, params))
    st.accepted += len(out)
    st.seconds += time.perf_counter() - t0
    if len(out) < n:
        raise ConfigError(
            f"only {len(out)} of {n} distinct {sp.name} networks found in "
            f"{format_count(lo)}:{format_count(hi)} multiply-adds at input {size} after "
            f"{st.drawn:,} draws ({st.out_of_window:,} outside the window, {st.duplicates:,} "
            f"duplicates, {st.invalid:,} invalid). Widen the window or change the ranges "
            "(a window for small inputs is millions, e.g. 15M:25M at 1x28x28)."
        )
    return out
