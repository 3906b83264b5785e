"""The AnyNet network — Radosavovic et al., "Designing Network Design Spaces", CVPR 2020 — built
from an :class:`~cnnzoo.models.anynet_config.AnyNetConfig`, and the generic ``anynet`` builder.

The paper studies *design spaces* — populations of networks — instead of single networks. Its
AnyNet space fixes a generic structure and leaves the rest free:

- **stem**: a 3×3 convolution with stride 2 (32 channels), batch norm and ReLU;
- **body**: a sequence of stages; stage i has its own depth d_i (number of blocks), width w_i
  (output channels), bottleneck ratio b_i (the 3×3 convolution runs on w_i / b_i channels) and
  group width g_i (channels per group of that convolution). Each stage starts with a stride-2
  block. The block is the residual bottleneck with a grouped 3×3 convolution (the *X block*;
  the *Y block* adds squeeze-excitation);
- **head**: global average pooling and a fully connected classifier.

:class:`AnyNet` builds that network with torchvision's module names, so torchvision's RegNet
checkpoints load into it, and :meth:`AnyNet.cost` gives its cost from the config alone. The
configs and the RegNet rules are in :mod:`cnnzoo.models.anynet_config`, the named RegNets in
:mod:`cnnzoo.models.regnet`.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping

import torch
from torch import nn

from cnnzoo.blocks import Cost, ResBottleneckBlock, conv_norm_act, conv_norm_act_cost
from cnnzoo.errors import ConfigError
from cnnzoo.models.anynet_config import REGNET_PARAMS, AnyNetConfig, positive_int
from cnnzoo.models.base import SpatialOp, ZooModel, chain_min_size
from cnnzoo.registry import register_model

__all__ = ["PAPER", "AnyNet", "anynet"]

#: The paper of the AnyNet family, as the registry records it.
PAPER = "Radosavovic et al. 2020, Designing Network Design Spaces"

_NONE: Cost = (0, 0, 0, 0)


# --------------------------------------------------------------------------- the network


class AnyNet(ZooModel):
    """A network of the AnyNet design space (Radosavovic et al., 2020), built from a config.

    ``stem`` (3×3 conv stride 2, BN, ReLU) → ``trunk_output`` (stages ``block1``, ``block2``, …,
    each a sequence of :class:`~cnnzoo.blocks.ResBottleneckBlock` named ``block{i}-{j}``) →
    ``avgpool`` → ``fc``. Module names, state-dict keys, batch-norm settings and initialisation
    follow torchvision's ``RegNet``, so torchvision's checkpoints load with ``strict=True``.

    ``zero_init_last_bn`` starts the last batch norm of every residual branch at zero, so that
    each block starts as (a projection of) the identity — pycls's ``BN.ZERO_INIT_FINAL_GAMMA``.
    """

    def __init__(
        self,
        config: AnyNetConfig,
        num_classes: int = 1000,
        in_channels: int = 3,
        zero_init_last_bn: bool = False,
    ) -> None:
        super().__init__()
        if not isinstance(config, AnyNetConfig):
            raise TypeError(f"AnyNet takes an AnyNetConfig, got {type(config).__name__}")
        problems = config.problems()
        if problems:
            raise ConfigError(
                "this AnyNetConfig cannot be built: "
                + "; ".join(problems)
                + ". Use config.adjusted() (or adjust_compatibility() per stage) to round the "
                "widths and group widths to compatible values, as pycls does."
            )
        self.config = config
        self.in_channels = positive_int("AnyNet", "in_channels", in_channels)
        self.num_classes = positive_int("AnyNet", "num_classes", num_classes)

        self.stem = conv_norm_act(in_channels, config.stem_width, 3, stride=2)
        stages: OrderedDict[str, nn.Module] = OrderedDict()
        for spec in config.blocks():
            name = f"block{spec.stage + 1}"
            if name not in stages:
                stages[name] = nn.Sequential()
            block = ResBottleneckBlock(
                spec.width_in,
                spec.width_out,
                spec.stride,
                bottleneck_width=spec.bottleneck_width,
                group_width=spec.group_width,
                se_channels=spec.se_width,
            )
            stages[name].add_module(f"{name}-{spec.index}", block)
        self.trunk_output = nn.Sequential(stages)
        self.num_features = config.num_features
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(self.num_features, num_classes)

        ops = [SpatialOp(3, 2, 1)] + [SpatialOp(3, s.stride, 1) for s in config.stages]
        self.min_input_size = chain_min_size(ops)
        self._init_weights(zero_init_last_bn)

    def _init_weights(self, zero_init_last_bn: bool) -> None:
        # torchvision's (and pycls's) ResNet-style initialisation.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                nn.init.normal_(m.weight, mean=0.0, std=math.sqrt(2.0 / fan_out))
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, mean=0.0, std=0.01)
                nn.init.zeros_(m.bias)
        if zero_init_last_bn:
            for m in self.modules():
                if isinstance(m, ResBottleneckBlock):
                    nn.init.zeros_(m.f.c[1].weight)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.trunk_output(self.stem(x))

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.avgpool(x), 1))

    def reset_classifier(self, num_classes: int) -> None:
        """Replace ``fc`` with a freshly initialised ``num_classes``-way classifier."""
        self.num_classes = positive_int("reset_classifier", "num_classes", num_classes)
        old = self.fc
        self.fc = nn.Linear(
            self.num_features, num_classes, device=old.weight.device, dtype=old.weight.dtype
        )
        nn.init.normal_(self.fc.weight, mean=0.0, std=0.01)
        nn.init.zeros_(self.fc.bias)

    @staticmethod
    def cost(config: AnyNetConfig, input_size: tuple[int, int, int], num_classes: int) -> Cost:
        """The :data:`~cnnzoo.blocks.Cost` of the network built from ``config`` for one image of
        ``input_size`` (C, H, W), without building it: the stem's, every block's
        (:meth:`ResBottleneckBlock.cost`) and the head's, as pycls's ``AnyNet.complexity``.

        A convolution with kernel k, stride s and padding (k - 1) // 2 turns a side of n pixels
        into (n - 1) // s + 1. The blocks after the first of a stage are identical, so a stage
        costs its first block plus ``depth - 1`` times the second: the time depends on the
        number of stages only. Raises ``ConfigError`` for what ``AnyNet`` cannot build.
        """
        c, h, w = input_size
        h, w = (h - 1) // 2 + 1, (w - 1) // 2 + 1  # the stem: 3x3 conv-BN-ReLU, stride 2
        width = config.stem_width
        params, flops, acts, bias = conv_norm_act_cost(c, width, 3, h * w)
        block_cost, se_width, se_ratio = ResBottleneckBlock.cost, config.se_width, config.se_ratio
        for s in config.stages:
            w_out, stride, w_b, g = s.width, s.stride, s.bottleneck_width, s.group_width
            n = s.depth - 1  # blocks after the first
            se_first = se_rest = 0
            if se_ratio:
                se_first, se_rest = se_width(width), se_width(w_out)
                if not (se_first and (se_rest or not n)):
                    raise ConfigError(f"{config}: an SE block would have 0 squeeze channels")
            h2, w2 = (h - 1) // stride + 1, (w - 1) // stride + 1
            hw2 = h2 * w2
            p1, f1, a1, b1 = block_cost(width, w_out, stride, w_b, g, se_first, h * w, hw2)
            p2, f2, a2, b2 = block_cost(w_out, w_out, 1, w_b, g, se_rest, hw2, hw2) if n else _NONE
            params += p1 + n * p2
            flops += f1 + n * f2
            acts += a1 + n * a2
            bias += b1 + n * b2
            width, h, w = w_out, h2, w2
        head = width * num_classes + num_classes  # global average pooling, biased linear layer
        return params + head, flops + head, acts + num_classes, bias + num_classes


@register_model(family="regnet", year=2020, paper=PAPER, input_size=224)
def anynet(
    config: AnyNetConfig | Mapping | None = None,
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    zero_init_last_bn: bool = False,
) -> AnyNet:
    """Any network of the AnyNet design space, from its config (default: RegNetX-200MF's).

    Radosavovic et al., "Designing Network Design Spaces", CVPR 2020. ``config`` is an
    :class:`AnyNetConfig` or its plain data (:meth:`AnyNetConfig.to_dict`), so that a JSON
    training config can name any AnyNet: ``create_model("anynet", config={...})``.
    """
    if config is None:
        config = REGNET_PARAMS["regnetx_200mf"].config()
    elif isinstance(config, Mapping):
        config = AnyNetConfig.from_dict(config)
    return AnyNet(config, num_classes, in_channels, zero_init_last_bn)
