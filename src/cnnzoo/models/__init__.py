"""One module per model family; importing this package registers every builder."""

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

__all__ = ["ZooModel"]
