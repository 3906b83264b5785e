"""The interface every cnnzoo model shares (:class:`ZooModel`: input checks, ``reset_classifier``),
the initialisation and classifier-head helpers several families use, and the input-size
arithmetic behind the checks."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from cnnzoo.errors import ConfigError, DataError

__all__ = [
    "SpatialOp",
    "ZooModel",
    "chain_min_size",
    "chain_out_size",
    "conv_out_size",
    "fc_classifier",
    "kaiming_init",
]


def conv_out_size(
    size: int, kernel: int, stride: int = 1, padding: int = 0, ceil_mode: bool = False
) -> int:
    """Output length of a convolution or pooling along one axis (0 or less: invalid).

    Follows PyTorch's rule, including ``ceil_mode``'s "the last window must start inside the
    input or the left padding".
    """
    span = size + 2 * padding - kernel
    if not ceil_mode:
        return max(span // stride + 1, 0)
    # ceil mode: a window may hang over the end, even when the input is smaller than the kernel
    out = math.ceil(span / stride) + 1
    if out > 0 and (out - 1) * stride >= size + padding:
        out -= 1
    return max(out, 0)


@dataclass(frozen=True)
class SpatialOp:
    """A layer that changes the spatial size: kernel, stride, padding, ceil mode."""

    kernel: int
    stride: int = 1
    padding: int = 0
    ceil_mode: bool = False

    def __call__(self, size: int) -> int:
        return conv_out_size(size, self.kernel, self.stride, self.padding, self.ceil_mode)


def chain_out_size(size: int, ops: Iterable[SpatialOp]) -> int:
    """Spatial size after a chain of ops (0 when some op gets an input too small for it)."""
    for op in ops:
        size = op(size)
        if size < 1:
            return 0
    return size


def chain_min_size(ops: Sequence[SpatialOp], out: int = 1, limit: int = 4096) -> int:
    """Smallest input size for which the chain produces at least ``out`` pixels per axis."""
    for size in range(1, limit + 1):
        if chain_out_size(size, ops) >= out:
            return size
    raise ConfigError(f"no input size up to {limit} gets through {list(ops)}")


def kaiming_init(m: nn.Module, *, mode: str = "fan_out", linear_std: float | None = None) -> None:
    """torchvision's ResNet/VGG/DenseNet initialisation of one layer: a convolution's weights
    He-normal (``mode`` ``"fan_out"`` as ResNet and VGG, ``"fan_in"`` as DenseNet), its bias
    zero; batch norm's scale one and shift zero; a linear layer N(0, ``linear_std``) with a zero
    bias, or (``linear_std=None``) left as PyTorch initialised it. Other layers are left alone."""
    if isinstance(m, nn.Conv2d):
        nn.init.kaiming_normal_(m.weight, mode=mode, nonlinearity="relu")
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)
    elif isinstance(m, nn.Linear) and linear_std is not None:
        nn.init.normal_(m.weight, 0, linear_std)
        nn.init.zeros_(m.bias)


def fc_classifier(
    in_features: int, hidden: int, num_classes: int, dropout: float, dropout_first: bool = False
) -> list[nn.Module]:
    """AlexNet's and VGG's classifier: two hidden fully connected layers of ``hidden`` units with
    ReLU and dropout, then a linear layer to the classes. The book's (and VGG's) order is
    Linear-ReLU-Dropout; torchvision's AlexNet puts each Dropout first (``dropout_first``)."""
    layers: list[nn.Module] = []
    for n_in in (in_features, hidden):
        fc: list[nn.Module] = [nn.Linear(n_in, hidden), nn.ReLU(inplace=True)]
        layers += [nn.Dropout(dropout), *fc] if dropout_first else [*fc, nn.Dropout(dropout)]
    return [*layers, nn.Linear(hidden, num_classes)]


def _resized(layer: nn.Module, num_classes: int, in_size: int | None) -> nn.Module:
    """A fresh layer like ``layer`` with ``num_classes`` outputs (and ``in_size`` inputs)."""
    device, dtype = layer.weight.device, layer.weight.dtype
    if isinstance(layer, nn.Linear):
        return nn.Linear(
            in_size or layer.in_features, num_classes, layer.bias is not None, device, dtype
        )
    if isinstance(layer, nn.Conv2d) and layer.groups == 1:
        return nn.Conv2d(
            in_size or layer.in_channels, num_classes, layer.kernel_size, layer.stride,
            layer.padding, layer.dilation, 1, layer.bias is not None, layer.padding_mode,
            device, dtype,
        )  # fmt: skip
    if isinstance(layer, nn.BatchNorm2d):
        return nn.BatchNorm2d(
            num_classes, layer.eps, layer.momentum, layer.affine, layer.track_running_stats,
            device, dtype,
        )  # fmt: skip
    raise TypeError(f"cannot resize a {type(layer).__name__} classifier layer")


