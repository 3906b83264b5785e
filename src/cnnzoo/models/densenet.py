"""DenseNet — Huang, Liu, van der Maaten & Weinberger, "Densely Connected Convolutional
Networks", CVPR 2017.

DenseNet introduced dense connectivity: inside a dense block every layer receives the
concatenation of the feature maps of *all* earlier layers and adds only ``growth_rate`` new
ones, so features are reused instead of re-learned and gradients reach every layer directly.
Between blocks, transition layers (BN, ReLU, 1×1 convolution, 2×2 average pooling) halve both
the channels ("compression") and the spatial size. DenseNet-BC, torchvision's version, also puts
a 1×1 bottleneck convolution before each layer's 3×3 convolution.

``densenet121`` … ``densenet201`` are torchvision's networks (state dicts load with
``strict=True``); ``densenet_d2l`` is Dive into Deep Learning's §8.7 network for 96×96
grayscale images.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from cnnzoo.blocks import DenseBlock, Transition
from cnnzoo.errors import ConfigError
from cnnzoo.models.base import SpatialOp, ZooModel, chain_min_size, kaiming_init
from cnnzoo.registry import register_model

__all__ = [
    "DenseNet", "densenet", "densenet121", "densenet161", "densenet169", "densenet201",
    "densenet_d2l",
]  # fmt: skip

_PAPER = "Huang et al. 2017, Densely Connected Convolutional Networks"


class DenseNet(ZooModel):
    """DenseNet: a 7×7/2 stem with 3×3/2 max pooling, dense blocks joined by transitions that
    halve the channels and the size, a final BN + ReLU, global average pooling and a linear
    classifier. The layers live in ``features`` (``conv0``, ``norm0``, ``relu0``, ``pool0``,
    ``denseblock1``, ``transition1``, …, ``norm5``) and ``classifier``, as in torchvision.

    Args:
        growth_rate: feature maps each dense layer adds (``k`` in the paper).
        block_config: number of layers in each dense block.
        num_init_features: channels of the stem convolution.
        bn_size: bottleneck width as a multiple of ``growth_rate`` (``None``: no bottleneck).
        drop_rate: dropout after each dense layer.
        memory_efficient: recompute concatenations in the backward pass (checkpointing) to save
            memory at some cost in speed.
        bias: give the convolutions biases (the book's layers have them; torchvision's don't).
        init: ``"kaiming"`` (torchvision's) or ``"xavier"`` (the book's ``init_cnn``).
        stem: ``"imagenet"`` (7×7/2 convolution and 3×3/2 max pooling) or ``"small"`` (one 3×3
            convolution, the paper's CIFAR stem, for 28–32 pixel images).
    """

    classifier_layers = ("classifier",)

    def __init__(
        self,
        growth_rate: int = 32,
        block_config: Sequence[int] = (6, 12, 24, 16),
        num_init_features: int = 64,
        bn_size: int | None = 4,
        drop_rate: float = 0.0,
        num_classes: int = 1000,
        in_channels: int = 3,
        memory_efficient: bool = False,
        bias: bool = False,
        init: str = "kaiming",
        stem: str = "imagenet",
    ) -> None:
        super().__init__()
        if init not in ("kaiming", "xavier"):
            raise ConfigError(f"init must be 'kaiming' or 'xavier', got {init!r}")
        if stem not in ("imagenet", "small"):
            raise ConfigError(f"stem must be 'imagenet' or 'small', got {stem!r}")
        self.in_channels, self.num_classes = in_channels, num_classes
        if stem == "imagenet":
            self.features = nn.Sequential(
                OrderedDict(
                    [
                        ("conv0", nn.Conv2d(in_channels, num_init_features, 7, 2, 3, bias=bias)),
                        ("norm0", nn.BatchNorm2d(num_init_features)),
                        ("relu0", nn.ReLU(inplace=True)),
                        ("pool0", nn.MaxPool2d(kernel_size=3, stride=2, padding=1)),
                    ]
                )
            )
            ops = [SpatialOp(7, 2, 3), SpatialOp(3, 2, 1)]
        else:  # pre-activation dense layers follow, so the stem is a bare convolution
            conv0 = nn.Conv2d(in_channels, num_init_features, 3, 1, 1, bias=bias)
            self.features = nn.Sequential(OrderedDict([("conv0", conv0)]))
            ops = [SpatialOp(3, 1, 1)]
        channels = num_init_features
        for i, num_layers in enumerate(block_config):
            block = DenseBlock(
                num_layers,
                channels,
                growth_rate,
                bn_size=bn_size,
                drop_rate=drop_rate,
                memory_efficient=memory_efficient,
                bias=bias,
            )
            self.features.add_module(f"denseblock{i + 1}", block)
            channels = block.out_channels
            if i != len(block_config) - 1:
                self.features.add_module(
                    f"transition{i + 1}", Transition(channels, channels // 2, bias=bias)
                )
                channels //= 2
                ops.append(SpatialOp(2, 2))
        self.features.add_module(f"norm{len(block_config) + 1}", nn.BatchNorm2d(channels))
        self.num_features = channels
        self.classifier = nn.Linear(channels, num_classes)
        self.min_input_size = chain_min_size(ops)

        self.init = init
        self.init_weights()

    def init_layer(self, m: nn.Module) -> None:
        if self.init == "kaiming":  # torchvision's; the linear weight keeps PyTorch's default
            kaiming_init(m, mode="fan_in")
            if isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Conv2d | nn.Linear):  # the book's init_cnn
            nn.init.xavier_uniform_(m.weight)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.features(x), inplace=True)

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(x, (1, 1)), 1))


def _torchvision_densenet(
    growth_rate: int,
    block_config: tuple[int, int, int, int],
    num_init_features: int,
    num_classes: int,
    in_channels: int,
    memory_efficient: bool,
    drop_rate: float,
) -> DenseNet:
    """torchvision's DenseNet-BC: bottleneck layers (4 × growth rate), no biases, He init."""
    return DenseNet(
        growth_rate, block_config, num_init_features, bn_size=4, drop_rate=drop_rate,
        num_classes=num_classes, in_channels=in_channels, memory_efficient=memory_efficient,
    )  # fmt: skip


@register_model(family="densenet", year=2017, paper=_PAPER, input_size=224)
def densenet121(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    memory_efficient: bool = False,
    drop_rate: float = 0.0,
) -> DenseNet:
    """DenseNet-121-BC (Huang et al., CVPR 2017): growth rate 32, dense blocks of
    [6, 12, 24, 16] layers; torchvision-compatible.

    ``memory_efficient=True`` recomputes each layer's concatenation and bottleneck in the
    backward pass instead of storing them; ``drop_rate`` is the dropout after each layer.
    """
    return _torchvision_densenet(
        32, (6, 12, 24, 16), 64, num_classes, in_channels, memory_efficient, drop_rate
    )


@register_model(family="densenet", year=2017, paper=_PAPER, input_size=224)
def densenet161(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    memory_efficient: bool = False,
    drop_rate: float = 0.0,
) -> DenseNet:
    """DenseNet-161-BC (Huang et al., CVPR 2017): growth rate 48, dense blocks of
    [6, 12, 36, 24] layers; torchvision-compatible.

    Options as :func:`densenet121`.
    """
    return _torchvision_densenet(
        48, (6, 12, 36, 24), 96, num_classes, in_channels, memory_efficient, drop_rate
    )


@register_model(family="densenet", year=2017, paper=_PAPER, input_size=224)
def densenet169(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    memory_efficient: bool = False,
    drop_rate: float = 0.0,
) -> DenseNet:
    """DenseNet-169-BC (Huang et al., CVPR 2017): growth rate 32, dense blocks of
    [6, 12, 32, 32] layers; torchvision-compatible.

    Options as :func:`densenet121`.
    """
    return _torchvision_densenet(
        32, (6, 12, 32, 32), 64, num_classes, in_channels, memory_efficient, drop_rate
    )


@register_model(family="densenet", year=2017, paper=_PAPER, input_size=224)
def densenet201(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    memory_efficient: bool = False,
    drop_rate: float = 0.0,
) -> DenseNet:
    """DenseNet-201-BC (Huang et al., CVPR 2017): growth rate 32, dense blocks of
    [6, 12, 48, 32] layers; torchvision-compatible.

    Options as :func:`densenet121`.
    """
    return _torchvision_densenet(
        32, (6, 12, 48, 32), 64, num_classes, in_channels, memory_efficient, drop_rate
    )


@register_model(family="densenet", year=2017, paper=_PAPER, input_size=96)
def densenet_d2l(*, num_classes: int = 10, in_channels: int = 1) -> DenseNet:
    """DenseNet as in D2L §8.7: growth rate 32, four dense blocks of 4 plain BN-ReLU-3×3 layers.

    No bottlenecks; transitions halve the channels (64 → 192 → 96 → … → 248 features); the
    convolutions have biases. Meant for 96×96 Fashion-MNIST images.
    """
    return DenseNet(
        growth_rate=32,
        block_config=(4, 4, 4, 4),
        num_init_features=64,
        bn_size=None,
        num_classes=num_classes,
        in_channels=in_channels,
        bias=True,
        init="xavier",
    )


@register_model(family="densenet", year=2017, paper=_PAPER, input_size=32, generic=True)
def densenet(
    *,
    num_classes: int = 10,
    in_channels: int = 3,
    growth_rate: int = 12,
    block_config: Sequence[int] = (6, 6, 6),
    num_init_features: int = 24,
    bn_size: int | None = 4,
    drop_rate: float = 0.0,
    stem: str = "small",
) -> DenseNet:
    """Any DenseNet; by default a DenseNet-BC for 32×32 images as in the paper's CIFAR section
    (3×3 stem, three dense blocks, growth rate 12: DenseNet-BC-40, 0.18M parameters).

    Huang et al., "Densely Connected Convolutional Networks", CVPR 2017.
    """
    return DenseNet(
        int(growth_rate), tuple(int(b) for b in block_config), int(num_init_features),
        bn_size=bn_size, drop_rate=float(drop_rate), num_classes=num_classes,
        in_channels=in_channels, stem=stem,
    )  # fmt: skip
