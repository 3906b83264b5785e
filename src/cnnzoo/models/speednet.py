"""SpeedNet — a network built for one job: Fashion-MNIST to high accuracy in minutes on a CPU.

Not a paper's network: the speed-runs' recipe for small images (Keller Jordan's airbench for
CIFAR-10, "94% on CIFAR-10 in 3.29 seconds on a single GPU", 2024, itself after Page's
"How to train your ResNet", 2018) carried to 28×28 grey images and two CPU cores. A plain stack
of stages, each a 3×3 convolution, a 2×2 max pooling, batch norm and an activation, then more
3×3 convolutions at the pooled size (with batch norm and activation); global max pooling and a
linear classifier. The pooling comes straight after each stage's first convolution, so that batch
norm, the activation and every later convolution of the stage run on a quarter of the pixels —
on a CPU the memory-bound passes (batch norm, activation) cost as much as the convolutions at
28×28. How its shape was chosen is in :func:`speednet`'s docstring and benchmarks/RESULTS.md.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from cnnzoo.errors import ConfigError
from cnnzoo.models.base import ZooModel, kaiming_init
from cnnzoo.registry import register_model

__all__ = ["SpeedNet", "speednet"]

_ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU}


def _conv_bn_act(c_in: int, c_out: int, act: type[nn.Module], pool: bool) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)]
    if pool:
        layers.append(nn.MaxPool2d(2))
    return [*layers, nn.BatchNorm2d(c_out), act()]


class SpeedNet(ZooModel):
    """A stem convolution, then stages of ``convs`` 3×3 convolutions of ``widths[i]`` channels
    (the first followed by 2×2 max pooling), global max pooling and a linear classifier."""

    def __init__(
        self,
        widths: Sequence[int] = (16, 48, 88),
        convs: Sequence[int] = (1, 2, 2),
        stem: int = 8,
        activation: str = "relu",
        num_classes: int = 10,
        in_channels: int = 1,
    ) -> None:
        super().__init__()
        widths, convs = _counts("widths", widths), _counts("convs", convs)
        if len(widths) != len(convs):
            raise ConfigError(
                f"speednet needs one entry of convs per stage: widths {list(widths)} has "
                f"{len(widths)} stages, convs {list(convs)} has {len(convs)}"
            )
        if isinstance(stem, bool) or not isinstance(stem, int) or stem < 0:
            raise ConfigError(f"speednet stem must be a whole number >= 0 (0: none), got {stem!r}")
        if activation not in _ACTIVATIONS:
            raise ConfigError(
                f"speednet activation must be one of {', '.join(_ACTIVATIONS)}, not {activation!r}"
            )
        act = _ACTIVATIONS[activation]
        self.in_channels, self.num_classes = in_channels, num_classes
        layers = _conv_bn_act(in_channels, stem, act, pool=False) if stem else []
        c_in = stem or in_channels
        for w, n in zip(widths, convs, strict=True):
            stage = _conv_bn_act(c_in, w, act, pool=True)
            for _ in range(n - 1):
                stage += _conv_bn_act(w, w, act, pool=False)
            layers.append(nn.Sequential(*stage))
            c_in = w
        self.features = nn.Sequential(*layers)
        self.num_features = c_in
        self.min_input_size = 2 ** len(widths)
        self.global_pool = nn.AdaptiveMaxPool2d(1)
        self.fc = nn.Linear(c_in, num_classes)
        self.init_weights()

    def init_layer(self, m: nn.Module) -> None:
        kaiming_init(m)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.global_pool(x), 1))


def _counts(name: str, values: Sequence[int]) -> list[int]:
    """``values`` as positive integers, or a ConfigError naming the option."""
    try:
        out = [int(v) for v in values]
    except (TypeError, ValueError):
        out = []
    if not out or any(v < 1 or v != float(x) for v, x in zip(out, values, strict=True)):
        raise ConfigError(f"speednet {name} must be positive whole numbers, got {values!r}")
    return out


@register_model(
    family="speednet", year=2026,
    paper="cnnzoo; after Jordan 2024, airbench (94% on CIFAR-10 in 3.29 s on one GPU)",
    input_size=28,
)  # fmt: skip
def speednet(
    *,
    num_classes: int = 10,
    in_channels: int = 1,
    widths: Sequence[int] = (16, 48, 88),
    convs: Sequence[int] = (1, 2, 2),
    stem: int = 8,
    activation: str = "relu",
) -> SpeedNet:
    """SpeedNet: the ``fast`` recipe's default network, built for Fashion-MNIST at 28×28 on a CPU
    (5.8M multiply-adds, 0.14M parameters; ResNet-20 has 30.8M and 0.27M).

    How it was found, on 2 AMD EPYC cores (AVX2, fp32; benchmarks/RESULTS.md, "Speed", has
    every trial), in two rounds:

    - by hand: the training step's speed first (batch 256, channels_last: widths 64-128-256
      run at 340-650 images/s, 32-64-128 at 1,330-2,370), then accuracy for the time with the
      ``fast`` recipe and flip TTA on all 60,000 images: widths 32-64-128, convolutions 1-2-2
      and a 16-channel stem (14.1M multiply-adds) reached 93.4-93.8% in 8 epochs, 93% after
      about 6 minutes;
    - by a design-space search (``bash benchmarks/speednet_search.sh``: 24 shapes of the
      ``speednet`` space of :mod:`cnnzoo.designspace.generic` between 5M and 30M
      multiply-adds, each trained for 2 epochs on 24,000 images, judged by error against
      training time): the front's best, widths 16-48-88 with the same 1-2-2 convolutions and an
      8-channel stem, erred less (12.0% against 12.6%) in 40% less time (21 s against 36 s)
      than the hand-found shape, and with the full recipe (10 epochs) reaches 93% after
      about 4 minutes instead of 6.

    The pooling right after each stage's first convolution (airbench's order) keeps batch
    norm, activation and the stage's second convolution at a quarter of the pixels."""
    return SpeedNet(widths, convs, stem, activation, num_classes, in_channels)
