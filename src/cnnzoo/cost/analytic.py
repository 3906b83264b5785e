"""The analytic cost: :class:`Complexity`, and :func:`anynet_complexity`, the cost of an AnyNet
from its config alone — the sum of the per-block costs that live beside the blocks
(:meth:`AnyNet.cost <cnnzoo.models.anynet.AnyNet.cost>`, :meth:`ResBottleneckBlock.cost
<cnnzoo.blocks.ResBottleneckBlock.cost>`, ...), in plain Python integers: tens of thousands of
configs per second, for design-space samplers that filter candidates by cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cnnzoo.errors import ConfigError
from cnnzoo.fmt import InputSize, check_input_size, human_count
from cnnzoo.models.anynet import AnyNet
from cnnzoo.models.anynet_config import AnyNetConfig, positive_int

__all__ = ["Complexity", "anynet_complexity"]


@dataclass(frozen=True)
class Complexity:
    """The cost of a network for one image of ``input_size`` = (C, H, W)."""

    params: int
    flops: int  # multiply-adds of conv and linear layers, bias included (pycls)
    activations: int  # summed output sizes of conv and linear layers (pycls)
    flops_no_bias: int  # torchvision's ``_ops`` convention
    input_size: InputSize

    def __str__(self) -> str:
        c, h, w = self.input_size
        return (
            f"{human_count(self.params)} params, {human_count(self.flops)} multiply-adds, "
            f"{human_count(self.activations)} activations at {c}x{h}x{w}"
        )


def anynet_complexity(
    config: AnyNetConfig,
    input_size: Sequence[int] = (3, 224, 224),
    num_classes: int = 1000,
    *,
    adjust: bool | str = False,
) -> Complexity:
    """The cost of the :class:`~cnnzoo.models.anynet.AnyNet` built from ``config``, without
    building it (:meth:`AnyNet.cost <cnnzoo.models.anynet.AnyNet.cost>`: pycls's rules, block by
    block; the time depends on the number of stages only).

    A config whose bottleneck widths do not split into whole groups (or whose SE would have no
    channel) is refused with the reason, as :class:`AnyNet` refuses it; ``adjust=True`` first
    fits it with pycls's rule (:func:`~cnnzoo.models.anynet_config.adjust_compatibility`),
    ``adjust="torchvision"`` with torchvision's.
    """
    if adjust:
        config = config.adjusted("pycls" if adjust is True else adjust)  # type: ignore[arg-type]
    size = check_input_size(input_size)
    if type(num_classes) is not int or num_classes < 1:
        num_classes = positive_int("anynet_complexity", "num_classes", num_classes)
    try:
        params, flops, acts, bias = AnyNet.cost(config, size, num_classes)
    except ConfigError:
        raise ConfigError(
            "cannot compute the cost of this AnyNetConfig: "
            + "; ".join(config.problems())
            + ". Pass adjust=True to round widths and group widths to compatible values with "
            "pycls's rule (adjust='torchvision' for torchvision's), see adjust_compatibility()."
        ) from None
    return Complexity(params, flops, acts, flops - bias, size)
