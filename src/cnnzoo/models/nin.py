"""Network in Network — Lin, Chen & Yan, "Network In Network", ICLR 2014.

NiN put a small multilayer perceptron at every pixel — 1×1 convolutions after each spatial
convolution — and dropped the huge fully connected classifier: the last block emits one channel
per class and global average pooling turns each into a logit. The result has a fraction of
AlexNet's parameters and keeps the spatial structure to the end.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from cnnzoo.blocks import nin_block
from cnnzoo.errors import ConfigError
from cnnzoo.models.base import (
    SpatialOp,
    ZooModel,
    chain_min_size,
    chain_out_size,
    fc_classifier,
)
from cnnzoo.registry import register_model

__all__ = ["NiN", "NiNNet", "nin", "nin_net"]


class NiN(ZooModel):
    """The book's NiN (D2L §8.3): NiN blocks of 96, 256, 384 channels with 3×3/2 max pooling,
    dropout, a final NiN block with ``num_classes`` channels and global average pooling."""

    # the final NiN block: a 3×3 and two 1×1 convolutions, each with one channel per class
    classifier_layers = ("classifier.0", "classifier.2", "classifier.4")

    def __init__(self, num_classes: int = 10, in_channels: int = 1, dropout: float = 0.5) -> None:
        super().__init__()
        self.in_channels, self.num_classes = in_channels, num_classes
        self.features = nn.Sequential(
            nin_block(in_channels, 96, kernel_size=11, stride=4, padding=0),
            nn.MaxPool2d(3, stride=2),
            nin_block(96, 256, kernel_size=5, stride=1, padding=2),
            nn.MaxPool2d(3, stride=2),
            nin_block(256, 384, kernel_size=3, stride=1, padding=1),
            nn.MaxPool2d(3, stride=2),
        )
        self.num_features = 384
        self.dropout = nn.Dropout(dropout)
        self.classifier = nin_block(384, num_classes, kernel_size=3, stride=1, padding=1)
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        pool = SpatialOp(3, 2)
        self.min_input_size = chain_min_size(
            [SpatialOp(11, 4), pool, SpatialOp(5, 1, 2), pool, pool]
        )

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        x = self.classifier(self.dropout(x))
        return torch.flatten(self.global_pool(x), 1)


@register_model(
    family="nin", year=2013, paper="Lin et al. 2014, Network In Network", input_size=224
)
def nin(*, num_classes: int = 10, in_channels: int = 1, dropout: float = 0.5) -> NiN:
    """Network in Network as in D2L §8.3 (Lin et al., ICLR 2014): 1×1 convolutions and global
    average pooling instead of fully connected layers."""
    return NiN(num_classes, in_channels, dropout)


class NiNNet(ZooModel):
    """A NiN-style network of your own shapes, with the two choices NiN made as options.

    Stages of (channels, kernel, stride, padding), each a spatial convolution followed — when
    ``mlpconv`` — by two 1×1 convolutions (NiN's per-pixel MLP; without them, one convolution
    per stage as in AlexNet), then a 3×3/2 max pooling. The head is NiN's (``"gap"``: dropout,
    a block with one channel per class — its last layer linear: the class maps are the logits,
    which a final ReLU would clip at zero, killing classes as in the book's ``nin`` — global
    average pooling) or AlexNet's (``"fc"``:
    flatten, two fully connected layers of ``hidden`` with dropout, a linear classifier; it
    flattens the last map, so ``input_size`` is the one size it takes).
    """

    def __init__(
        self,
        stages: Sequence[Sequence[int]] = ((48, 5, 1, 2), (96, 3, 1, 1), (192, 3, 1, 1)),
        num_classes: int = 10,
        in_channels: int = 1,
        mlpconv: bool = True,
        head: str = "gap",
        hidden: int = 512,
        dropout: float = 0.5,
        input_size: int = 28,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        if head not in ("gap", "fc"):
            raise ConfigError(f"NiN head must be 'gap' or 'fc', got {head!r}")
        if not stages or any(len(s) != 4 for s in stages):
            raise ConfigError(
                f"stages must be (channels, kernel, stride, padding) each: {stages!r}"
            )
        self.in_channels, self.num_classes = in_channels, num_classes
        self.head_kind, self.mlpconv = head, mlpconv

        def conv(c_in: int, c_out: int, k: int, s: int = 1, p: int = 0) -> list[nn.Module]:
            bn = [nn.BatchNorm2d(c_out)] if batch_norm else []
            return [nn.Conv2d(c_in, c_out, k, s, p), *bn, nn.ReLU(inplace=True)]

        def unit(c_in: int, c_out: int, k: int, s: int, p: int) -> nn.Sequential:
            if not batch_norm and mlpconv:
                return nin_block(c_in, c_out, k, s, p)
            layers = conv(c_in, c_out, k, s, p)
            if mlpconv:
                layers += conv(c_out, c_out, 1) + conv(c_out, c_out, 1)
            return nn.Sequential(*layers)

        layers: list[nn.Module] = []
        ops: list[SpatialOp] = []
        c_in = in_channels
        for c, k, s, p in (tuple(int(v) for v in st) for st in stages):
            layers += [unit(c_in, c, k, s, p), nn.MaxPool2d(3, stride=2)]
            ops += [SpatialOp(k, s, p), SpatialOp(3, 2)]
            c_in = c
        self.features = nn.Sequential(*layers)
        self.num_features = c_in
        self.min_input_size = chain_min_size(ops)
        self.dropout = nn.Dropout(dropout)
        if head == "gap":  # the class maps are the logits: no ReLU after the last layer
            layers_head = list(unit(c_in, num_classes, 3, 1, 1).children())[:-1]
            self.classifier: nn.Module = nn.Sequential(*layers_head)
            self.classifier_layers = tuple(  # every layer of the block has a channel per class
                f"classifier.{i}"
                for i, m in enumerate(layers_head)
                if isinstance(m, nn.Conv2d | nn.BatchNorm2d)
            )
        else:
            side = chain_out_size(input_size, ops)
            if side < 1:
                raise ConfigError(
                    f"this NiN needs at least {self.min_input_size}x{self.min_input_size} "
                    f"images, not {input_size}"
                )
            self.fixed_input_size = (input_size, input_size)
            self.classifier = nn.Sequential(
                nn.Flatten(), *fc_classifier(c_in * side * side, hidden, num_classes, dropout)
            )
            self.classifier_layers = ("classifier.-1",)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        if self.head_kind == "gap":
            x = self.classifier(self.dropout(x))
            return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.classifier(x)


@register_model(
    family="nin", year=2013, paper="Lin et al. 2014, Network In Network", input_size=28,
    generic=True,
)  # fmt: skip
def nin_net(
    *,
    num_classes: int = 10,
    in_channels: int = 1,
    stages: Sequence[Sequence[int]] = ((48, 5, 1, 2), (96, 3, 1, 1), (192, 3, 1, 1)),
    mlpconv: bool = True,
    head: str = "gap",
    hidden: int = 512,
    dropout: float = 0.5,
    input_size: int = 28,
    batch_norm: bool = False,
) -> NiNNet:
    """A NiN of your own shapes (default: three stages for 28×28 images), with or without the
    1×1 convolutions (``mlpconv``) and with NiN's global-average-pooling head or AlexNet's
    fully connected one (``head="fc"``) — the two choices NiN made, as options;
    ``batch_norm`` after every convolution (not in the 2014 paper; it lets the deep stack of
    plain convolutions train on a short budget).

    Lin, Chen & Yan, "Network In Network", ICLR 2014.
    """
    return NiNNet(
        stages, num_classes, in_channels, mlpconv, head, hidden, dropout, input_size, batch_norm
    )
