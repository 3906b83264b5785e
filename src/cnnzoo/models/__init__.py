"""The complete zoo: importing this package registers every family's builders.

One module per model family. The registry's functions are re-exported here, so that
``from cnnzoo.models import create_model, list_models`` always sees every network
(:mod:`cnnzoo.registry` alone knows only what has been imported so far).
"""

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
    vgg,
)
from cnnzoo.models.base import ZooModel
from cnnzoo.registry import (
    ModelInfo,
    UnknownModelError,
    create_model,
    list_models,
    model_info,
    register_model,
)

__all__ = [
    "ModelInfo",
    "UnknownModelError",
    "ZooModel",
    "create_model",
    "list_models",
    "model_info",
    "register_model",
]
