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
from cnnzoo.models.resnet import ResNet
from cnnzoo.registry import register_model

__all__ = ["resnext"]

_PAPER = "Xie et al. 2017, Aggregated Residual Transformations for Deep Neural Networks"


def resnext(
    layers: Sequence[int],
    groups: int,
    width_per_group: int,
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    zero_init_residual: bool = False,
) -> ResNet:
    """A ResNeXt of any depth: bottleneck blocks whose 3×3 convolution has ``groups`` groups of
    ``width_per_group`` channels at the first stage (doubling per stage, as the widths do)."""
    if groups < 1 or width_per_group < 1:
        raise ConfigError(
            f"groups and width_per_group must be positive, got {groups} and {width_per_group}"
        )
    return ResNet(
        "bottleneck", layers, num_classes, in_channels, zero_init_residual, groups, width_per_group
    )


_TORCHVISION = {
    "resnext50_32x4d": ((3, 4, 6, 3), 32, 4),
    "resnext101_32x8d": ((3, 4, 23, 3), 32, 8),
    "resnext101_64x4d": ((3, 4, 23, 3), 64, 4),
}


def _register(name: str) -> None:
    layers, groups, width = _TORCHVISION[name]

    def builder(
        *, num_classes: int = 1000, in_channels: int = 3, zero_init_residual: bool = False
    ) -> ResNet:
        return resnext(
            layers,
            groups,
            width,
            num_classes=num_classes,
            in_channels=in_channels,
            zero_init_residual=zero_init_residual,
        )

    builder.__name__ = builder.__qualname__ = name
    builder.__doc__ = (
        f"ResNeXt-{50 if layers[2] == 6 else 101} {groups}×{width}d (Xie et al., CVPR 2017): "
        f"{groups} groups of {width} channels in each bottleneck; torchvision-compatible."
    )
    register_model(family="resnext", year=2016, paper=_PAPER, input_size=224, name=name)(builder)
    globals()[name] = builder
    __all__.append(name)


for _name in _TORCHVISION:
    _register(_name)
