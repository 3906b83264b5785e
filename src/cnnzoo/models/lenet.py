"""LeNet-5 — LeCun et al., "Gradient-based learning applied to document recognition",
Proc. IEEE 86(11), 1998.

LeNet showed that a stack of learned convolutions and subsampling, trained end to end by
back-propagation, reads handwritten digits: two convolution + pooling stages extract features,
three fully connected layers classify them. The variants here follow Dive into Deep Learning
(Zhang et al.): §7.6's network with sigmoids and average pooling on 28×28 images (the first
convolution pads by 2 to stand in for the paper's 32×32 input), a modern ReLU + max-pooling
version, and §8.5's version with batch normalisation.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from cnnzoo.errors import ConfigError
from cnnzoo.models.base import SpatialOp, ZooModel, chain_out_size
from cnnzoo.registry import register_model

__all__ = ["LeNet", "lenet", "lenet5", "lenet5_bn", "lenet5_relu"]

_PAPER = "LeCun et al. 1998, Gradient-based learning applied to document recognition"


def _as_hw(size: int | tuple[int, int]) -> tuple[int, int]:
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


class LeNet(ZooModel):
    """LeNet-5: conv(6, 5×5) → pool → conv(16, 5×5) → pool → fc 120 → fc 84 → fc classes.

    Args:
        act: activation class (``nn.Sigmoid`` as in 1998, ``nn.ReLU`` for the modern variant).
        pool: pooling class (``nn.AvgPool2d`` as in 1998, ``nn.MaxPool2d``).
        padding: padding of the first convolution (2 lets 28×28 images stand in for 32×32).
        batch_norm: insert batch normalisation after every convolution and hidden linear layer
            (D2L §8.5).
        dropout: dropout probability after each hidden fully connected layer (AlexNet's
            regulariser; 0 leaves the layers out, as in 1998).
        input_size: the (H, W) the classifier is sized for; LeNet flattens its last feature map,
            so it takes exactly this size.
    """

    classifier_layers = ("classifier.-1",)

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 1,
        act: Callable[[], nn.Module] = nn.Sigmoid,
        pool: type[nn.Module] = nn.AvgPool2d,
        padding: int = 2,
        batch_norm: bool = False,
        input_size: int | tuple[int, int] = 28,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"LeNet dropout must be in [0, 1), got {dropout!r}")
        self.in_channels, self.num_classes = in_channels, num_classes
        h, w = _as_hw(input_size)
        ops = [SpatialOp(5, 1, padding), SpatialOp(2, 2), SpatialOp(5), SpatialOp(2, 2)]
        fh, fw = chain_out_size(h, ops), chain_out_size(w, ops)
        if fh < 1 or fw < 1:
            smallest = 12 - 2 * padding
            raise ConfigError(
                f"LeNet cannot take {h}x{w} images: its two 5x5 convolutions and 2x2 poolings "
                f"need at least {smallest}x{smallest}. Choose input_size >= {smallest}."
            )
        self.fixed_input_size = (h, w)

        def bn2d(c: int) -> list[nn.Module]:
            return [nn.BatchNorm2d(c)] if batch_norm else []

        def bn1d(c: int) -> list[nn.Module]:
            return [nn.BatchNorm1d(c)] if batch_norm else []

        def drop() -> list[nn.Module]:
            return [nn.Dropout(dropout)] if dropout > 0 else []

        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, kernel_size=5, padding=padding),
            *bn2d(6),
            act(),
            pool(kernel_size=2, stride=2),
            nn.Conv2d(6, 16, kernel_size=5),
            *bn2d(16),
            act(),
            pool(kernel_size=2, stride=2),
        )
        self.num_features = 16 * fh * fw
        self.classifier = nn.Sequential(
            nn.Linear(self.num_features, 120),
            *bn1d(120),
            act(),
            *drop(),
            nn.Linear(120, 84),
            *bn1d(84),
            act(),
            *drop(),
            nn.Linear(84, num_classes),
        )

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(x, 1))


@register_model(family="lenet", year=1998, paper=_PAPER, input_size=28)
def lenet5(
    *, num_classes: int = 10, in_channels: int = 1, input_size: int | tuple[int, int] = 28
) -> LeNet:
    """LeNet-5 as in D2L §7.6: sigmoid activations, average pooling, 28×28 input padded by 2.

    61,706 parameters for 10 classes.
    """
    return LeNet(num_classes, in_channels, nn.Sigmoid, nn.AvgPool2d, 2, False, input_size)


@register_model(family="lenet", year=1998, paper=_PAPER, input_size=28)
def lenet5_relu(
    *, num_classes: int = 10, in_channels: int = 1, input_size: int | tuple[int, int] = 28
) -> LeNet:
    """LeNet-5 with the modern choices: ReLU activations and max pooling (same shapes)."""
    return LeNet(num_classes, in_channels, nn.ReLU, nn.MaxPool2d, 2, False, input_size)


@register_model(family="lenet", year=2015, paper=_PAPER + "; Ioffe & Szegedy 2015", input_size=28)
def lenet5_bn(
    *, num_classes: int = 10, in_channels: int = 1, input_size: int | tuple[int, int] = 28
) -> LeNet:
    """LeNet-5 with batch normalisation as in D2L §8.5 (Ioffe & Szegedy, ICML 2015).

    As in the book, the first convolution is unpadded, so a 28×28 image leaves a 4×4 map.
    """
    return LeNet(num_classes, in_channels, nn.Sigmoid, nn.AvgPool2d, 0, True, input_size)


_ACTS: dict[str, Callable[[], nn.Module]] = {
    "sigmoid": nn.Sigmoid,
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
}
_POOLS: dict[str, type[nn.Module]] = {"avg": nn.AvgPool2d, "max": nn.MaxPool2d}


@register_model(family="lenet", year=1998, paper=_PAPER, input_size=28, generic=True)
def lenet(
    *,
    num_classes: int = 10,
    in_channels: int = 1,
    act: str = "sigmoid",
    pool: str = "avg",
    dropout: float = 0.0,
    batch_norm: bool = False,
    padding: int = 2,
    input_size: int | tuple[int, int] = 28,
) -> LeNet:
    """Any LeNet-5 variant: activation (sigmoid, relu, tanh), pooling (avg, max), dropout,
    batch norm — the ablations of AlexNet's and Ioffe & Szegedy's techniques on LeNet's shapes.

    ``lenet()`` is ``lenet5``; ``lenet(act="relu", pool="max")`` is ``lenet5_relu``.
    """
    if act not in _ACTS:
        raise ConfigError(f"LeNet act must be one of {', '.join(_ACTS)}, got {act!r}")
    if pool not in _POOLS:
        raise ConfigError(f"LeNet pool must be one of {', '.join(_POOLS)}, got {pool!r}")
    return LeNet(
        num_classes, in_channels, _ACTS[act], _POOLS[pool], int(padding), bool(batch_norm),
        input_size, float(dropout),
    )  # fmt: skip
