"""The complete zoo: importing this package registers every family's builders.

One module per model family. The registry's functions are re-exported here, so that
``from cnnzoo.models import create_model, list_models`` always sees every network
(:mod:`cnnzoo.registry` alone knows only what has been imported so far); ``create_model`` here
also takes ``weights=PATH`` (:mod:`cnnzoo.models.weights`).
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from cnnzoo import registry
from cnnzoo.models import (  # noqa: F401  (imported for registration)
    alexnet,
    anynet,
    densenet,
    googlenet,
    lenet,
    nin,
    regnet,
    resnet,
    resnext,
    speednet,
    vgg,
)
from cnnzoo.models.base import ZooModel
from cnnzoo.models.weights import LoadedWeights, load_weights
from cnnzoo.registry import (
    ModelInfo,
    UnknownModelError,
    list_models,
    model_info,
    register_model,
)

__all__ = [
    "LoadedWeights",
    "ModelInfo",
    "UnknownModelError",
    "ZooModel",
    "create_model",
    "list_models",
    "load_weights",
    "model_info",
    "register_model",
]


def create_model(
    name: str,
    *,
    num_classes: int | None = None,
    in_channels: int | None = None,
    weights: str | Path | None = None,
    **options: object,
) -> nn.Module:
    """Build a registered model by name (:func:`cnnzoo.registry.create_model`), and with
    ``weights`` load a state-dict file into it: torchvision's, timm's, pycls's, the public CIFAR
    ResNets' or cnnzoo's own layout, read without executing code and loaded with
    ``strict=True`` (:func:`~cnnzoo.models.weights.load_weights`). Without ``num_classes`` the
    model gets the file's number of classes; with it, the file's classifier must have as many.
    """
    model = registry.create_model(name, num_classes=num_classes, in_channels=in_channels, **options)
    if weights is not None:
        load_weights(model, weights, classifier="strict" if num_classes is not None else "fit")
    return model
