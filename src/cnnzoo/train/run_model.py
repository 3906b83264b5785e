"""The network of a training run: built from its config (seeded), re-initialised when the
config asks for an init scheme, started from other weights with ``init_from``, on the run's
device and memory layout."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from cnnzoo.models import create_model, load_weights
from cnnzoo.train.checkpoint import resolve_checkpoint
from cnnzoo.train.config import TrainConfig

__all__ = ["build_model", "init_from", "init_weights"]


def build_model(
    cfg: TrainConfig,
    num_classes: int,
    in_channels: int,
    device: torch.device,
    channels_last: bool,
    log: Callable[[str], None] | None = None,
) -> nn.Module:
    """``cfg.model`` with ``cfg.model_options``, its weights drawn after seeding ``cfg.seed``,
    or loaded from ``cfg.init_from`` (:func:`init_from`; what was loaded goes to ``log``,
    standard error by default)."""
    torch.manual_seed(cfg.seed)
    model = create_model(
        cfg.model, num_classes=num_classes, in_channels=in_channels, **cfg.model_options
    )
    if cfg.init is not None:
        init_weights(model, cfg.init)
    if cfg.init_from is not None:
        init_from(model, cfg.init_from, log)
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    return model


def init_from(model: nn.Module, path: str | Path, log: Callable[[str], None] | None = None) -> None:
    """Load the weights in ``path`` — a state-dict file in any layout
    :mod:`cnnzoo.models.weights` reads, or a cnnzoo run directory (its best checkpoint) — into
    ``model``, strictly but for the classifier: one for another number of classes is left out
    and the model's is initialised afresh (fine-tuning), and the log says so."""
    path = Path(path)
    if path.is_dir():
        path = resolve_checkpoint(path) / "model.safetensors"
    loaded = load_weights(model, path, classifier="new")
    message = f"init-from: {loaded.describe()}"
    if log is None:
        print(message, file=sys.stderr, flush=True)
    else:
        log(message)


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
