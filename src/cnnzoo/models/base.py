"""The interface every cnnzoo model shares, and the input-size arithmetic behind its checks."""

from __future__ import annotations

import math
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


class ZooModel(nn.Module):
    """Base of every cnnzoo network: ``forward_features``, ``forward_head``, ``reset_classifier``.

    Subclasses set ``in_channels``, ``num_classes`` and either ``min_input_size`` (smallest H and
    W the network takes) or ``fixed_input_size`` (the one (H, W) it takes, for networks whose
    classifier flattens a fixed-size feature map). ``forward`` checks the input against them and
    raises a ``ValueError`` that says what to do, instead of a shape error deep inside.
    """

    in_channels: int
    num_classes: int
    min_input_size: int = 1
    fixed_input_size: tuple[int, int] | None = None

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

    def reset_classifier(self, num_classes: int) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        return self.forward_head(self.forward_features(x))
