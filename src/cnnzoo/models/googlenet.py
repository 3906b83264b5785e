"""GoogLeNet — Szegedy et al., "Going Deeper with Convolutions", CVPR 2015 (arXiv 2014).

GoogLeNet introduced the Inception block: parallel 1×1, 3×3 and 5×5 convolutions and a 3×3 max
pooling read the same input and their outputs are concatenated along the channels, so the
network looks at several scales at once. 1×1 convolutions first reduce the channels that the
3×3 and 5×5 branches see (and project the pooling branch), which keeps a 22-layer network
cheaper than AlexNet. Two auxiliary classifiers on intermediate layers add their losses
(weighted 0.3) during training to help the gradients reach the early layers.

``googlenet`` is torchvision's GoogLeNet (batch norm after every convolution; its "5×5" branch
uses a 3×3 kernel, pytorch/vision#906), so torchvision's state dicts load with ``strict=True``.
``googlenet_d2l`` is Dive into Deep Learning's §8.4 network: no batch norm, the true 5×5 branch,
no auxiliary classifiers, for 96×96 grayscale images.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from cnnzoo.blocks import BasicConv2d, Inception, conv_relu
from cnnzoo.errors import ConfigError
from cnnzoo.models.base import SpatialOp, ZooModel, chain_min_size
from cnnzoo.registry import register_model

__all__ = [
    "GoogLeNet", "InceptionAux", "InceptionNet", "googlenet", "googlenet_d2l", "inception_net",
]  # fmt: skip

_PAPER = "Szegedy et al. 2015, Going Deeper with Convolutions"

# The four max poolings between the stages (maxpool1 … maxpool4).
TORCHVISION_POOLS = (
    SpatialOp(3, 2, ceil_mode=True),
    SpatialOp(3, 2, ceil_mode=True),
    SpatialOp(3, 2, ceil_mode=True),
    SpatialOp(2, 2, ceil_mode=True),
)
D2L_POOLS = (SpatialOp(3, 2, 1),) * 4


class InceptionAux(nn.Module):
    """Auxiliary classifier: 4×4 average pooling, 1×1 conv to 128, fc 1024 + ReLU, dropout, fc."""

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        conv_block: Callable[..., nn.Module] = BasicConv2d,
        dropout: float = 0.7,
    ) -> None:
        super().__init__()
        self.conv = conv_block(in_channels, 128, kernel_size=1)
        self.fc1 = nn.Linear(128 * 4 * 4, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(F.adaptive_avg_pool2d(x, (4, 4)))
        x = F.relu(self.fc1(torch.flatten(x, 1)), inplace=True)
        return self.fc2(self.dropout(x))


class GoogLeNet(ZooModel):
    """GoogLeNet: a 7×7/2 stem, 1×1 and 3×3 convolutions, nine Inception blocks in three stages
    separated by max pooling, global average pooling, dropout and a linear classifier.

    ``forward`` returns the logits in training and evaluation mode alike. To train with the
    auxiliary classifiers call :meth:`forward_aux`, which also returns their logits.

    Args:
        aux_logits: build the two auxiliary classifiers (after ``inception4a`` and
            ``inception4d``).
        transform_input: convert inputs normalised with ImageNet's mean and std to the
            ``(x - 0.5) / 0.5`` normalisation the original weights were trained with
            (3-channel inputs only).
        dropout, dropout_aux: dropout probability before the classifier and in the auxiliary
            classifiers.
        batch_norm: convolution units with batch norm (:class:`BasicConv2d`) or without
            (conv + bias + ReLU, as in the paper and the book).
        branch3_kernel: kernel of the Inception blocks' third branch (5 in the paper, 3 in
            torchvision).
        pools: the four inter-stage max poolings.
        init: ``"trunc_normal"`` (torchvision's std-0.01 truncated normal), ``"xavier"`` (the
            book's ``init_cnn``) or ``"default"`` (PyTorch's own initialisation).
    """

    num_features = 1024
    classifier_layers = ("fc", "aux1.fc2", "aux2.fc2")

    def __init__(
        self,
        num_classes: int = 1000,
        in_channels: int = 3,
        aux_logits: bool = True,
        transform_input: bool = False,
        dropout: float = 0.2,
        dropout_aux: float = 0.7,
        batch_norm: bool = True,
        branch3_kernel: int = 3,
        pools: Sequence[SpatialOp] = TORCHVISION_POOLS,
        init: str = "trunc_normal",
    ) -> None:
        super().__init__()
        if transform_input and in_channels != 3:
            raise ConfigError(
                f"transform_input=True re-normalises the three RGB channels, but the model has "
                f"in_channels={in_channels}; use transform_input=False for other inputs"
            )
        if len(pools) != 4:
            raise ConfigError(f"pools must give the 4 inter-stage poolings, got {len(pools)}")
        if init not in ("trunc_normal", "xavier", "default"):
            raise ConfigError(f"init must be 'trunc_normal', 'xavier' or 'default', got {init!r}")
        self.in_channels, self.num_classes = in_channels, num_classes
        self.aux_logits, self.transform_input, self.init = aux_logits, transform_input, init
        conv_block = BasicConv2d if batch_norm else conv_relu
        inception = partial(Inception, conv_block=conv_block, branch3_kernel=branch3_kernel)

        def maxpool(op: SpatialOp) -> nn.MaxPool2d:
            return nn.MaxPool2d(op.kernel, op.stride, op.padding, ceil_mode=op.ceil_mode)

        stem = [SpatialOp(7, 2, 3), pools[0], SpatialOp(1), SpatialOp(3, 1, 1), pools[1]]
        self.min_input_size = chain_min_size([*stem, pools[2], pools[3]])

        self.conv1 = conv_block(in_channels, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = maxpool(pools[0])
        self.conv2 = conv_block(64, 64, kernel_size=1)
        self.conv3 = conv_block(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = maxpool(pools[1])

        self.inception3a = inception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = inception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = maxpool(pools[2])

        self.inception4a = inception(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = inception(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = inception(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = inception(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = inception(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = maxpool(pools[3])

        self.inception5a = inception(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = inception(832, 384, 192, 384, 48, 128, 128)

        self.aux1: InceptionAux | None = None
        self.aux2: InceptionAux | None = None
        if aux_logits:
            self.aux1 = InceptionAux(512, num_classes, conv_block, dropout=dropout_aux)
            self.aux2 = InceptionAux(528, num_classes, conv_block, dropout=dropout_aux)

        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(self.num_features, num_classes)

        self.init_weights()

    def init_layer(self, m: nn.Module) -> None:
        if isinstance(m, nn.Conv2d | nn.Linear):
            if self.init == "trunc_normal":
                nn.init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-2, b=2)
            elif self.init == "xavier":
                nn.init.xavier_uniform_(m.weight)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    def _transform_input(self, x: torch.Tensor) -> torch.Tensor:
        if not self.transform_input:
            return x
        # ImageNet mean/std normalisation -> (x - 0.5) / 0.5, as in torchvision.
        x_ch0 = torch.unsqueeze(x[:, 0], 1) * (0.229 / 0.5) + (0.485 - 0.5) / 0.5
        x_ch1 = torch.unsqueeze(x[:, 1], 1) * (0.224 / 0.5) + (0.456 - 0.5) / 0.5
        x_ch2 = torch.unsqueeze(x[:, 2], 1) * (0.225 / 0.5) + (0.406 - 0.5) / 0.5
        return torch.cat((x_ch0, x_ch1, x_ch2), 1)

    def _features(
        self, x: torch.Tensor, with_aux: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        x = self._transform_input(x)
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        # The auxiliary heads run where torchvision runs them, so dropout draws the same numbers.
        aux1 = self.aux1(x) if with_aux and self.aux1 is not None else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if with_aux and self.aux2 is not None else None
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        return x, aux1, aux2

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self._features(x, with_aux=False)[0]

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))

    def forward_aux(
        self, x: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """``(logits, aux1, aux2)``: the main and the two auxiliary classifiers' logits.

        The auxiliary logits are ``None`` in evaluation mode or without ``aux_logits``. The paper
        trains on ``loss(logits) + 0.3 * (loss(aux1) + loss(aux2))``.
        """
        self.check_input(x)
        x, aux1, aux2 = self._features(x, with_aux=self.training)
        return self.forward_head(x), aux1, aux2


@register_model(family="googlenet", year=2014, paper=_PAPER, input_size=224)
def googlenet(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    aux_logits: bool = True,
    transform_input: bool = False,
    dropout: float = 0.2,
    dropout_aux: float = 0.7,
    init_weights: bool = True,
) -> GoogLeNet:
    """GoogLeNet (Szegedy et al., CVPR 2015) with batch norm; torchvision-compatible.

    13.0M parameters with the auxiliary classifiers, 6.6M without. ``forward`` returns the logits
    only; ``forward_aux`` adds the auxiliary classifiers' logits for training.
    ``init_weights=False`` keeps PyTorch's default initialisation.
    """
    return GoogLeNet(
        num_classes,
        in_channels,
        aux_logits=aux_logits,
        transform_input=transform_input,
        dropout=dropout,
        dropout_aux=dropout_aux,
        init="trunc_normal" if init_weights else "default",
    )


@register_model(family="googlenet", year=2014, paper=_PAPER, input_size=96)
def googlenet_d2l(*, num_classes: int = 10, in_channels: int = 1) -> GoogLeNet:
    """GoogLeNet as in D2L §8.4: no batch norm, true 5×5 branch, no auxiliary classifiers.

    Max poolings are 3×3/2 with padding 1; meant for 96×96 Fashion-MNIST images.
    """
    return GoogLeNet(
        num_classes,
        in_channels,
        aux_logits=False,
        dropout=0.0,
        batch_norm=False,
        branch3_kernel=5,
        pools=D2L_POOLS,
        init="xavier",
    )


_SMALL_INCEPTION: tuple = (
    (32, 48, 64, 8, 16, 16),  # -> 128 channels
    (64, 64, 96, 16, 48, 32),  # -> 240
    "pool",
    (96, 48, 104, 8, 24, 32),  # -> 256
)


class InceptionNet(ZooModel):
    """A small GoogLeNet for 28–32 pixel images: a 3×3 stem (64 channels) and a 3×3/2 max
    pooling, then Inception blocks (``"pool"`` entries halve the size), global average pooling,
    dropout and a linear classifier.

    ``branches="3x3"`` replaces every Inception block by a single 3×3 convolution with
    ``width`` times the block's output channels: one kernel size instead of four branches, the
    ablation of what the parallel branches are worth (choose ``width`` for equal cost).
    """

    def __init__(
        self,
        blocks: Sequence = _SMALL_INCEPTION,
        num_classes: int = 10,
        in_channels: int = 1,
        batch_norm: bool = False,
        branches: str = "all",
        width: float = 1.0,
        dropout: float = 0.4,
        stem_width: int = 64,
    ) -> None:
        super().__init__()
        if branches not in ("all", "3x3"):
            raise ConfigError(f"branches must be 'all' or '3x3', got {branches!r}")
        if not width > 0:
            raise ConfigError(f"width must be > 0, got {width!r}")
        self.in_channels, self.num_classes = in_channels, num_classes
        conv_block = BasicConv2d if batch_norm else conv_relu
        layers: list[nn.Module] = [
            conv_block(in_channels, stem_width, kernel_size=3, padding=1),
            nn.MaxPool2d(3, 2, 1),
        ]
        ops = [SpatialOp(3, 1, 1), SpatialOp(3, 2, 1)]
        c = stem_width
        for blk in blocks:
            if blk == "pool":
                layers.append(nn.MaxPool2d(3, 2, 1))
                ops.append(SpatialOp(3, 2, 1))
                continue
            if len(blk) != 6:
                raise ConfigError(f"an Inception block is 6 channel counts or 'pool', got {blk!r}")
            b1, b2r, b2, b3r, b3, b4 = (int(v) for v in blk)
            out = b1 + b2 + b3 + b4
            if branches == "all":
                layers.append(Inception(c, b1, b2r, b2, b3r, b3, b4, conv_block, branch3_kernel=5))
            else:
                out = max(1, round(out * width))
                layers.append(conv_block(c, out, kernel_size=3, padding=1))
            c = out
        self.features = nn.Sequential(*layers)
        self.num_features = c
        self.min_input_size = chain_min_size(ops)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(c, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)))


@register_model(family="googlenet", year=2014, paper=_PAPER, input_size=28, generic=True)
def inception_net(
    *,
    num_classes: int = 10,
    in_channels: int = 1,
    blocks: Sequence = _SMALL_INCEPTION,
    batch_norm: bool = False,
    branches: str = "all",
    width: float = 1.0,
    dropout: float = 0.4,
    stem_width: int = 64,
) -> InceptionNet:
    """A small GoogLeNet of Inception blocks for 28–32 pixel images, or (``branches="3x3"``)
    the same network with one 3×3 convolution in place of each block's four branches.

    Szegedy et al., "Going Deeper with Convolutions", CVPR 2015.
    """
    return InceptionNet(
        blocks, num_classes, in_channels, batch_norm, branches, width, dropout, stem_width
    )
