"""Network in Network — Lin, Chen & Yan, "Network In Network", ICLR 2014.

NiN put a small multilayer perceptron at every pixel — 1×1 convolutions after each spatial
convolution — and dropped the huge fully connected classifier: the last block emits one channel
per class and global average pooling turns each into a logit. The result has a fraction of
AlexNet's parameters and keeps the spatial structure to the end.
"""

from __future__ import annotations

import torch
from torch import nn

from cnnzoo.blocks import nin_block
from cnnzoo.models.base import SpatialOp, ZooModel, chain_min_size
from cnnzoo.registry import register_model

__all__ = ["NiN", "nin"]


class NiN(ZooModel):
    """The book's NiN (D2L §8.3): NiN blocks of 96, 256, 384 channels with 3×3/2 max pooling,
    dropout, a final NiN block with ``num_classes`` channels and global average pooling."""

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

    def reset_classifier(self, num_classes: int) -> None:
        self.num_classes = num_classes
        self.classifier = nin_block(self.num_features, num_classes, 3, 1, 1)


@register_model(
    family="nin", year=2013, paper="Lin et al. 2014, Network In Network", input_size=224
)
def nin(*, num_classes: int = 10, in_channels: int = 1, dropout: float = 0.5) -> NiN:
    """Network in Network as in D2L §8.3 (Lin et al., ICLR 2014): 1×1 convolutions and global
    average pooling instead of fully connected layers."""
    return NiN(num_classes, in_channels, dropout)
