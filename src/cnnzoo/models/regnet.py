"""The named RegNets — Radosavovic et al., "Designing Network Design Spaces", CVPR 2020 — one
builder per name, and Dive into Deep Learning's RegNetX32.

``regnetx_*`` / ``regnety_*`` are pycls's model zoo with pycls's rounding; ``regnet_x_*`` /
``regnet_y_*`` are torchvision's networks with torchvision's rounding, so they load its
weights. Their parameters are :data:`~cnnzoo.models.anynet_config.REGNET_PARAMS`; the two
roundings are explained in :mod:`cnnzoo.models.anynet_config`.
"""

from __future__ import annotations

from cnnzoo.models.anynet import PAPER, AnyNet
from cnnzoo.models.anynet_config import REGNET_PARAMS, AnyNetConfig, StageConfig
from cnnzoo.registry import register_model

__all__ = [
    "REGNETX32_D2L",
    "regnet_x_400mf",
    "regnet_x_800mf",
    "regnet_y_400mf",
    "regnet_y_800mf",
    "regnetx32_d2l",
    "regnetx_200mf",
    "regnetx_400mf",
    "regnetx_600mf",
    "regnetx_800mf",
    "regnety_200mf",
    "regnety_400mf",
    "regnety_600mf",
    "regnety_800mf",
]

_REG = {"family": "regnet", "year": 2020, "paper": PAPER}


def _regnet(name: str, num_classes: int, in_channels: int, zero_init_last_bn: bool) -> AnyNet:
    return AnyNet(REGNET_PARAMS[name].config(), num_classes, in_channels, zero_init_last_bn)


# --------------------------------------------------------------------------- pycls's model zoo


@register_model(**_REG, input_size=224)
def regnetx_200mf(
    *, num_classes: int = 1000, in_channels: int = 3, zero_init_last_bn: bool = False
) -> AnyNet:
    """RegNetX-200MF (pycls rounding): d=13, w_0=24, w_a=36.44, w_m=2.49, g=8.

    Radosavovic et al., "Designing Network Design Spaces", CVPR 2020; pycls model zoo."""
    return _regnet("regnetx_200mf", num_classes, in_channels, zero_init_last_bn)


@register_model(**_REG, input_size=224)
def regnetx_400mf(
    *, num_classes: int = 1000, in_channels: int = 3, zero_init_last_bn: bool = False
) -> AnyNet:
    """RegNetX-400MF (pycls rounding): d=22, w_0=24, w_a=24.48, w_m=2.54, g=16; last stage 384.

    Radosavovic et al., "Designing Network Design Spaces", CVPR 2020; pycls model zoo."""
    return _regnet("regnetx_400mf", num_classes, in_channels, zero_init_last_bn)


@register_model(**_REG, input_size=224)
def regnetx_600mf(
    *, num_classes: int = 1000, in_channels: int = 3, zero_init_last_bn: bool = False
) -> AnyNet:
    """RegNetX-600MF (pycls rounding): d=16, w_0=48, w_a=36.97, w_m=2.24, g=24.

    Radosavovic et al., "Designing Network Design Spaces", CVPR 2020; pycls model zoo."""
    return _regnet("regnetx_600mf", num_classes, in_channels, zero_init_last_bn)


@register_model(**_REG, input_size=224)
def regnetx_800mf(
    *, num_classes: int = 1000, in_channels: int = 3, zero_init_last_bn: bool = False
) -> AnyNet:
    """RegNetX-800MF (pycls rounding): d=16, w_0=56, w_a=35.73, w_m=2.28, g=16.

    Radosavovic et al., "Designing Network Design Spaces", CVPR 2020; pycls model zoo."""
    return _regnet("regnetx_800mf", num_classes, in_channels, zero_init_last_bn)


@register_model(**_REG, input_size=224)
def regnety_200mf(
    *, num_classes: int = 1000, in_channels: int = 3, zero_init_last_bn: bool = False
) -> AnyNet:
    """RegNetY-200MF (pycls rounding): RegNetX-200MF's widths with squeeze-excitation 0.25.

    Radosavovic et al., "Designing Network Design Spaces", CVPR 2020; pycls model zoo."""
    return _regnet("regnety_200mf", num_classes, in_channels, zero_init_last_bn)


