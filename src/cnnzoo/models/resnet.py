"""ResNet — He, Zhang, Ren & Sun, "Deep Residual Learning for Image Recognition", CVPR 2016.

Deeper plain networks train *worse*, not just overfit more — the degradation problem. ResNet
lets each block learn a residual ``F(x)`` added to an identity shortcut, ``y = F(x) + x``, so a
block that has nothing to add can stay close to the identity; with batch normalisation after
every convolution this trains networks of 100+ layers. ``plain20`` … ``plain110`` are the same
CIFAR networks without the shortcuts, for reproducing the degradation experiment (Fig. 6).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from cnnzoo.blocks import BasicBlock, Bottleneck
from cnnzoo.errors import ConfigError
from cnnzoo.models.base import SpatialOp, ZooModel, chain_min_size, kaiming_init
from cnnzoo.registry import register_model

__all__ = [
    "CifarResNet", "D2LResNet", "ResNet", "cifar_resnet",
    "plain20", "plain32", "plain44", "plain56", "plain110",
    "resnet18", "resnet18_d2l", "resnet20", "resnet32", "resnet34", "resnet44", "resnet50",
    "resnet56", "resnet101", "resnet110", "resnet152",
]  # fmt: skip

_PAPER = "He et al. 2016, Deep Residual Learning for Image Recognition"


class ResNet(ZooModel):
    """The ImageNet ResNet (torchvision layout, so its weights load with ``strict=True``).

    7×7/2 stem convolution, 3×3/2 max pooling, four stages of basic or bottleneck blocks
    (widths 64-128-256-512, ×4 for bottlenecks), global average pooling and a linear classifier.

    Args:
        block: ``"basic"`` (ResNet-18/34) or ``"bottleneck"`` (ResNet-50 and deeper, ResNeXt).
        layers: number of blocks per stage.
        groups: number of groups of each bottleneck's 3×3 convolution (ResNeXt's cardinality).
        width_per_group: channels per group at the first stage's width of 64; the bottleneck
            width of a stage of width ``w`` is ``int(w * width_per_group / 64) * groups``.
        zero_init_residual: start each block's last batch-norm scale at zero, so every block
            begins as the identity (Goyal et al. 2017).
    """

    def __init__(
        self,
        block: str,
        layers: Sequence[int],
        num_classes: int = 1000,
        in_channels: int = 3,
        zero_init_residual: bool = False,
        groups: int = 1,
        width_per_group: int = 64,
    ) -> None:
        super().__init__()
        if block not in ("basic", "bottleneck"):
            raise ConfigError(f"block must be 'basic' or 'bottleneck', got {block!r}")
        if len(layers) != 4 or any(int(n) < 1 for n in layers):
            raise ConfigError(f"layers must be 4 positive block counts, got {list(layers)}")
        if block == "basic" and (groups != 1 or width_per_group != 64):
            raise ConfigError("basic blocks have no groups; use block='bottleneck' for ResNeXt")
        self.in_channels, self.num_classes = in_channels, num_classes
        self.block = block
        self.groups, self.width_per_group = groups, width_per_group
        expansion = 1 if block == "basic" else Bottleneck.expansion
        self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self._channels = 64
        self.layer1 = self._make_layer(64, layers[0], 1, expansion)
        self.layer2 = self._make_layer(128, layers[1], 2, expansion)
        self.layer3 = self._make_layer(256, layers[2], 2, expansion)
        self.layer4 = self._make_layer(512, layers[3], 2, expansion)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.num_features = 512 * expansion
        self.fc = nn.Linear(self.num_features, num_classes)
        self.min_input_size = chain_min_size([SpatialOp(7, 2, 3), SpatialOp(3, 2, 1)])

        self.init_weights()
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    nn.init.zeros_(m.bn3.weight)
                elif isinstance(m, BasicBlock):
                    nn.init.zeros_(m.bn2.weight)

    def _make_layer(self, planes: int, blocks: int, stride: int, expansion: int) -> nn.Sequential:
        out_channels = planes * expansion
        downsample = None
        if stride != 1 or self._channels != out_channels:
            downsample = nn.Sequential(
                nn.Conv2d(self._channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        layers: list[nn.Module] = []
        for i in range(blocks):
            c_in = self._channels if i == 0 else out_channels
            s = stride if i == 0 else 1
            ds = downsample if i == 0 else None
            if self.block == "basic":
                layers.append(BasicBlock(c_in, planes, s, ds))
            else:
                width = int(planes * (self.width_per_group / 64.0)) * self.groups
                layers.append(Bottleneck(c_in, width, out_channels, s, self.groups, ds))
        self._channels = out_channels
        return nn.Sequential(*layers)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.avgpool(x), 1))

    def init_layer(self, m: nn.Module) -> None:
        kaiming_init(m)


@register_model(family="resnet", year=2015, paper=_PAPER, input_size=224)
def resnet18(
    *, num_classes: int = 1000, in_channels: int = 3, zero_init_residual: bool = False
) -> ResNet:
    """ResNet-18 (He et al., CVPR 2016): basic blocks [2, 2, 2, 2] per stage;
    torchvision-compatible.

    Two 3×3 convolutions per block around an identity shortcut: residual learning.
    """
    return ResNet("basic", (2, 2, 2, 2), num_classes, in_channels, zero_init_residual)


@register_model(family="resnet", year=2015, paper=_PAPER, input_size=224)
def resnet34(
    *, num_classes: int = 1000, in_channels: int = 3, zero_init_residual: bool = False
) -> ResNet:
    """ResNet-34 (He et al., CVPR 2016): basic blocks [3, 4, 6, 3] per stage;
    torchvision-compatible.

    The paper's 34-layer network, which beats its plain counterpart where the plain one degrades.
    """
    return ResNet("basic", (3, 4, 6, 3), num_classes, in_channels, zero_init_residual)


@register_model(family="resnet", year=2015, paper=_PAPER, input_size=224)
def resnet50(
    *, num_classes: int = 1000, in_channels: int = 3, zero_init_residual: bool = False
) -> ResNet:
    """ResNet-50 (He et al., CVPR 2016): bottleneck blocks [3, 4, 6, 3] per stage;
    torchvision-compatible.

    Each block is a 1×1-3×3-1×1 bottleneck, which keeps the deeper networks affordable.
    """
    return ResNet("bottleneck", (3, 4, 6, 3), num_classes, in_channels, zero_init_residual)


@register_model(family="resnet", year=2015, paper=_PAPER, input_size=224)
def resnet101(
    *, num_classes: int = 1000, in_channels: int = 3, zero_init_residual: bool = False
) -> ResNet:
    """ResNet-101 (He et al., CVPR 2016): bottleneck blocks [3, 4, 23, 3] per stage;
    torchvision-compatible."""
    return ResNet("bottleneck", (3, 4, 23, 3), num_classes, in_channels, zero_init_residual)


@register_model(family="resnet", year=2015, paper=_PAPER, input_size=224)
def resnet152(
    *, num_classes: int = 1000, in_channels: int = 3, zero_init_residual: bool = False
) -> ResNet:
    """ResNet-152 (He et al., CVPR 2016): bottleneck blocks [3, 8, 36, 3] per stage;
    torchvision-compatible.

    The paper's deepest ImageNet network, still cheaper in multiply-adds than VGG-16.
    """
    return ResNet("bottleneck", (3, 8, 36, 3), num_classes, in_channels, zero_init_residual)


# --------------------------------------------------------------------------- the book's ResNet-18


class D2LResidual(nn.Module):
    """The book's residual block (D2L §8.6): like :class:`BasicBlock`, but its convolutions keep
    their biases and the optional 1×1 projection has no batch norm."""

    def __init__(self, in_channels: int, out_channels: int, use_1x1conv: bool, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1)
        self.conv3 = nn.Conv2d(in_channels, out_channels, 1, stride) if use_1x1conv else None
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        if self.conv3 is not None:
            x = self.conv3(x)
        return F.relu(y + x)


class D2LResNet(ZooModel):
    """The book's ResNet-18 (D2L §8.6): 7×7/2 stem with batch norm and 3×3/2 max pooling, four
    stages of two residual blocks (64-128-256-512), global average pooling, linear."""

    def __init__(
        self,
        arch: Sequence[tuple[int, int]] = ((2, 64), (2, 128), (2, 256), (2, 512)),
        num_classes: int = 10,
        in_channels: int = 1,
    ) -> None:
        super().__init__()
        self.in_channels, self.num_classes = in_channels, num_classes
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3),
            nn.BatchNorm2d(64),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
        )
        stages: list[nn.Module] = []
        c_in = 64
        for i, (num_residuals, channels) in enumerate(arch):
            blocks = []
            for j in range(num_residuals):
                first = j == 0 and i > 0
                blocks.append(
                    D2LResidual(c_in, channels, use_1x1conv=first, stride=2 if first else 1)
                )
                c_in = channels
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.num_features = c_in
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c_in, num_classes)
        self.min_input_size = chain_min_size([SpatialOp(7, 2, 3), SpatialOp(3, 2, 1)])

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(self.stem(x))

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.global_pool(x), 1))


@register_model(family="resnet", year=2015, paper=_PAPER, input_size=96)
def resnet18_d2l(*, num_classes: int = 10, in_channels: int = 1) -> D2LResNet:
    """ResNet-18 as in D2L §8.6 (He et al., CVPR 2016), for Fashion-MNIST at 96×96."""
    return D2LResNet(num_classes=num_classes, in_channels=in_channels)


# --------------------------------------------------------------------------- CIFAR ResNets (§4.2)


class ShortcutA(nn.Module):
    """He et al.'s option A: an identity shortcut that subsamples by ``stride`` and pads the new
    channels with zeros — no parameters.

    Half the zero channels go before the input's and half after (the odd one after), as in the
    widely used public CIFAR ResNet checkpoints (akamaster/pytorch_resnet_cifar10's
    ``F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, planes // 4, planes // 4))``), so that their
    weights give their outputs here.
    """

    def __init__(self, extra_channels: int, stride: int) -> None:
        super().__init__()
        self.extra_channels, self.stride = extra_channels, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        before = self.extra_channels // 2
        return F.pad(x, (0, 0, 0, 0, before, self.extra_channels - before))


class CifarResNet(ZooModel):
    """The CIFAR-10 networks of He et al. 2016, §4.2: a 3×3 convolution with 16 channels, three
    stages of ``n`` basic blocks at 16, 32 and 64 channels (32×32, 16×16, 8×8 maps), global
    average pooling and a linear classifier — ``6n + 2`` layers.

    Args:
        depth: ``6n + 2`` (20, 32, 44, 56, 110, ...).
        shortcut: ``"A"`` zero-padding identity shortcuts (the paper's CIFAR choice, parameter
            free) or ``"B"`` 1×1 projections where the shape changes.
        skip: ``False`` builds the *plain* counterpart without any shortcut.
    """

    def __init__(
        self,
        depth: int,
        num_classes: int = 10,
        in_channels: int = 3,
        shortcut: str = "A",
        skip: bool = True,
    ) -> None:
        super().__init__()
        if depth < 8 or (depth - 2) % 6:
            raise ConfigError(
                f"CIFAR ResNet depth must be 6n+2 with n >= 1 (20, 32, 44, 56, 110, ...), "
                f"got {depth}"
            )
        if shortcut not in ("A", "B"):
            raise ConfigError(
                f"shortcut must be 'A' (zero padding) or 'B' (projection), got {shortcut!r}"
            )
        n = (depth - 2) // 6
        self.in_channels, self.num_classes = in_channels, num_classes
        self.depth, self.shortcut, self.skip = depth, shortcut, skip
        self.conv1 = nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        stages = []
        c_in = 16
        for channels, stride in ((16, 1), (32, 2), (64, 2)):
            blocks = []
            for i in range(n):
                s = stride if i == 0 else 1
                down: nn.Module | None = None
                if skip and (s != 1 or c_in != channels):
                    if shortcut == "A":
                        down = ShortcutA(channels - c_in, s)
                    else:
                        down = nn.Sequential(
                            nn.Conv2d(c_in, channels, 1, s, bias=False), nn.BatchNorm2d(channels)
                        )
                blocks.append(BasicBlock(c_in, channels, s, down, skip=skip))
                c_in = channels
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.num_features = 64
        self.fc = nn.Linear(64, num_classes)
        self.init_weights()

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        return self.layer3(self.layer2(self.layer1(x)))

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.avgpool(x), 1))

    def init_layer(self, m: nn.Module) -> None:
        kaiming_init(m)


@register_model(family="resnet", year=2015, paper=_PAPER, input_size=32)
def resnet20(*, num_classes: int = 10, in_channels: int = 3, shortcut: str = "A") -> CifarResNet:
    """ResNet-20 for CIFAR-10 (He et al., CVPR 2016, §4.2): 3 stages of 3 basic blocks at
    16/32/64 channels; option A or B shortcuts."""
    return CifarResNet(20, num_classes, in_channels, shortcut, skip=True)


@register_model(family="resnet", year=2015, paper=_PAPER, input_size=32)
def resnet32(*, num_classes: int = 10, in_channels: int = 3, shortcut: str = "A") -> CifarResNet:
    """ResNet-32 for CIFAR-10 (He et al., CVPR 2016, §4.2): 3 stages of 5 basic blocks at
    16/32/64 channels; option A or B shortcuts."""
    return CifarResNet(32, num_classes, in_channels, shortcut, skip=True)


@register_model(family="resnet", year=2015, paper=_PAPER, input_size=32)
def resnet44(*, num_classes: int = 10, in_channels: int = 3, shortcut: str = "A") -> CifarResNet:
    """ResNet-44 for CIFAR-10 (He et al., CVPR 2016, §4.2): 3 stages of 7 basic blocks at
    16/32/64 channels; option A or B shortcuts."""
    return CifarResNet(44, num_classes, in_channels, shortcut, skip=True)


@register_model(family="resnet", year=2015, paper=_PAPER, input_size=32)
def resnet56(*, num_classes: int = 10, in_channels: int = 3, shortcut: str = "A") -> CifarResNet:
    """ResNet-56 for CIFAR-10 (He et al., CVPR 2016, §4.2): 3 stages of 9 basic blocks at
    16/32/64 channels; option A or B shortcuts."""
    return CifarResNet(56, num_classes, in_channels, shortcut, skip=True)


@register_model(family="resnet", year=2015, paper=_PAPER, input_size=32)
def resnet110(*, num_classes: int = 10, in_channels: int = 3, shortcut: str = "A") -> CifarResNet:
    """ResNet-110 for CIFAR-10 (He et al., CVPR 2016, §4.2): 3 stages of 18 basic blocks at
    16/32/64 channels; option A or B shortcuts."""
    return CifarResNet(110, num_classes, in_channels, shortcut, skip=True)


@register_model(family="resnet", year=2015, paper=_PAPER, input_size=32)
def plain20(*, num_classes: int = 10, in_channels: int = 3) -> CifarResNet:
    """Plain-20 for CIFAR-10 (He et al., CVPR 2016, §4.2): ResNet-20 without its shortcuts, for
    the degradation experiment."""
    return CifarResNet(20, num_classes, in_channels, skip=False)


@register_model(family="resnet", year=2015, paper=_PAPER, input_size=32)
def plain32(*, num_classes: int = 10, in_channels: int = 3) -> CifarResNet:
    """Plain-32 for CIFAR-10 (He et al., CVPR 2016, §4.2): ResNet-32 without its shortcuts, for
    the degradation experiment."""
    return CifarResNet(32, num_classes, in_channels, skip=False)


@register_model(family="resnet", year=2015, paper=_PAPER, input_size=32)
def plain44(*, num_classes: int = 10, in_channels: int = 3) -> CifarResNet:
    """Plain-44 for CIFAR-10 (He et al., CVPR 2016, §4.2): ResNet-44 without its shortcuts, for
    the degradation experiment."""
    return CifarResNet(44, num_classes, in_channels, skip=False)


@register_model(family="resnet", year=2015, paper=_PAPER, input_size=32)
def plain56(*, num_classes: int = 10, in_channels: int = 3) -> CifarResNet:
    """Plain-56 for CIFAR-10 (He et al., CVPR 2016, §4.2): ResNet-56 without its shortcuts, for
    the degradation experiment."""
    return CifarResNet(56, num_classes, in_channels, skip=False)


@register_model(family="resnet", year=2015, paper=_PAPER, input_size=32)
def plain110(*, num_classes: int = 10, in_channels: int = 3) -> CifarResNet:
    """Plain-110 for CIFAR-10 (He et al., CVPR 2016, §4.2): ResNet-110 without its shortcuts, for
    the degradation experiment."""
    return CifarResNet(110, num_classes, in_channels, skip=False)


@register_model(family="resnet", year=2015, paper=_PAPER, input_size=32, generic=True)
def cifar_resnet(
    *,
    num_classes: int = 10,
    in_channels: int = 3,
    depth: int = 20,
    skip: bool = True,
    shortcut: str = "A",
) -> CifarResNet:
    """The CIFAR networks of He et al. (CVPR 2016, §4.2) at any depth ``6n + 2``, residual
    (``skip=True``) or plain: ``cifar_resnet(depth=56, skip=False)`` is ``plain56``."""
    return CifarResNet(int(depth), num_classes, in_channels, shortcut, skip=bool(skip))
