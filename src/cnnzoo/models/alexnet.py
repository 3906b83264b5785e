"""AlexNet — Krizhevsky, Sutskever & Hinton, "ImageNet Classification with Deep Convolutional
Neural Networks", NeurIPS 2012.

AlexNet scaled LeNet's recipe up to ImageNet and made it work with what became the modern
toolkit: ReLU instead of saturating sigmoids, dropout in the fully connected layers, heavy data
augmentation, overlapping max pooling, local response normalisation, and training split across
two GPUs (the grouped convolutions of ``alexnet_paper``).
"""

from __future__ import annotations

import torch
from torch import nn

from cnnzoo.errors import ConfigError
from cnnzoo.models.base import (
    SpatialOp,
    ZooModel,
    chain_min_size,
    chain_out_size,
    fc_classifier,
)
from cnnzoo.registry import register_model

__all__ = ["AlexNet", "alexnet", "alexnet_d2l", "alexnet_paper"]

_PAPER = "Krizhevsky et al. 2012, ImageNet Classification with Deep Convolutional Neural Networks"


class AlexNet(ZooModel):
    """Five convolutions (11×11/4, 5×5, three 3×3), three overlapping 3×3/2 max poolings and a
    4096-4096 classifier with dropout.

    Args:
        widths: output channels of the five convolutions.
        lrn: local response normalisation after the first two convolutions (the paper's).
        groups: groups of the 2nd, 4th and 5th convolutions (2 = the paper's two-GPU split).
        first_padding: padding of the first convolution.
        pool_size: adaptive average pooling of the last feature map to this size before the
            classifier (torchvision's; makes any input from 63×63 up work), or ``None`` to flatten
            the map as it is, which fixes the input size to ``input_size``.
        d2l_order: the book's classifier order (Linear-ReLU-Dropout) instead of torchvision's
            (Dropout-Linear-ReLU).
    """

    classifier_layers = ("classifier.-1",)

    def __init__(
        self,
        num_classes: int = 1000,
        in_channels: int = 3,
        widths: tuple[int, int, int, int, int] = (64, 192, 384, 256, 256),
        lrn: bool = False,
        groups: int = 1,
        first_padding: int = 2,
        dropout: float = 0.5,
        pool_size: int | None = 6,
        input_size: int = 224,
        d2l_order: bool = False,
    ) -> None:
        super().__init__()
        self.in_channels, self.num_classes = in_channels, num_classes
        c1, c2, c3, c4, c5 = widths
        for c in (c1, c2, c3, c4, c5):
            if groups > 1 and c % groups:
                raise ConfigError(f"AlexNet widths {widths} must be divisible by groups={groups}")

        def norm() -> list[nn.Module]:
            # The paper: b = a / (k + alpha * sum a^2)^beta with n=5, alpha=1e-4, beta=.75, k=2.
            # PyTorch divides alpha by n, so pass alpha * n.
            return [nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)] if lrn else []

        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, kernel_size=11, stride=4, padding=first_padding),
            nn.ReLU(inplace=True),
            *norm(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(c1, c2, kernel_size=5, padding=2, groups=groups),
            nn.ReLU(inplace=True),
            *norm(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(c2, c3, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(c3, c4, kernel_size=3, padding=1, groups=groups),
            nn.ReLU(inplace=True),
            nn.Conv2d(c4, c5, kernel_size=3, padding=1, groups=groups),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        pool = SpatialOp(3, 2)
        ops = [SpatialOp(11, 4, first_padding), pool, SpatialOp(5, 1, 2), pool, pool]
        self.min_input_size = chain_min_size(ops)
        if pool_size is None:
            side = chain_out_size(input_size, ops)
            if side < 1:
                raise ConfigError(
                    f"AlexNet cannot take {input_size}x{input_size} images; "
                    f"the smallest it takes is {self.min_input_size}x{self.min_input_size}"
                )
            self.fixed_input_size = (input_size, input_size)
            self.avgpool: nn.Module = nn.Identity()
        else:
            side = pool_size
            self.avgpool = nn.AdaptiveAvgPool2d((pool_size, pool_size))
        self.num_features = c5 * side * side
        self.classifier = nn.Sequential(
            *fc_classifier(self.num_features, 4096, num_classes, dropout, not d2l_order)
        )

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(x), 1))


@register_model(family="alexnet", year=2012, paper=_PAPER, input_size=224)
def alexnet(*, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> AlexNet:
    """AlexNet in torchvision's single-GPU layout (64-192-384-256-256, no LRN); loads its weights.

    Krizhevsky et al., NeurIPS 2012; layout from Krizhevsky, "One weird trick for
    parallelizing convolutional neural networks", 2014.
    """
    return AlexNet(num_classes, in_channels, dropout=dropout)


@register_model(family="alexnet", year=2012, paper=_PAPER, input_size=224)
def alexnet_paper(
    *, num_classes: int = 1000, in_channels: int = 3, groups: int = 2, dropout: float = 0.5
) -> AlexNet:
    """AlexNet as in the 2012 paper: 96-256-384-384-256 with local response normalisation.

    ``groups=2`` keeps the paper's two-GPU split (conv 2, 4 and 5 only see their own GPU's
    half of the channels; about 61M parameters); ``groups=1`` joins the halves.
    """
    return AlexNet(
        num_classes, in_channels, (96, 256, 384, 384, 256), lrn=True, groups=groups, dropout=dropout
    )


@register_model(family="alexnet", year=2012, paper=_PAPER, input_size=224)
def alexnet_d2l(
    *, num_classes: int = 10, in_channels: int = 1, dropout: float = 0.5, input_size: int = 224
) -> AlexNet:
    """AlexNet as in D2L §8.1: 96-256-384-384-256, no LRN, for Fashion-MNIST resized to 224×224.

    Like the book's, its classifier flattens the 5×5 map, so it takes exactly ``input_size``.
    """
    return AlexNet(
        num_classes,
        in_channels,
        (96, 256, 384, 384, 256),
        first_padding=1,
        dropout=dropout,
        pool_size=None,
        input_size=input_size,
        d2l_order=True,
    )
