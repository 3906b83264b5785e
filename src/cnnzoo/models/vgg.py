"""VGG — Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", ICLR 2015.

VGG replaced hand-tuned layer-by-layer design with a repeated *block*: a few 3×3 convolutions
then a 2×2 max pooling that halves the resolution. Two stacked 3×3 convolutions see as far as one
5×5 with fewer parameters and one more non-linearity, so the network goes deep and narrow.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from cnnzoo.blocks import vgg_block
from cnnzoo.errors import ConfigError
from cnnzoo.models.base import SpatialOp, ZooModel, chain_out_size, fc_classifier, kaiming_init
from cnnzoo.registry import register_model

__all__ = [
    "VGG", "vgg", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19",
    "vgg19_bn", "vgg_d2l",
]  # fmt: skip

_PAPER = (
    "Simonyan & Zisserman 2015, Very Deep Convolutional Networks for Large-Scale Image Recognition"
)

# (num_convs, channels) per block; torchvision's configurations A, B, D, E.
VGG_BLOCKS: dict[int, tuple[tuple[int, int], ...]] = {
    11: ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512)),
    13: ((2, 64), (2, 128), (2, 256), (2, 512), (2, 512)),
    16: ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512)),
    19: ((2, 64), (2, 128), (4, 256), (4, 512), (4, 512)),
}


class VGG(ZooModel):
    """A stack of VGG blocks and a 4096-4096 classifier with dropout.

    Args:
        blocks: (number of 3×3 convolutions, channels) per block, or (number, channels, kernel)
            for another odd kernel size; each block ends with a 2×2 max pooling, so a network of
            ``k`` blocks needs at least 2**k pixels per side.
        batch_norm: batch norm after every convolution.
        pool_size: adaptive average pooling of the last map to this size (torchvision's 7), or
            ``None`` to flatten it as it is (the book's), which fixes the input size.
        hidden: width of the two hidden fully connected layers.
        init_weights: torchvision's initialisation (He-normal convolutions, N(0, 0.01) linear
            layers); ``False`` keeps PyTorch's.
    """

    classifier_layers = ("classifier.-1",)

    def __init__(
        self,
        blocks: Sequence[Sequence[int]],
        num_classes: int = 1000,
        in_channels: int = 3,
        batch_norm: bool = False,
        dropout: float = 0.5,
        hidden: int = 4096,
        pool_size: int | None = 7,
        input_size: int = 224,
        init_weights: bool = True,
    ) -> None:
        super().__init__()
        if not blocks:
            raise ConfigError("VGG needs at least one block of (num_convs, channels)")
        for i, blk in enumerate(blocks):
            if len(blk) not in (2, 3) or min(int(v) for v in blk) < 1:
                raise ConfigError(
                    f"VGG block {i} is {blk!r}; each block is (num_convs >= 1, channels >= 1) "
                    f"or (num_convs, channels, odd kernel size)"
                )
        self.in_channels, self.num_classes = in_channels, num_classes
        self.blocks = tuple(tuple(int(v) for v in blk) for blk in blocks)
        layers: list[nn.Module] = []
        c_in = in_channels
        for blk in self.blocks:
            num_convs, channels = blk[0], blk[1]
            kernel = blk[2] if len(blk) == 3 else 3
            layers += vgg_block(num_convs, c_in, channels, batch_norm, kernel)
            c_in = channels
        self.features = nn.Sequential(*layers)
        self.min_input_size = 2 ** len(self.blocks)
        if pool_size is None:
            side = chain_out_size(input_size, [SpatialOp(2, 2)] * len(self.blocks))
            if side < 1:
                raise ConfigError(
                    f"this VGG has {len(self.blocks)} poolings and needs at least "
                    f"{self.min_input_size}x{self.min_input_size} images, not {input_size}"
                )
            self.fixed_input_size = (input_size, input_size)
            self.avgpool: nn.Module = nn.Identity()
        else:
            side = pool_size
            self.avgpool = nn.AdaptiveAvgPool2d((pool_size, pool_size))
        self.num_features = c_in * side * side
        self.classifier = nn.Sequential(
            *fc_classifier(self.num_features, hidden, num_classes, dropout)
        )
        self.torchvision_init = init_weights
        self.init_weights()

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(x), 1))

    def init_layer(self, m: nn.Module) -> None:
        if self.torchvision_init:
            kaiming_init(m, linear_std=0.01)


@register_model(family="vgg", year=2014, paper=_PAPER, input_size=224, generic=True)
def vgg(
    blocks: Sequence[Sequence[int]] = VGG_BLOCKS[11],
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    batch_norm: bool = False,
    dropout: float = 0.5,
    hidden: int = 4096,
    pool_size: int | None = 7,
    input_size: int = 224,
) -> VGG:
    """A VGG of your own design from a list of (num_convs, channels[, kernel]) blocks, e.g.
    ``vgg([(1, 32), (2, 64), (2, 128)], num_classes=10, in_channels=1, hidden=256)`` for 28×28
    images; ``pool_size=None`` flattens the last map as the book does (then ``input_size`` is
    the one size it takes)."""
    return VGG(blocks, num_classes, in_channels, batch_norm, dropout, hidden, pool_size, input_size)


@register_model(family="vgg", year=2014, paper=_PAPER, input_size=224)
def vgg11(*, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> VGG:
    """VGG-11: 8 3×3 convolutions in 5 blocks and 3 fully connected layers
    (Simonyan & Zisserman, ICLR 2015); torchvision-compatible."""
    return VGG(VGG_BLOCKS[11], num_classes, in_channels, False, dropout)


@register_model(family="vgg", year=2014, paper=_PAPER, input_size=224)
def vgg11_bn(*, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> VGG:
    """VGG-11 with batch normalisation: 8 3×3 convolutions in 5 blocks and 3 fully connected layers
    (Simonyan & Zisserman, ICLR 2015); torchvision-compatible."""
    return VGG(VGG_BLOCKS[11], num_classes, in_channels, True, dropout)


@register_model(family="vgg", year=2014, paper=_PAPER, input_size=224)
def vgg13(*, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> VGG:
    """VGG-13: 10 3×3 convolutions in 5 blocks and 3 fully connected layers
    (Simonyan & Zisserman, ICLR 2015); torchvision-compatible."""
    return VGG(VGG_BLOCKS[13], num_classes, in_channels, False, dropout)


@register_model(family="vgg", year=2014, paper=_PAPER, input_size=224)
def vgg13_bn(*, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> VGG:
    """VGG-13 with batch normalisation: 10 3×3 convolutions in 5 blocks and 3 fully connected layers
    (Simonyan & Zisserman, ICLR 2015); torchvision-compatible."""
    return VGG(VGG_BLOCKS[13], num_classes, in_channels, True, dropout)


@register_model(family="vgg", year=2014, paper=_PAPER, input_size=224)
def vgg16(*, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> VGG:
    """VGG-16: 13 3×3 convolutions in 5 blocks and 3 fully connected layers
    (Simonyan & Zisserman, ICLR 2015); torchvision-compatible."""
    return VGG(VGG_BLOCKS[16], num_classes, in_channels, False, dropout)


@register_model(family="vgg", year=2014, paper=_PAPER, input_size=224)
def vgg16_bn(*, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> VGG:
    """VGG-16 with batch normalisation: 13 3×3 convolutions in 5 blocks and 3 fully connected layers
    (Simonyan & Zisserman, ICLR 2015); torchvision-compatible."""
    return VGG(VGG_BLOCKS[16], num_classes, in_channels, True, dropout)


@register_model(family="vgg", year=2014, paper=_PAPER, input_size=224)
def vgg19(*, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> VGG:
    """VGG-19: 16 3×3 convolutions in 5 blocks and 3 fully connected layers
    (Simonyan & Zisserman, ICLR 2015); torchvision-compatible."""
    return VGG(VGG_BLOCKS[19], num_classes, in_channels, False, dropout)


@register_model(family="vgg", year=2014, paper=_PAPER, input_size=224)
def vgg19_bn(*, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> VGG:
    """VGG-19 with batch normalisation: 16 3×3 convolutions in 5 blocks and 3 fully connected layers
    (Simonyan & Zisserman, ICLR 2015); torchvision-compatible."""
    return VGG(VGG_BLOCKS[19], num_classes, in_channels, True, dropout)


@register_model(family="vgg", year=2014, paper=_PAPER, input_size=224)
def vgg_d2l(
    *, num_classes: int = 10, in_channels: int = 1, dropout: float = 0.5, input_size: int = 224
) -> VGG:
    """VGG-11 as in D2L §8.2, with a quarter of the channels (16-32-64-128-128) for
    Fashion-MNIST at 224×224. Like the book's, it flattens the last map (fixed input size)."""
    return VGG(
        ((1, 16), (1, 32), (2, 64), (2, 128), (2, 128)),
        num_classes,
        in_channels,
        dropout=dropout,
        pool_size=None,
        input_size=input_size,
    )
