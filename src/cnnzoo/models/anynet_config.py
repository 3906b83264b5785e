"""AnyNet and RegNet configurations as plain frozen dataclasses, and the RegNet width rules —
Radosavovic et al., "Designing Network Design Spaces", CVPR 2020. No torch: cost is derived and
design spaces are sampled from these without building (or importing) a network.

:class:`StageConfig` and :class:`AnyNetConfig` describe any network of the AnyNet space (see
:mod:`cnnzoo.models.anynet` for the structure), validated on construction; :class:`BlockSpec`
lists its blocks for cost analysis; :func:`adjust_compatibility` fits widths to group widths.

**RegNet** widths follow a line, u_j = w_0 + w_a·j for block j < d, quantised in log space with
a step w_m (k_j = round(log(u_j / w_0) / log(w_m)), w_j = w_0·w_m^k_j rounded to a multiple of
8); blocks of equal width form a stage, so six numbers — d, w_0, w_a, w_m, b and g — describe a
whole network (:func:`regnet_widths`, :func:`regnet_config`, :class:`RegNetParams`;
:data:`REGNET_PARAMS` holds the published ones, built by :mod:`cnnzoo.models.regnet`).

Two roundings exist in the wild. pycls (the paper's code) rounds in float64 and rounds halves to
even when it fits widths to the group width; torchvision computes in float32 and rounds halves up
(``_make_divisible``). They disagree now and then — RegNetX-400MF's last stage is 384 channels in
pycls and 400 in torchvision — so the rules take ``rounding="pycls"`` or
``rounding="torchvision"``. Only the torchvision rounding of :func:`regnet_widths` imports torch:
torch's float32 kernels define it.

Over 450 lines so that the whole config layer (validation, fitting, the linear rule, the
published parameters) reads top to bottom in one file.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Literal

import numpy as np

from cnnzoo.errors import ConfigError

__all__ = [
    "REGNET_PARAMS",
    "AnyNetConfig",
    "BlockSpec",
    "RegNetParams",
    "RegNetWidths",
    "Rounding",
    "StageConfig",
    "adjust_compatibility",
    "positive_int",
    "regnet_config",
    "regnet_widths",
]

Rounding = Literal["pycls", "torchvision"]
_ROUNDINGS = ("pycls", "torchvision")


# --------------------------------------------------------------------------- validation helpers


def positive_int(owner: str, name: str, value: object) -> int:
    """``value`` as an int, or a :class:`ConfigError` naming ``owner`` and ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ConfigError(f"{owner}: {name} must be a positive integer, got {value!r}")
    return int(value)


def _real(owner: str, name: str, value: object, *, minimum: float, strict: bool) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        value = float(value)
        ok = math.isfinite(value) and (value > minimum if strict else value >= minimum)
    if not ok:
        bound = f"> {minimum:g}" if strict else f">= {minimum:g}"
        raise ConfigError(f"{owner}: {name} must be a finite number {bound}, got {value!r}")
    return value


def _check_rounding(rounding: str) -> None:
    if rounding not in _ROUNDINGS:
        raise ConfigError(f"rounding must be one of {_ROUNDINGS}, got {rounding!r}")


# --------------------------------------------------------------------------- width/group fit


