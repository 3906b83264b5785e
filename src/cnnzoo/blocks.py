"""Building blocks shared by the model families.

Each block keeps torchvision's attribute names where torchvision has the same block, so that the
networks built from them load torchvision's state dicts with ``strict=True``. The AnyNet blocks
carry their analytic cost beside their structure (``cost``, a :data:`Cost` for one image), as
pycls's blocks carry ``complexity``; :mod:`cnnzoo.cost` adds them up.

Over 450 lines: every family's shared block is here, so that they read side by side.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from cnnzoo.errors import ConfigError

__all__ = [
    "BasicBlock",
    "BasicConv2d",
    "Bottleneck",
    "Cost",
    "DenseBlock",
    "DenseLayer",
    "Inception",
    "ResBottleneckBlock",
    "SqueezeExcitation",
    "Transition",
    "conv_norm_act",
    "conv_norm_act_cost",
    "conv_relu",
    "nin_block",
    "vgg_block",
]

ActLayer = Callable[..., nn.Module]

#: What a layer or block costs for one image: ``(params, flops, activations, bias_adds)`` —
#: parameters (batch-norm scales and shifts included), multiply-adds of the convolutions and
#: linear layers with each bias add counted (pycls's "flops"), the summed output sizes of those
#: layers, and how many of the flops are bias adds (torchvision's ``_ops`` leaves them out).
#: ``hw`` arguments count output pixels. The conventions are :mod:`cnnzoo.cost`'s.
Cost = tuple[int, int, int, int]


# ---------------------------------------------------------------- generic convolution


def conv_norm_act(
    in_channels: int,
    out_channels: int,
    kernel_size: int = 3,
    stride: int = 1,
    padding: int | None = None,
    groups: int = 1,
    norm: bool = True,
    act: ActLayer | None = nn.ReLU,
) -> nn.Sequential:
    """Conv → BatchNorm → activation as a ``Sequential`` indexed 0, 1, 2 (torchvision's
    ``Conv2dNormActivation`` layout). The convolution has no bias when a norm follows it."""
    if padding is None:
        padding = (kernel_size - 1) // 2
    layers: list[nn.Module] = [
        nn.Conv2d(
            in_channels, out_channels, kernel_size, stride, padding, groups=groups, bias=not norm
        )
    ]
    if norm:
        layers.append(nn.BatchNorm2d(out_channels))
    if act is not None:
        layers.append(act(inplace=True))
    return nn.Sequential(*layers)


def conv_norm_act_cost(
    in_channels: int, out_channels: int, kernel_size: int, hw: int, groups: int = 1
) -> Cost:
    """The :data:`Cost` of :func:`conv_norm_act` (with its norm, so no bias) producing ``hw``
    pixels: the convolution's weights and multiply-adds, two parameters per channel of norm."""
    weights = kernel_size * kernel_size * (in_channels // groups) * out_channels
    return weights + 2 * out_channels, weights * hw, out_channels * hw, 0


# ---------------------------------------------------------------- VGG and NiN


def vgg_block(
    num_convs: int,
    in_channels: int,
    out_channels: int,
    batch_norm: bool = False,
    kernel_size: int = 3,
) -> list[nn.Module]:
    """A VGG block as a list of layers: ``num_convs`` × (3×3 conv [+ BN] + ReLU), then 2×2 max
    pooling. A list, not a module, so that VGG's ``features`` stays one flat ``Sequential`` with
    torchvision's indices. ``kernel_size`` (odd, "same" padding) builds the wide-kernel
    counterpart VGG argued against."""
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ConfigError(f"VGG block kernel size must be odd and >= 1, got {kernel_size}")
    layers: list[nn.Module] = []
    for i in range(num_convs):
        c_in = in_channels if i == 0 else out_channels
        layers.append(nn.Conv2d(c_in, out_channels, kernel_size, 1, kernel_size // 2))
        if batch_norm:
            layers.append(nn.BatchNorm2d(out_channels))
        layers.append(nn.ReLU(inplace=True))
    layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return layers


def nin_block(
    in_channels: int, out_channels: int, kernel_size: int, stride: int, padding: int
) -> nn.Sequential:
    """A Network-in-Network block: one spatial convolution followed by two 1×1 convolutions,
    each with a ReLU — a small multilayer perceptron applied at every pixel."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, kernel_size=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, kernel_size=1),
        nn.ReLU(inplace=True),
    )


# ---------------------------------------------------------------- residual blocks


class BasicBlock(nn.Module):
    """Two 3×3 convolutions with batch norm and an identity (or projection) shortcut.

    ``out = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`` — He et al., 2016.
    """

    expansion = 1

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        skip: bool = True,
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.downsample = downsample
        self.skip = skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.skip:
            out = out + (x if self.downsample is None else self.downsample(x))
        return self.relu(out)


class Bottleneck(nn.Module):
    """1×1 reduce → 3×3 (grouped) → 1×1 expand, each with batch norm, plus a shortcut.

    ``groups`` is the *number* of groups of the 3×3 convolution (ResNeXt's cardinality), so each
    group is ``width // groups`` channels wide; ``groups=1`` is ResNet's bottleneck. The stride
    sits on the 3×3 convolution (torchvision's "ResNet v1.5").
    """

    expansion = 4

    def __init__(
        self,
        in_channels: int,
        width: int,
        out_channels: int,
        stride: int = 1,
        groups: int = 1,
        downsample: nn.Module | None = None,
    ) -> None:
        super().__init__()
        if width % groups:
            raise ConfigError(
                f"bottleneck width {width} is not divisible by groups={groups}; "
                f"choose a width that is a multiple of the number of groups"
            )
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


# ---------------------------------------------------------------- Inception (GoogLeNet)


class BasicConv2d(nn.Module):
    """Conv (no bias) → BatchNorm (eps 0.001) → ReLU, GoogLeNet's convolution unit with
    torchvision's attribute names ``conv`` and ``bn``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu_(self.bn(self.conv(x)))


def conv_relu(
    in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0
) -> nn.Sequential:
    """Conv (with bias) → ReLU: the convolution unit of GoogLeNet without batch norm (the
    original paper and Dive into Deep Learning)."""
    return conv_norm_act(in_channels, out_channels, kernel_size, stride, padding, norm=False)


class Inception(nn.Module):
    """Inception block (Szegedy et al., 2015): four parallel branches concatenated along channels.

    ``branch1`` is a 1×1 convolution; ``branch2`` a 1×1 reduction then a 3×3; ``branch3`` a 1×1
    reduction then a ``branch3_kernel``×``branch3_kernel`` convolution (5 in the paper; 3 in
    torchvision's port, see pytorch/vision#906); ``branch4`` a 3×3 max pool (stride 1) then a 1×1
    projection. Every branch keeps the spatial size. The 1×1 reductions before the large kernels
    are what keep the block cheap.

    ``conv_block(in_channels, out_channels, kernel_size, stride=1, padding=0)`` builds each
    convolution unit: :class:`BasicConv2d` (with batch norm, torchvision's layout) or
    :func:`conv_relu` (without).
    """

    def __init__(
        self,
        in_channels: int,
        ch1x1: int,
        ch3x3red: int,
        ch3x3: int,
        ch5x5red: int,
        ch5x5: int,
        pool_proj: int,
        conv_block: Callable[..., nn.Module] = BasicConv2d,
        branch3_kernel: int = 3,
    ) -> None:
        super().__init__()
        if branch3_kernel % 2 == 0:
            raise ConfigError(f"branch3_kernel must be odd to keep the size, got {branch3_kernel}")
        self.branch1 = conv_block(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(
            conv_block(in_channels, ch3x3red, kernel_size=1),
            conv_block(ch3x3red, ch3x3, kernel_size=3, padding=1),
        )
        self.branch3 = nn.Sequential(
            conv_block(in_channels, ch5x5red, kernel_size=1),
            conv_block(ch5x5red, ch5x5, kernel_size=branch3_kernel, padding=branch3_kernel // 2),
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            conv_block(in_channels, pool_proj, kernel_size=1),
        )
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


# ---------------------------------------------------------------- dense blocks (DenseNet)


class DenseLayer(nn.Module):
    """One layer of a dense block (Huang et al., 2017): it reads the concatenation of every
    earlier feature map of its block and adds ``growth_rate`` new ones.

    With ``bn_size`` (DenseNet-B, torchvision's ``_DenseLayer``): BN → ReLU → 1×1 conv to
    ``bn_size * growth_rate`` channels (``norm1``/``relu1``/``conv1``), then BN → ReLU → 3×3 conv
    to ``growth_rate`` (``norm2``/``relu2``/``conv2``). With ``bn_size=None`` (the paper's plain
    layer, Dive into Deep Learning's ``conv_block``): only the second, 3×3 part.

    ``memory_efficient`` recomputes the concatenation and bottleneck in the backward pass
    (``torch.utils.checkpoint``) instead of storing them, as in torchvision.
    """

    def __init__(
        self,
        in_channels: int,
        growth_rate: int,
        bn_size: int | None = 4,
        drop_rate: float = 0.0,
        memory_efficient: bool = False,
        bias: bool = False,
    ) -> None:
        super().__init__()
        self.bottleneck = bn_size is not None
        mid = in_channels
        if bn_size is not None:
            mid = bn_size * growth_rate
            self.norm1 = nn.BatchNorm2d(in_channels)
            self.relu1 = nn.ReLU(inplace=True)
            self.conv1 = nn.Conv2d(in_channels, mid, kernel_size=1, bias=bias)
        self.norm2 = nn.BatchNorm2d(mid)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(mid, growth_rate, kernel_size=3, padding=1, bias=bias)
        self.drop_rate = float(drop_rate)
        self.memory_efficient = memory_efficient

    def _concat_bottleneck(self, *features: torch.Tensor) -> torch.Tensor:
        x = torch.cat(features, 1)
        if self.bottleneck:
            x = self.conv1(self.relu1(self.norm1(x)))
        return x

    def forward(self, features: torch.Tensor | list[torch.Tensor]) -> torch.Tensor:
        if isinstance(features, torch.Tensor):
            features = [features]
        if self.memory_efficient and any(f.requires_grad for f in features):
            x = checkpoint(self._concat_bottleneck, *features, use_reentrant=False)
        else:
            x = self._concat_bottleneck(*features)
        out = self.conv2(self.relu2(self.norm2(x)))
        if self.drop_rate > 0:
            out = nn.functional.dropout(out, p=self.drop_rate, training=self.training)
        return out


class DenseBlock(nn.ModuleDict):
    """``num_layers`` dense layers (``denselayer1`` …); the output concatenates the block's input
    and every layer's output: ``in_channels + num_layers * growth_rate`` channels."""

    def __init__(
        self,
        num_layers: int,
        in_channels: int,
        growth_rate: int,
        bn_size: int | None = 4,
        drop_rate: float = 0.0,
        memory_efficient: bool = False,
        bias: bool = False,
    ) -> None:
        super().__init__()
        for i in range(num_layers):
            layer = DenseLayer(
                in_channels + i * growth_rate,
                growth_rate,
                bn_size=bn_size,
                drop_rate=drop_rate,
                memory_efficient=memory_efficient,
                bias=bias,
            )
            self.add_module(f"denselayer{i + 1}", layer)
        self.out_channels = in_channels + num_layers * growth_rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.values():
            features.append(layer(features))
        return torch.cat(features, 1)


class Transition(nn.Sequential):
    """Transition between dense blocks: BN → ReLU → 1×1 conv (to ``out_channels``, usually half)
    → 2×2 average pooling with stride 2, halving the spatial size."""

    def __init__(self, in_channels: int, out_channels: int, bias: bool = False) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(in_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=bias)
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)


# ---------------------------------------------------------------- squeeze-excitation, AnyNet


class SqueezeExcitation(nn.Module):
    """Squeeze-and-excitation (Hu et al., 2018): global average pool → 1×1 conv → ReLU → 1×1 conv
    → sigmoid, and the result rescales each channel of the input.

    ``squeeze_channels`` is the width of the bottleneck between the two 1×1 convolutions (both
    have biases). Attribute names follow torchvision's ``ops.SqueezeExcitation``.
    """

    def __init__(self, channels: int, squeeze_channels: int) -> None:
        super().__init__()
        if squeeze_channels < 1:
            raise _squeeze_error(squeeze_channels)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, channels, 1)
        self.activation = nn.ReLU()
        self.scale_activation = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return scale * x

    @staticmethod
    def cost(channels: int, squeeze_channels: int) -> Cost:
        """The :data:`Cost` of the block: two biased 1×1 convolutions at 1×1 (the pooling,
        activations and rescaling count nothing)."""
        if squeeze_channels < 1:
            raise _squeeze_error(squeeze_channels)
        n = 2 * channels * squeeze_channels + squeeze_channels + channels
        outputs = squeeze_channels + channels
        return n, n, outputs, outputs


def _squeeze_error(squeeze_channels: int) -> ConfigError:
    return ConfigError(
        f"squeeze-excitation needs at least one squeeze channel, got {squeeze_channels}"
    )


class ResBottleneckBlock(nn.Module):
    """The AnyNet X block (Y block with squeeze-excitation) — Radosavovic et al., 2020.

    ``f`` is 1×1 conv-BN-ReLU (``a``) → 3×3 grouped conv-BN-ReLU with the stride (``b``) →
    optional squeeze-excitation (``se``) → 1×1 conv-BN (``c``); the block returns
    ``relu(proj(x) + f(x))``. ``proj`` (1×1 conv with the stride + BN) exists only when the
    width or the resolution changes; otherwise the shortcut is the identity.

    ``group_width`` is the number of channels *per group* of the 3×3 convolution (the paper's
    g), so it has ``bottleneck_width // group_width`` groups; ``se_channels=0`` leaves out SE.
    Attribute names follow torchvision's ``ResBottleneckBlock``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        bottleneck_width: int | None = None,
        group_width: int = 1,
        se_channels: int = 0,
    ) -> None:
        super().__init__()
        w_b = out_channels if bottleneck_width is None else bottleneck_width
        if w_b < 1 or group_width < 1 or w_b % group_width:
            raise _groups_error(w_b, group_width)
        self.proj: nn.Module | None = None
        if in_channels != out_channels or stride != 1:
            self.proj = conv_norm_act(in_channels, out_channels, 1, stride, act=None)
        self.f = nn.Sequential()
        self.f.add_module("a", conv_norm_act(in_channels, w_b, 1))
        self.f.add_module("b", conv_norm_act(w_b, w_b, 3, stride, groups=w_b // group_width))
        if se_channels:
            self.f.add_module("se", SqueezeExcitation(w_b, se_channels))
        self.f.add_module("c", conv_norm_act(w_b, out_channels, 1, act=None))
        self.activation = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.proj is None else self.proj(x)
        return self.activation(shortcut + self.f(x))

    @staticmethod
    def cost(
        in_channels: int,
        out_channels: int,
        stride: int,
        bottleneck_width: int,
        group_width: int,
        se_channels: int,
        hw_in: int,
        hw_out: int,
    ) -> Cost:
        """The :data:`Cost` of the block built with these arguments, for an input of ``hw_in``
        pixels (``hw_out`` after the stride), without building it.

        ``a`` runs at the input resolution, ``b`` (with the stride), ``c`` and ``proj`` at the
        output's, ``se`` at 1×1 (:meth:`SqueezeExcitation.cost`); every convolution but SE's is
        followed by batch norm. Refuses what ``__init__`` refuses.
        """
        w_b = bottleneck_width
        if w_b < 1 or group_width < 1 or w_b % group_width:
            raise _groups_error(w_b, group_width)
        a = in_channels * w_b  # 1x1
        b = 9 * group_width * w_b  # 3x3 in groups of group_width input channels
        c = w_b * out_channels  # 1x1
        params = a + b + c + 4 * w_b + 2 * out_channels  # with the three batch norms
        flops = a * hw_in + (b + c) * hw_out
        acts = w_b * hw_in + (w_b + out_channels) * hw_out
        bias = 0
        if in_channels != out_channels or stride != 1:  # proj: 1x1 with the stride, BN
            p = in_channels * out_channels
            params += p + 2 * out_channels
            flops += p * hw_out
            acts += out_channels * hw_out
        if se_channels:
            se_params, se_flops, se_acts, bias = SqueezeExcitation.cost(w_b, se_channels)
            params += se_params
            flops += se_flops
            acts += se_acts
        return params, flops, acts, bias


def _groups_error(width: int, group_width: int) -> ConfigError:
    return ConfigError(
        f"bottleneck width {width} is not divisible by group width {group_width}: the 3x3 "
        "convolution must split its channels into whole groups"
    )
