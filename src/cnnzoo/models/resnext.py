"""ResNeXt — Xie, Girshick, Dollár, Tu & He, "Aggregated Residual Transformations for Deep
Neural Networks", CVPR 2017.

ResNeXt replaces the 3×3 convolution of ResNet's bottleneck with a *grouped* convolution: the
block becomes the sum of ``groups`` parallel, identical narrow paths (Inception's multi-branch
idea without hand-designed branches). "Cardinality" — the number of groups — turns out to be a
better use of a compute budget than more depth or width. Names follow torchvision:
``resnext50_32x4d`` has 32 groups of 4 channels each at the first stage.
"""

from __future__ import annotations

from collections.abc import Sequence

from cnnzoo.errors import ConfigError
from cnnzoo.models.anynet_config import positive_int
from cnnzoo.models.resnet import ResNet
from cnnzoo.registry import register_model

__all__ = ["resnext", "resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d"]

_PAPER = "Xie et al. 2017, Aggregated Residual Transformations for Deep Neural Networks"


@register_model(family="resnext", year=2016, paper=_PAPER, input_size=224, generic=True)
def resnext(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    layers: Sequence[int] = (3, 4, 6, 3),
    groups: int = 32,
    width_per_group: int = 4,
    zero_init_residual: bool = False,
) -> ResNet:
    """A ResNeXt of any depth and cardinality (Xie et al., CVPR 2017): ``layers`` bottleneck
    blocks per stage whose 3×3 convolution has ``groups`` groups of ``width_per_group`` channels
    at the first stage (doubling per stage, as the widths do); the defaults are ResNeXt-50 32×4d,
    ``layers=(1, 1, 1, 1), groups=8`` a small one."""
    if isinstance(layers, str) or not isinstance(layers, Sequence) or len(layers) != 4:
        raise ConfigError(
            f"resnext: layers must be 4 positive block counts, one per stage, e.g. [1, 1, 1, 1]; "
            f"got {layers!r}"
        )
    layers = tuple(positive_int("resnext", "a stage's block count in layers", n) for n in layers)
    groups = positive_int("resnext", "groups", groups)
    width_per_group = positive_int("resnext", "width_per_group", width_per_group)
    return ResNet(
        "bottleneck", layers, num_classes, in_channels, zero_init_residual, groups, width_per_group
    )


@register_model(family="resnext", year=2016, paper=_PAPER, input_size=224)
def resnext50_32x4d(
    *, num_classes: int = 1000, in_channels: int = 3, zero_init_residual: bool = False
) -> ResNet:
    """ResNeXt-50 32×4d (Xie et al., CVPR 2017): 32 groups of 4 channels in each bottleneck;
    torchvision-compatible.

    About ResNet-50's cost: each bottleneck twice as wide, its 3×3 convolution in 32 groups.
    """
    return resnext(
        layers=(3, 4, 6, 3), groups=32, width_per_group=4,
        num_classes=num_classes, in_channels=in_channels,
        zero_init_residual=zero_init_residual,
    )  # fmt: skip


@register_model(family="resnext", year=2016, paper=_PAPER, input_size=224)
def resnext101_32x8d(
    *, num_classes: int = 1000, in_channels: int = 3, zero_init_residual: bool = False
) -> ResNet:
    """ResNeXt-101 32×8d (Xie et al., CVPR 2017): 32 groups of 8 channels in each bottleneck;
    torchvision-compatible."""
    return resnext(
        layers=(3, 4, 23, 3), groups=32, width_per_group=8,
        num_classes=num_classes, in_channels=in_channels,
        zero_init_residual=zero_init_residual,
    )  # fmt: skip


@register_model(family="resnext", year=2016, paper=_PAPER, input_size=224)
def resnext101_64x4d(
    *, num_classes: int = 1000, in_channels: int = 3, zero_init_residual: bool = False
) -> ResNet:
    """ResNeXt-101 64×4d (Xie et al., CVPR 2017): 64 groups of 4 channels in each bottleneck;
    torchvision-compatible.

    Twice the cardinality of ``resnext101_32x8d`` at half the group width.
    """
    return resnext(
        layers=(3, 4, 23, 3), groups=64, width_per_group=4,
        num_classes=num_classes, in_channels=in_channels,
        zero_init_residual=zero_init_residual,
    )  # fmt: skip