def _make_divisible_tv(v: float, divisor: int) -> int:
    # torchvision.models._utils._make_divisible with min_value=None: rounds halves *up*, and adds
    # a step when rounding down would lose more than 10%.
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def adjust_compatibility(
    width: int, bottleneck_ratio: float, group_width: int, rounding: Rounding = "pycls"
) -> tuple[int, int]:
    """Fit a stage's width and group width together; returns ``(width, group_width)``.

    The 3×3 convolution of a block runs on ``w_b = width / bottleneck_ratio`` channels in groups of
    ``group_width``, so ``w_b`` must be a multiple of ``group_width``. With the bottleneck
    multiplier ``b_mul = 1 / bottleneck_ratio``, pycls's ``adjust_block_compatibility`` does:

    1. ``v = int(max(1, width * b_mul))`` — the bottleneck width;
    2. ``g = min(group_width, v)`` — a group cannot be wider than the convolution;
    3. ``m = lcm(g, b_mul)`` when ``b_mul > 1`` (an inverted bottleneck, so that ``v / b_mul``
       stays whole), else ``m = g``;
    4. ``v = max(m, round(v / m) * m)`` — the nearest multiple of ``m``, halves to even
       (Python's ``round``);
    5. ``width = int(v / b_mul)``.

    ``rounding="torchvision"`` follows torchvision's ``_adjust_widths_groups_compatibilty``
    instead: ``v = int(width * b_mul)``, ``g = min(group_width, v)``, then torchvision's
    ``_make_divisible(v, g)``, which rounds halves *up* and adds ``g`` when rounding down would
    lose more than 10% (``b_mul > 1`` gets no lcm step there). Example: width 392, group width 16
    gives 384 with pycls (392 / 16 = 24.5 rounds to 24) and 400 with torchvision.
    """
    _check_rounding(rounding)
    width = positive_int("adjust_compatibility", "width", width)
    group_width = positive_int("adjust_compatibility", "group_width", group_width)
    ratio = _real(
        "adjust_compatibility", "bottleneck_ratio", bottleneck_ratio, minimum=0.0, strict=True
    )
    b_mul = 1.0 / ratio
    if rounding == "torchvision":
        v = max(1, int(width * b_mul))  # max(1, ...): where torchvision would divide by zero
        g = min(group_width, v)
        v = _make_divisible_tv(v, g)
        return int(v / b_mul), g
    if b_mul > 1 and not float(b_mul).is_integer():
        raise ConfigError(
            f"adjust_compatibility: an inverted bottleneck (bottleneck_ratio < 1) needs an "
            f"integer multiplier 1/bottleneck_ratio, got 1/{ratio:g} = {b_mul:g}"
        )
    v = int(max(1, width * b_mul))
    g = int(min(group_width, v))
    m = math.lcm(g, int(b_mul)) if b_mul > 1 else g
    v = max(m, int(round(v / m) * m))
    return int(v / b_mul), g


# --------------------------------------------------------------------------- configurations


@dataclass(frozen=True)
class StageConfig:
    """One AnyNet stage: ``depth`` blocks with ``width`` output channels.

    The first block has the ``stride``; the 3×3 convolution of every block runs on
    ``bottleneck_width = round(width / bottleneck_ratio)`` channels (the paper's b, usually 1, 2
    or 4; torchvision's ``bottleneck_multiplier`` is 1/b) in groups of ``group_width`` channels
    (the paper's g; ``group_width=1`` is a depthwise convolution).
    """

    depth: int
    width: int
    stride: int = 2
    bottleneck_ratio: float = 1.0
    group_width: int = 1

    def __post_init__(self) -> None:
        owner = "StageConfig"
        for name in ("depth", "width", "stride", "group_width"):
            object.__setattr__(self, name, positive_int(owner, name, getattr(self, name)))
        ratio = _real(owner, "bottleneck_ratio", self.bottleneck_ratio, minimum=0.0, strict=True)
        object.__setattr__(self, "bottleneck_ratio", ratio)

    @property
    def bottleneck_width(self) -> int:
        """Channels of the 3×3 convolution, ``round(width / bottleneck_ratio)``."""
        return round(self.width / self.bottleneck_ratio)

    @property
    def groups(self) -> int:
        """Number of groups of the 3×3 convolution (0 when the group is wider than it)."""
        return self.bottleneck_width // self.group_width

    @property
    def is_compatible(self) -> bool:
        """Whether the bottleneck width splits into whole groups of ``group_width``."""
        w_b = self.bottleneck_width
        return w_b >= 1 and w_b % self.group_width == 0

    def adjusted(self, rounding: Rounding = "pycls") -> StageConfig:
        """This stage with width and group width fitted by :func:`adjust_compatibility`."""
        width, group_width = adjust_compatibility(
            self.width, self.bottleneck_ratio, self.group_width, rounding
        )
        return replace(self, width=width, group_width=group_width)


@dataclass(frozen=True)
class BlockSpec:
    """One block of an AnyNet, as :meth:`AnyNetConfig.blocks` lists them (for cost analysis).

    ``stage`` and ``index`` count from 0; the block's module is
    ``trunk_output.block{stage+1}.block{stage+1}-{index}``. ``se_width`` is 0 without SE.
    """

    stage: int
    index: int
    width_in: int
    width_out: int
    stride: int
    bottleneck_width: int
    group_width: int
    se_width: int

    @property
    def groups(self) -> int:
        return self.bottleneck_width // self.group_width

    @property
    def has_projection(self) -> bool:
        return self.width_in != self.width_out or self.stride != 1