class ZooModel(nn.Module):
    """Base of every cnnzoo network: ``forward_features``, ``forward_head``, ``reset_classifier``.

    Subclasses set ``in_channels``, ``num_classes`` and either ``min_input_size`` (smallest H and
    W the network takes) or ``fixed_input_size`` (the one (H, W) it takes, for networks whose
    classifier flattens a fixed-size feature map). ``forward`` checks the input against them and
    raises a ``ValueError`` that says what to do, instead of a shape error deep inside.

    ``classifier_layers`` names (as dotted paths, ``"classifier.-1"`` for a Sequential's last
    layer) the layers whose outputs are the class scores, and :meth:`init_layer` is how the
    model initialises one layer (call :meth:`init_weights` at the end of ``__init__``):
    together they drive :meth:`reset_classifier`.
    """

    in_channels: int
    num_classes: int
    min_input_size: int = 1
    fixed_input_size: tuple[int, int] | None = None
    #: the layers that output the class scores (several for auxiliary heads; layers listed one
    #: after another in the same container feed each other, as NiN's three-convolution head)
    classifier_layers: tuple[str, ...] = ("fc",)

    def check_input(self, x: torch.Tensor) -> None:
        name = getattr(self, "model_name", type(self).__name__)
        if x.dim() != 4:
            raise DataError(
                f"{name} takes a batch of images shaped (N, C, H, W); got shape {tuple(x.shape)}. "
                "Add a batch dimension with x.unsqueeze(0) for a single image."
            )
        if x.shape[1] != self.in_channels:
            raise DataError(
                f"{name} was built for {self.in_channels}-channel images but got "
                f"{x.shape[1]} channels. Build it with in_channels={x.shape[1]}."
            )
        h, w = int(x.shape[-2]), int(x.shape[-1])
        if self.fixed_input_size is not None:
            fh, fw = self.fixed_input_size
            if (h, w) != (fh, fw):
                raise DataError(
                    f"{name} was built for {fh}x{fw} images (its classifier flattens a "
                    f"fixed-size feature map) but got {h}x{w}. Resize the images to {fh}x{fw} "
                    f"or build the model with input_size={h if h == w else (h, w)}."
                )
        elif h < self.min_input_size or w < self.min_input_size:
            m = self.min_input_size
            raise DataError(
                f"{name} needs images of at least {m}x{m} pixels but got {h}x{w}: "
                f"its downsampling layers would shrink a smaller image to nothing. "
                f"Resize or pad the images to at least {m}x{m}."
            )

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def init_layer(self, m: nn.Module) -> None:
        """Initialise one layer as this model's initialisation does (default: leave PyTorch's)."""

    def init_weights(self) -> None:
        """Apply :meth:`init_layer` to every layer, in order."""
        for m in self.modules():
            self.init_layer(m)

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the layers that output the class scores (``classifier_layers``) by fresh
        ``num_classes``-way ones, initialised as the model initialises a new network
        (:meth:`init_layer`), on the old layers' device and dtype. Every other weight — the
        features and any hidden classifier layers — is kept."""
        if (
            not isinstance(num_classes, numbers.Integral)
            or isinstance(num_classes, bool)
            or (num_classes < 1)
        ):
            raise ConfigError(f"num_classes must be a positive integer, got {num_classes!r}")
        num_classes = int(num_classes)
        previous_parent: nn.Module | None = None
        for path in self.classifier_layers:
            *parents, attr = path.split(".")
            parent: nn.Module | None = self
            for part in parents:
                parent = _child(parent, part) if parent is not None else None
            if parent is None:  # an optional head that this instance does not have
                continue
            old = _child(parent, attr)
            chained = parent is previous_parent  # it takes the previous layer's class scores
            new = _resized(old, num_classes, num_classes if chained else None)
            self.init_layer(new)
            if isinstance(parent, nn.Sequential) and attr.lstrip("-").isdigit():
                parent[int(attr)] = new
            else:
                setattr(parent, attr, new)
            previous_parent = parent
        self.num_classes = num_classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        return self.forward_head(self.forward_features(x))


def _child(parent: nn.Module, name: str) -> nn.Module | None:
    if isinstance(parent, nn.Sequential) and name.lstrip("-").isdigit():
        return parent[int(name)]
    return getattr(parent, name)
