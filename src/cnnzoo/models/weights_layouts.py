"""Other projects' state-dict layouts, recognised by their key names and renamed to cnnzoo's.

cnnzoo's networks use torchvision's module names wherever torchvision has the same network, so
a torchvision state dict needs no conversion (:mod:`cnnzoo.models.weights` loads it as it is),
and neither do timm's ResNets, ResNeXts and DenseNets, which use torchvision's names too. What
needs converting:

- **torchvision**, old files: the DenseNet checkpoints torchvision hosts still name the dense
  layers' parts ``norm.1``/``conv.2``; torchvision renames them on load
  (``torchvision/models/densenet.py``, ``_load_state_dict``), and so does this module.
- **timm** (``timm/models/vgg.py``, ``regnet.py``): VGG's two hidden layers are convolutions
  (``pre_logits.fc1`` 4096×512×7×7, ``pre_logits.fc2`` 4096×4096×1×1) and its last layer is
  ``head.fc``: reshaped to linear layers (timm's ``_filter_fn`` does the reverse). RegNet's
  blocks are ``s{i}.b{j}`` with ``conv1/conv2/se/conv3/downsample`` as ``conv``+``bn`` pairs.
- **pycls** (``pycls/models/anynet.py``, ``blocks.py``): ``stem.conv``, ``s{i}.b{j}`` blocks
  with ``proj``/``bn`` shortcuts and ``f.a``, ``f.a_bn``, ``f.b``, ``f.b_bn``, ``f.se.f_ex.0``,
  ``f.se.f_ex.2``, ``f.c``, ``f.c_bn``, and ``head.fc``: RegNetX/Y and any AnyNet of
  bottleneck blocks with the simple stem; the model zoo's ResNet/ResNeXt-50/101/152 (AnyNets
  with the ResNet stem, stride on the 3×3 convolution) onto cnnzoo's ``ResNet``; the CIFAR
  ResNets of ``pycls/models/resnet.py`` (projection shortcuts) onto ``resnet20(shortcut="B")``
  and its siblings.
- **cifar-resnet**: Yerlan Idelbayev's CIFAR ResNet-20…1202 (github akamaster/
  pytorch_resnet_cifar10, ``resnet.py``), the widely used public CIFAR checkpoints: ``linear``
  is cnnzoo's ``fc``, ``shortcut.0/1`` (option B) its ``downsample.0/1``; option A has no
  parameters and pads as cnnzoo's :class:`~cnnzoo.models.resnet.ShortcutA` does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from cnnzoo.errors import CheckpointError
from cnnzoo.models.anynet import AnyNet
from cnnzoo.models.densenet import DenseNet
from cnnzoo.models.resnet import CifarResNet, ResNet
from cnnzoo.models.vgg import VGG

__all__ = ["LAYOUTS", "Layout", "detect_layout"]

State = dict[str, torch.Tensor]


@dataclass(frozen=True)
class Layout:
    """One project's way of naming a network's tensors: how to recognise a state dict in it,
    which cnnzoo models it maps onto, and the conversion."""

    name: str
    targets: str  # the cnnzoo models it maps onto, for people
    detect: Callable[[list[str]], bool]
    convert: Callable[[State, nn.Module], State | None]  # None: not for this kind of model


def _rename(state: State, rules: list[tuple[str, str]]) -> State:
    """Each key rewritten by the first rule (a regex and its replacement) whose regex matches
    from the key's start; keys no rule matches are kept as they are."""
    out: State = {}
    for key, value in state.items():
        for pattern, repl in rules:
            new, n = re.subn("^" + pattern, repl, key)
            if n:
                key = new
                break
        out[key] = value
    return out


# --------------------------------------------------------------------------- torchvision

_TV_DENSE_OLD = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))\.([12]\.\w+)$")


def _tv_detect(keys: list[str]) -> bool:
    return any(_TV_DENSE_OLD.match(k) for k in keys)


def _tv_convert(state: State, model: nn.Module) -> State | None:
    if not isinstance(model, DenseNet):
        return None
    return {_TV_DENSE_OLD.sub(r"\1\2", k): v for k, v in state.items()}


# --------------------------------------------------------------------------- timm

_BLOCK = r"s(\d+)\.b(\d+)\."


def _anynet_block(m: re.Match[str]) -> str:
    """pycls's/timm's ``s{i}.b{j}.`` as cnnzoo's (torchvision's) AnyNet block prefix."""
    i, j = int(m.group(1)), int(m.group(2))
    return f"trunk_output.block{i}.block{i}-{j - 1}."


def _resnet_block(m: re.Match[str]) -> str:
    return f"layer{int(m.group(1))}.{int(m.group(2)) - 1}."


def _timm_detect(keys: list[str]) -> bool:
    return "pre_logits.fc1.weight" in keys or any(
        re.match(_BLOCK + r"conv1\.conv\.weight$", k) for k in keys
    )


_TIMM_REGNET_PARTS = [
    ("conv1.conv", "f.a.0"), ("conv1.bn", "f.a.1"), ("conv2.conv", "f.b.0"),
    ("conv2.bn", "f.b.1"), ("se.fc1", "f.se.fc1"), ("se.fc2", "f.se.fc2"),
    ("conv3.conv", "f.c.0"), ("conv3.bn", "f.c.1"), ("downsample.conv", "proj.0"),
    ("downsample.bn", "proj.1"),
]  # fmt: skip