@dataclass(frozen=True)
class AnyNetConfig:
    """A whole AnyNet: the stem width, the stages, and the squeeze-excitation ratio.

    ``se_ratio=0`` builds X blocks; ``se_ratio > 0`` builds Y blocks whose SE squeezes to
    ``round(se_ratio * width_in)`` channels, ``width_in`` being the block's *input* width (as
    pycls and torchvision do; RegNetY uses 0.25). The config does not insist that bottleneck and
    group widths fit (a design-space sampler may produce any); :class:`AnyNet` does, and
    :meth:`adjusted` makes them fit.
    """

    stem_width: int
    stages: tuple[StageConfig, ...]
    se_ratio: float = 0.0

    def __post_init__(self) -> None:
        owner = "AnyNetConfig"
        object.__setattr__(self, "stem_width", positive_int(owner, "stem_width", self.stem_width))
        stages = tuple(self.stages) if isinstance(self.stages, list | tuple) else None
        if not stages or not all(isinstance(s, StageConfig) for s in stages):
            raise ConfigError(
                f"{owner}: stages must be a non-empty tuple of StageConfig, got {self.stages!r}"
            )
        object.__setattr__(self, "stages", stages)
        se = _real(owner, "se_ratio", self.se_ratio, minimum=0.0, strict=False)
        object.__setattr__(self, "se_ratio", se)

    @property
    def depths(self) -> tuple[int, ...]:
        return tuple(s.depth for s in self.stages)

    @property
    def widths(self) -> tuple[int, ...]:
        return tuple(s.width for s in self.stages)

    @property
    def strides(self) -> tuple[int, ...]:
        return tuple(s.stride for s in self.stages)

    @property
    def bottleneck_ratios(self) -> tuple[float, ...]:
        return tuple(s.bottleneck_ratio for s in self.stages)

    @property
    def group_widths(self) -> tuple[int, ...]:
        return tuple(s.group_width for s in self.stages)

    @property
    def depth(self) -> int:
        """Total number of blocks."""
        return sum(self.depths)

    @property
    def num_features(self) -> int:
        """Width of the last stage: what the classifier sees."""
        return self.stages[-1].width

    def se_width(self, width_in: int) -> int:
        """Squeeze channels of the SE of a block with ``width_in`` input channels (0: no SE)."""
        return round(self.se_ratio * width_in) if self.se_ratio else 0

    def problems(self) -> list[str]:
        """Why :class:`AnyNet` would refuse this config (empty when it is buildable)."""
        out = []
        for i, s in enumerate(self.stages):
            if not s.is_compatible:
                out.append(
                    f"stage {i + 1}: bottleneck width {s.bottleneck_width} (= round(width "
                    f"{s.width} / bottleneck_ratio {s.bottleneck_ratio:g})) is not divisible by "
                    f"group_width {s.group_width}"
                )
        if self.se_ratio:
            width_in = self.stem_width
            for i, s in enumerate(self.stages):
                # blocks after the first take the stage's own width as input
                narrowest = min(width_in, s.width) if s.depth > 1 else width_in
                if self.se_width(narrowest) < 1:
                    out.append(
                        f"stage {i + 1}: se_ratio {self.se_ratio:g} x block input width "
                        f"{narrowest} rounds to 0 squeeze channels"
                    )
                width_in = s.width
        return out

    @property
    def is_compatible(self) -> bool:
        return not self.problems()

    def adjusted(self, rounding: Rounding = "pycls") -> AnyNetConfig:
        """This config with every stage fitted by :func:`adjust_compatibility`."""
        return replace(self, stages=tuple(s.adjusted(rounding) for s in self.stages))

    def to_dict(self) -> dict:
        """Plain JSON-able data (``{"stem_width", "se_ratio", "stages": [{...}, ...]}``), the
        inverse of :meth:`from_dict`; what a training config stores to name any AnyNet."""
        return {
            "stem_width": self.stem_width,
            "se_ratio": self.se_ratio,
            "stages": [{f.name: getattr(s, f.name) for f in fields(s)} for s in self.stages],
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> AnyNetConfig:
        """The config described by :meth:`to_dict`'s plain data (lists and dicts, as JSON has)."""
        if not isinstance(data, Mapping) or not isinstance(data.get("stages"), list | tuple):
            raise ConfigError(
                f"an AnyNet config dict needs 'stem_width' and a list of 'stages', got {data!r}"
            )
        unknown = set(data) - {"stem_width", "se_ratio", "stages"}
        if unknown:
            raise ConfigError(f"unknown AnyNet config key(s): {', '.join(sorted(unknown))}")
        try:
            stages = tuple(StageConfig(**s) for s in data["stages"])
        except TypeError as e:
            raise ConfigError(f"bad AnyNet stage in {data['stages']!r}: {e}") from None
        return cls(data.get("stem_width", 32), stages, data.get("se_ratio", 0.0))

    def blocks(self) -> tuple[BlockSpec, ...]:
        """Every block in order, with its input/output width, stride, bottleneck and SE width."""
        out = []
        width_in = self.stem_width
        for i, s in enumerate(self.stages):
            for j in range(s.depth):
                out.append(
                    BlockSpec(
                        stage=i,
                        index=j,
                        width_in=width_in,
                        width_out=s.width,
                        stride=s.stride if j == 0 else 1,
                        bottleneck_width=s.bottleneck_width,
                        group_width=s.group_width,
                        se_width=self.se_width(width_in),
                    )
                )
                width_in = s.width
        return tuple(out)


# --------------------------------------------------------------------------- RegNet generation


@dataclass(frozen=True)
class RegNetWidths:
    """The per-block widths of a RegNet, step by step (block j counts from 0).

    ``continuous`` holds u_j = w_0 + w_a·j, ``exponents`` k_j = round(log(u_j / w_0) / log(w_m)),
    ``quantized`` w_j = w_0·w_m^k_j rounded to a multiple of the quantum. Runs of equal
    ``quantized`` widths are the stages (before :func:`adjust_compatibility`).
    """

    continuous: tuple[float, ...]
    exponents: tuple[int, ...]
    quantized: tuple[int, ...]

    def _runs(self) -> list[tuple[int, int]]:
        runs: list[list[int]] = []
        for w in self.quantized:
            if runs and runs[-1][0] == w:
                runs[-1][1] += 1
            else:
                runs.append([w, 1])
        return [(w, d) for w, d in runs]

    @property
    def stage_widths(self) -> tuple[int, ...]:
        return tuple(w for w, _ in self._runs())

    @property
    def stage_depths(self) -> tuple[int, ...]:
        return tuple(d for _, d in self._runs())


def _check_regnet(depth: int, w_0: int, w_a: float, w_m: float, quantum: int) -> None:
    owner = "RegNet"
    positive_int(owner, "depth", depth)
    positive_int(owner, "w_0", w_0)
    positive_int(owner, "quantum", quantum)
    _real(owner, "w_a", w_a, minimum=0.0, strict=False)
    _real(owner, "w_m", w_m, minimum=1.0, strict=True)
    if w_0 % quantum:
        raise ConfigError(f"{owner}: w_0 must be a multiple of quantum={quantum}, got {w_0}")


def regnet_widths(
    depth: int,
    w_0: int,
    w_a: float,
    w_m: float,
    quantum: int = 8,
    rounding: Rounding = "pycls",
) -> RegNetWidths:
    """Per-block widths of a RegNet (the paper's linear rule, quantised); see :class:`RegNetWidths`.

    ``rounding="pycls"`` computes like pycls's ``generate_regnet`` (numpy float64);
    ``rounding="torchvision"`` like torchvision's ``BlockParams.from_init_params`` (torch
    float32 on the CPU). Both round halves to even at this step, so they differ only where
    float32 and float64 land on different sides of a rounding boundary; the half-up rounding of
    torchvision comes later, in :func:`adjust_compatibility`.
    """
    _check_rounding(rounding)
    _check_regnet(depth, w_0, w_a, w_m, quantum)
    if rounding == "pycls":
        ws_cont = np.arange(depth) * w_a + w_0
        ks = np.round(np.log(ws_cont / w_0) / np.log(w_m))
        ws_all = np.round(np.divide(w_0 * np.power(w_m, ks), quantum)).astype(int) * quantum
        cont, exps, quant = ws_cont.tolist(), ks.tolist(), ws_all.tolist()
    else:
        # torchvision's rounding is whatever torch's float32 kernels give, so it is computed
        # with torch (imported here: the rest of this module needs no torch). Pinned to float32
        # on the CPU, so that neither the default dtype nor a surrounding
        # ``with torch.device("meta")`` changes the result.
        import torch

        widths_cont = torch.arange(depth, dtype=torch.float32, device="cpu") * w_a + w_0
        ks_t = torch.round(torch.log(widths_cont / w_0) / math.log(w_m))
        quant = (torch.round(torch.divide(w_0 * torch.pow(w_m, ks_t), quantum)) * quantum).int()
        cont, exps, quant = widths_cont.tolist(), ks_t.tolist(), quant.tolist()
    return RegNetWidths(
        continuous=tuple(float(u) for u in cont),
        exponents=tuple(int(k) for k in exps),
        quantized=tuple(int(w) for w in quant),
    )


def regnet_config(
    depth: int,
    w_0: int,
    w_a: float,
    w_m: float,
    group_width: int,
    bottleneck_ratio: float = 1.0,
    se_ratio: float = 0.0,
    stem_width: int = 32,
    quantum: int = 8,
    rounding: Rounding = "pycls",
) -> AnyNetConfig:
    """The :class:`AnyNetConfig` of the RegNet with these parameters.

    Computes the per-block widths (:func:`regnet_widths`), makes each run of equal widths a
    stage with stride 2, the given bottleneck ratio and group width, and fits each stage with
    :func:`adjust_compatibility` — all with pycls's or torchvision's ``rounding``.
    """
    positive_int("RegNet", "group_width", group_width)
    widths = regnet_widths(depth, w_0, w_a, w_m, quantum, rounding)
    stages = tuple(
        StageConfig(d, w, 2, bottleneck_ratio, group_width).adjusted(rounding)
        for w, d in zip(widths.stage_widths, widths.stage_depths, strict=True)
    )
    return AnyNetConfig(stem_width=stem_width, stages=stages, se_ratio=se_ratio)


@dataclass(frozen=True)
class RegNetParams:
    """The parameters of one RegNet, and the rounding that turns them into a network."""

    depth: int
    w_0: int
    w_a: float
    w_m: float
    group_width: int
    bottleneck_ratio: float = 1.0
    se_ratio: float = 0.0
    stem_width: int = 32
    quantum: int = 8
    rounding: Rounding = "pycls"

    def __post_init__(self) -> None:
        _check_rounding(self.rounding)
        _check_regnet(self.depth, self.w_0, self.w_a, self.w_m, self.quantum)

    def widths(self) -> RegNetWidths:
        return regnet_widths(self.depth, self.w_0, self.w_a, self.w_m, self.quantum, self.rounding)

    def config(self) -> AnyNetConfig:
        return regnet_config(**{f.name: getattr(self, f.name) for f in fields(self)})


#: The RegNets that :mod:`cnnzoo.models.regnet` registers, by model name. pycls's come from its
#: model zoo (``configs/dds_baselines``), torchvision's from ``torchvision/models/regnet.py``.
REGNET_PARAMS: dict[str, RegNetParams] = {
    "regnetx_200mf": RegNetParams(13, 24, 36.44, 2.49, 8),
    "regnetx_400mf": RegNetParams(22, 24, 24.48, 2.54, 16),
    "regnetx_600mf": RegNetParams(16, 48, 36.97, 2.24, 24),
    "regnetx_800mf": RegNetParams(16, 56, 35.73, 2.28, 16),
    "regnety_200mf": RegNetParams(13, 24, 36.44, 2.49, 8, se_ratio=0.25),
    "regnety_400mf": RegNetParams(16, 48, 27.89, 2.09, 8, se_ratio=0.25),
    "regnety_600mf": RegNetParams(15, 48, 32.54, 2.32, 16, se_ratio=0.25),
    "regnety_800mf": RegNetParams(14, 56, 38.84, 2.4, 16, se_ratio=0.25),
    "regnet_x_400mf": RegNetParams(22, 24, 24.48, 2.54, 16, rounding="torchvision"),
    "regnet_x_800mf": RegNetParams(16, 56, 35.73, 2.28, 16, rounding="torchvision"),
    "regnet_y_400mf": RegNetParams(16, 48, 27.89, 2.09, 8, se_ratio=0.25, rounding="torchvision"),
    "regnet_y_800mf": RegNetParams(14, 56, 38.84, 2.4, 16, se_ratio=0.25, rounding="torchvision"),
}