@register_model(**_REG, input_size=224)
def regnety_400mf(
    *, num_classes: int = 1000, in_channels: int = 3, zero_init_last_bn: bool = False
) -> AnyNet:
    """RegNetY-400MF (pycls rounding): d=16, w_0=48, w_a=27.89, w_m=2.09, g=8, SE 0.25.

    Radosavovic et al., "Designing Network Design Spaces", CVPR 2020; pycls model zoo."""
    return _regnet("regnety_400mf", num_classes, in_channels, zero_init_last_bn)


@register_model(**_REG, input_size=224)
def regnety_600mf(
    *, num_classes: int = 1000, in_channels: int = 3, zero_init_last_bn: bool = False
) -> AnyNet:
    """RegNetY-600MF (pycls rounding): d=15, w_0=48, w_a=32.54, w_m=2.32, g=16, SE 0.25.

    Radosavovic et al., "Designing Network Design Spaces", CVPR 2020; pycls model zoo."""
    return _regnet("regnety_600mf", num_classes, in_channels, zero_init_last_bn)


@register_model(**_REG, input_size=224)
def regnety_800mf(
    *, num_classes: int = 1000, in_channels: int = 3, zero_init_last_bn: bool = False
) -> AnyNet:
    """RegNetY-800MF (pycls rounding): d=14, w_0=56, w_a=38.84, w_m=2.4, g=16, SE 0.25.

    Radosavovic et al., "Designing Network Design Spaces", CVPR 2020; pycls model zoo."""
    return _regnet("regnety_800mf", num_classes, in_channels, zero_init_last_bn)


# --------------------------------------------------------------------------- torchvision's


@register_model(**_REG, input_size=224)
def regnet_x_400mf(
    *, num_classes: int = 1000, in_channels: int = 3, zero_init_last_bn: bool = False
) -> AnyNet:
    """RegNetX-400MF as torchvision builds it (torchvision rounding: last stage 400, not 384).

    Radosavovic et al., "Designing Network Design Spaces", CVPR 2020; loads torchvision's
    weights."""
    return _regnet("regnet_x_400mf", num_classes, in_channels, zero_init_last_bn)


@register_model(**_REG, input_size=224)
def regnet_x_800mf(
    *, num_classes: int = 1000, in_channels: int = 3, zero_init_last_bn: bool = False
) -> AnyNet:
    """RegNetX-800MF as torchvision builds it (torchvision rounding).

    Radosavovic et al., "Designing Network Design Spaces", CVPR 2020; loads torchvision's
    weights."""
    return _regnet("regnet_x_800mf", num_classes, in_channels, zero_init_last_bn)


@register_model(**_REG, input_size=224)
def regnet_y_400mf(
    *, num_classes: int = 1000, in_channels: int = 3, zero_init_last_bn: bool = False
) -> AnyNet:
    """RegNetY-400MF as torchvision builds it (torchvision rounding).

    Radosavovic et al., "Designing Network Design Spaces", CVPR 2020; loads torchvision's
    weights."""
    return _regnet("regnet_y_400mf", num_classes, in_channels, zero_init_last_bn)


@register_model(**_REG, input_size=224)
def regnet_y_800mf(
    *, num_classes: int = 1000, in_channels: int = 3, zero_init_last_bn: bool = False
) -> AnyNet:
    """RegNetY-800MF as torchvision builds it (torchvision rounding).

    Radosavovic et al., "Designing Network Design Spaces", CVPR 2020; loads torchvision's
    weights."""
    return _regnet("regnet_y_800mf", num_classes, in_channels, zero_init_last_bn)


# --------------------------------------------------------------------------- the book's

#: Dive into Deep Learning's RegNetX32 (section 8.8).
REGNETX32_D2L = AnyNetConfig(
    stem_width=32,
    stages=(StageConfig(4, 32, group_width=16), StageConfig(6, 80, group_width=16)),
)


@register_model(**_REG, input_size=96)
def regnetx32_d2l(
    *, num_classes: int = 10, in_channels: int = 1, zero_init_last_bn: bool = False
) -> AnyNet:
    """RegNetX32 from Dive into Deep Learning §8.8, for 96×96 Fashion-MNIST.

    A two-stage network of the RegNetX design space (Radosavovic et al.,
    "Designing Network Design Spaces", CVPR 2020): stem 32, stages (depth 4, width 32) and
    (depth 6, width 80), group width 16, bottleneck ratio 1. The book's convolutions carry
    biases; a bias right before batch norm is cancelled by it, so they are dropped here (same
    function, fewer parameters).
    """
    return AnyNet(REGNETX32_D2L, num_classes, in_channels, zero_init_last_bn)
