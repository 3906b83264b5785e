"""cnnzoo — the classic convolutional networks, from LeNet-5 to RegNet.

Build any of them with one call::

    import cnnzoo
    model = cnnzoo.create_model("resnet18", num_classes=10, in_channels=1)
    cnnzoo.list_models("regnet*")
"""

# The function ``cnnzoo.complexity`` shadows the module of the same name as an attribute
# (import from the module with ``from cnnzoo.complexity import summary``).
from cnnzoo.complexity import Complexity, complexity
from cnnzoo.registry import (
    ModelInfo,
    UnknownModelError,
    create_model,
    list_models,
    model_info,
    register_model,
)

__all__ = [
    "Complexity",
    "ModelInfo",
    "UnknownModelError",
    "complexity",
    "create_model",
    "list_models",
    "model_info",
    "register_model",
]

__version__ = "0.1.0"