def _timm_convert(state: State, model: nn.Module) -> State | None:
    if isinstance(model, VGG) and "pre_logits.fc1.weight" in state:
        out = _rename(state, [(r"pre_logits\.fc1\.", "classifier.0."),
                              (r"pre_logits\.fc2\.", "classifier.3."),
                              (r"head\.fc\.", "classifier.6.")])  # fmt: skip
        for key in ("classifier.0.weight", "classifier.3.weight"):
            w = out[key]
            out[key] = w.reshape(w.shape[0], -1)  # a k×k convolution over k×k maps = a linear
        return out
    if isinstance(model, AnyNet):
        return _rename_blocks(state, ("stem.0.", "stem.1."), _TIMM_REGNET_PARTS, _anynet_block)
    return None


def _rename_blocks(
    state: State,
    stem: tuple[str, str],
    parts: list[tuple[str, str]],
    prefix: Callable[[re.Match[str]], str],
) -> State:
    """pycls's and timm's names (``stem.conv``, ``stem.bn``, ``s{i}.b{j}.PART``, ``head.fc``)
    as the model's: ``stem`` for the stem's convolution and norm, ``prefix`` for a block and
    ``parts`` (old, new) for what is in a block."""
    out: State = {}
    for key, value in state.items():
        if key.startswith("stem.conv."):
            key = stem[0] + key[len("stem.conv.") :]
        elif key.startswith("stem.bn."):
            key = stem[1] + key[len("stem.bn.") :]
        elif key.startswith("head.fc."):
            key = "fc." + key[len("head.fc.") :]
        elif m := re.match(_BLOCK, key):
            rest = key[m.end() :]
            for old, new in parts:
                if rest.startswith(old + "."):
                    rest = new + rest[len(old) :]
                    break
            key = prefix(m) + rest
        out[key] = value
    return out


# --------------------------------------------------------------------------- pycls


def _pycls_detect(keys: list[str]) -> bool:
    return "stem.conv.weight" in keys and any(re.match(_BLOCK + r"f\.a\.weight$", k) for k in keys)


_PYCLS_PARTS = [
    ("f.a_bn", "f.a.1"), ("f.a", "f.a.0"), ("f.b_bn", "f.b.1"), ("f.b", "f.b.0"),
    ("f.se.f_ex.0", "f.se.fc1"), ("f.se.f_ex.2", "f.se.fc2"), ("f.c_bn", "f.c.1"),
    ("f.c", "f.c.0"), ("proj", "proj.0"), ("bn", "proj.1"),
]  # fmt: skip
_PYCLS_RESNET_PARTS = [
    ("f.a_bn", "bn1"), ("f.a", "conv1"), ("f.b_bn", "bn2"), ("f.b", "conv2"),
    ("f.c_bn", "bn3"), ("f.c", "conv3"), ("proj", "downsample.0"), ("bn", "downsample.1"),
]  # fmt: skip


def _pycls_convert(state: State, model: nn.Module) -> State | None:
    if isinstance(model, AnyNet):
        return _rename_blocks(state, ("stem.0.", "stem.1."), _PYCLS_PARTS, _anynet_block)
    if isinstance(model, ResNet | CifarResNet):
        return _rename_blocks(state, ("conv1.", "bn1."), _PYCLS_RESNET_PARTS, _resnet_block)
    return None


# --------------------------------------------------------------------------- akamaster's CIFAR


def _cifar_detect(keys: list[str]) -> bool:
    return "linear.weight" in keys and "layer1.0.conv1.weight" in keys


def _cifar_convert(state: State, model: nn.Module) -> State | None:
    if not isinstance(model, CifarResNet):
        return None
    rules = [(r"linear\.", "fc."), (r"(layer\d+\.\d+\.)shortcut\.", r"\1downsample.")]
    return _rename(state, rules)


#: the layouts cnnzoo converts from, in the order they are tried
LAYOUTS: tuple[Layout, ...] = (
    Layout("timm", "vgg*, regnetx_*/regnety_* (and its ResNets and DenseNets, named as "
           "torchvision's)", _timm_detect, _timm_convert),
    Layout("pycls", "regnetx_*/regnety_*, anynet, resnet50/101/152, resnext*, and the CIFAR "
           "ResNets with shortcut='B'", _pycls_detect, _pycls_convert),
    Layout("cifar-resnet", "resnet20…110 (akamaster/pytorch_resnet_cifar10)", _cifar_detect,
           _cifar_convert),
    Layout("torchvision", "densenet* (its older DenseNet files)", _tv_detect, _tv_convert),
)  # fmt: skip


def detect_layout(state: State, model: nn.Module) -> tuple[State, str]:
    """``state`` renamed to ``model``'s key names, and the name of the layout it was in.

    A state dict no layout recognises is returned as it is, as ``"cnnzoo"`` (torchvision's
    names, for the networks both have). One that a layout recognises but cannot map onto this
    kind of model raises a ``CheckpointError`` naming the models it can."""
    keys = list(state)
    for layout in LAYOUTS:
        if layout.detect(keys):
            converted = layout.convert(state, model)
            if converted is None:
                name = getattr(model, "model_name", type(model).__name__)
                raise CheckpointError(
                    f"the weights are in {layout.name}'s layout, which cnnzoo maps onto "
                    f"{layout.targets} only, not onto {name}. Build the network the file was "
                    f"saved from."
                )
            return converted, layout.name
    return state, "cnnzoo"
