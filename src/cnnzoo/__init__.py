"""cnnzoo — the classic convolutional networks, from LeNet-5 to RegNet.

Build any of them with one call::

    import cnnzoo
    model = cnnzoo.create_model("resnet18", num_classes=10, in_channels=1)
    cnnzoo.list_models("regnet*")

``import cnnzoo`` is cheap (it does not import torch): each name below is imported on first use
(PEP 562), the zoo's functions from :mod:`cnnzoo.models`, which registers every network.
"""

import importlib as _importlib

__all__ = [
    "Complexity",
    "ModelInfo",
    "UnknownModelError",
    "complexity",
    "create_model",
    "export_model",
    "list_models",
    "model_info",
    "register_model",
]

__version__ = "0.1.0"

# name -> the module it is imported from on first access
_LAZY = {
    "Complexity": "cnnzoo.cost",
    "complexity": "cnnzoo.cost",
    "ModelInfo": "cnnzoo.models",
    "UnknownModelError": "cnnzoo.models",
    "create_model": "cnnzoo.models",
    "export_model": "cnnzoo.export",
    "list_models": "cnnzoo.models",
    "model_info": "cnnzoo.models",
    "register_model": "cnnzoo.models",
}


def __getattr__(name: str) -> object:
    if name not in _LAZY:
        raise AttributeError(f"module 'cnnzoo' has no attribute {name!r}")
    value = getattr(_importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
