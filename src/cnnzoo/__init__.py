"""cnnzoo — the classic convolutional networks, from LeNet-5 to RegNet.

Build any of them with one call::

    import cnnzoo
    model = cnnzoo.create_model("resnet18", num_classes=10, in_channels=1)
    cnnzoo.list_models("regnet*")
"""

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
    "create_model",
    "list_models",
    "model_info",
    "register_model",
]

__version__ = "0.1.0"
