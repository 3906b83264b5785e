"""The network of a training run: built from its config (seeded), re-initialised when the
config asks for an init scheme, on the run's device and memory layout."""

from __future__ import annotations

import torch
from torch import nn

from cnnzoo.models import create_model
from cnnzoo.train.config import TrainConfig

__all__ = ["build_model", "init_weights"]


def build_model(
    cfg: TrainConfig,
    num_classes: int,
    in_channels: int,
    device: torch.device,
    channels_last: bool,
) -> nn.Module:
    """``cfg.model`` with ``cfg.model_options``, its weights drawn after seeding ``cfg.seed``."""
    torch.manual_seed(cfg.seed)
    model = create_model(
        cfg.model, num_classes=num_classes, in_channels=in_channels, **cfg.model_options
    )
    if cfg.init is not None:
        init_weights(model, cfg.init)
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    return model


def init_weights(model: nn.Module, scheme: str) -> None:
    """Re-initialise convolutions and linear layers: ``xavier`` (uniform, the book's
    ``init_cnn``) or ``kaiming`` (He et al. 2015: normal, fan-in, ReLU gain, zero biases)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            if scheme == "xavier":
                nn.init.xavier_uniform_(m.weight)
            else:
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
