"""Weights from elsewhere: a state-dict file made by torchvision, timm, pycls, the public CIFAR
ResNets or cnnzoo itself, read without executing code and loaded with ``strict=True``.

``load_weights(model, path)`` reads ``.safetensors`` with safetensors and anything else with
``torch.load(weights_only=True)`` (plain tensors, numbers and strings; a file that would run
code is refused), unwraps the usual containers (``{"state_dict": ...}``, ``{"model": ...}``,
pycls's ``{"model_state": ...}``) and prefixes (``module.`` from DataParallel/DDP,
``_orig_mod.`` from ``torch.compile``), recognises the layout by its key names and renames it to
the model's (:mod:`cnnzoo.models.weights_layouts`). What does not fit is named: the keys missing
from the file, those the model lacks, and the tensors of other shapes, with what to change.

Supported:

- torchvision's and cnnzoo's own names, unchanged: alexnet, vgg*, googlenet, resnet*,
  resnext*, densenet* (older torchvision DenseNet files too), regnet_x_*/regnet_y_*; every
  cnnzoo model in its own layout (a run's ``model.safetensors``);
- timm: resnet*/resnext*/densenet* (torchvision's names), vgg* (its convolutional
  ``pre_logits``, reshaped), regnetx_*/regnety_* (and ``*_tv`` onto ``regnet_x_*``/``regnet_y_*``);
- pycls: RegNetX/Y and AnyNets of bottleneck blocks with the simple stem, the model zoo's
  ResNet/ResNeXt-50/101/152, the CIFAR ResNets (``shortcut="B"``);
- akamaster/pytorch_resnet_cifar10's ResNet-20…110 (option A or B shortcuts).

The classifier: by default the file's must fit (``classifier="strict"``); ``"fit"`` first
resizes the model's to the file's number of classes (``create_model(name, weights=PATH)``
without ``num_classes``), ``"new"`` loads everything but a classifier for another number of
classes and starts a fresh one (fine-tuning, ``cnnzoo train --init-from``).
"""

from __future__ import annotations

import pickle
import re
from argparse import Namespace
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from cnnzoo.errors import CheckpointError, ConfigError, MissingError
from cnnzoo.models.weights_layouts import LAYOUTS, detect_layout

__all__ = ["LoadedWeights", "load_weights", "read_weights"]

State = dict[str, torch.Tensor]

#: keys under which checkpoints keep the weights, in the order they are tried (the plain
#: weights before an EMA copy: ``state_dict`` before timm's ``state_dict_ema``)
_WRAPPERS = ("state_dict", "model_state", "model", "module", "net", "network", "weights")
#: prefixes that wrappers put before every key
_PREFIXES = ("module.", "_orig_mod.", "model.")
_CLASSIFIER_MODES = ("strict", "fit", "new")
_LISTED = 6  # keys named per kind of mismatch


@dataclass(frozen=True)
class LoadedWeights:
    """What :func:`load_weights` did."""

    path: str
    layout: str
    tensors: int  # tensors loaded from the file
    classifier: str  # "loaded" | "resized" (to the file's classes) | "new" (freshly initialised)
    file_classes: int | None  # the file's number of classes, where the model has a classifier

    def describe(self) -> str:
        layout = "cnnzoo/torchvision" if self.layout == "cnnzoo" else self.layout
        text = f"loaded {self.tensors} tensors from {self.path} ({layout} layout)"
        if self.classifier == "new" and self.file_classes is None:
            text += "; the file has no classifier: a new one was initialised"
        elif self.classifier == "new":
            text += (
                f"; the file's classifier ({self.file_classes} classes) was left out and a new "
                "one initialised for this run's classes"
            )
        elif self.classifier == "resized":
            text += f"; the classifier resized to the file's {self.file_classes} classes"
        return text


def _layout_names() -> str:
    names = dict.fromkeys(["cnnzoo/torchvision", *(layout.name for layout in LAYOUTS)])
    return ", ".join(names)


# --------------------------------------------------------------------------- reading


def read_weights(path: str | Path) -> State:
    """The state dict in a file: read without executing code, unwrapped, prefixes removed."""
    path = Path(path)
    if not path.is_file():
        raise MissingError(f"no weights file at {path}")
    if path.suffix == ".safetensors" or _looks_like_safetensors(path):
        obj: object = _read_safetensors(path)
    else:
        obj = _read_torch(path)
    return _strip_prefixes(_unwrap(obj, path))


def _looks_like_safetensors(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(9)
    return len(head) == 9 and head[8:9] == b"{"  # an 8-byte header length, then JSON


def _read_safetensors(path: Path) -> State:
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except Exception as e:  # safetensors raises its own error types, and OSError
        raise CheckpointError(
            f"{path} is not a readable safetensors file ({e}); is it complete? Download or "
            "save it again."
        ) from None


def _read_torch(path: Path) -> object:
    try:
        # argparse.Namespace: timm's training checkpoints keep their arguments in one
        with torch.serialization.safe_globals([Namespace]):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        found = re.search(r"GLOBAL ([\w.]+)", str(e))  # what the pickle would have called
        if found is None:  # not a pickle of objects: a damaged or foreign file
            raise _unreadable(path, e) from None
        raise CheckpointError(
            f"{path} holds Python objects other than tensors ({found.group(1)}), which only "
            "running code "
            "from the file would rebuild; cnnzoo reads weights without executing code "
            "(torch.load(weights_only=True)) and refuses it. If you trust the file, save its "
            "state dict where it was made — torch.save(model.state_dict(), 'weights.pth') — or "
            "as .safetensors."
        ) from None
    except Exception as e:  # a truncated zip, a file of another kind, ...
        raise _unreadable(path, e) from None


def _unreadable(path: Path, e: BaseException) -> CheckpointError:
    text = str(e).strip()
    detail = re.search(r"WeightsUnpickler error:\s*(\S.*)", text)  # the point of torch's essay
    reason = detail.group(1) if detail else text.splitlines()[0] if text else type(e).__name__
    return CheckpointError(
        f"{path} is not a readable PyTorch (.pt/.pth) or safetensors file ({reason}); is it "
        "complete? Download or save it again."
    )


def _is_state(obj: object) -> bool:
    return (
        isinstance(obj, Mapping)
        and len(obj) > 0
        and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())
    )


def _unwrap(obj: object, path: Path) -> State:
    for _ in range(4):  # {"state_dict": {"model": ...}} at most, in practice
        if _is_state(obj):
            return dict(obj)  # type: ignore[arg-type]
        if not isinstance(obj, Mapping):
            break
        inner = next((obj[k] for k in _WRAPPERS if isinstance(obj.get(k), Mapping)), None)
        if inner is None:
            break
        obj = inner
    if isinstance(obj, Mapping):
        others = [k for k, v in obj.items() if not isinstance(v, torch.Tensor)][:_LISTED]
        found = f"its keys include {', '.join(map(repr, others))}, which are not tensors"
    else:
        found = f"it holds a {type(obj).__name__}"
    raise CheckpointError(
        f"{path} is not a state dict ({found}); cnnzoo looks for a mapping of names to tensors, "
        f"at the top or under one of {', '.join(_WRAPPERS)}. Save model.state_dict()."
    )


def _strip_prefixes(state: State) -> State:
    changed = True
    while changed:
        changed = False
        for prefix in _PREFIXES:
            if all(k.startswith(prefix) for k in state):
                state = {k[len(prefix) :]: v for k, v in state.items()}
                changed = True
    return state


# --------------------------------------------------------------------------- loading


def load_weights(
    model: nn.Module, path: str | Path, *, classifier: str = "strict"
) -> LoadedWeights:
    """Load the weights in ``path`` into ``model`` (strict); see the module's docstring for the
    files, the layouts and the ``classifier`` modes (``"strict"``, ``"fit"``, ``"new"``)."""
    if classifier not in _CLASSIFIER_MODES:
        raise ConfigError(f"classifier must be one of {_CLASSIFIER_MODES}, got {classifier!r}")
    state, layout = detect_layout(read_weights(path), model)
    own = model.state_dict()
    for key, value in own.items():  # older files lack the batch counters; they change nothing
        if key.endswith("num_batches_tracked") and key not in state:
            state[key] = value
    head = _classifier_keys(model)
    file_classes = next((int(state[k].shape[0]) for k in head if k in state), None)
    head_differs = any(k in state and state[k].shape != own[k].shape for k in head)
    head_absent = bool(head) and not any(k in state for k in head)  # a file of features only
    what = "loaded"
    if head_differs and classifier == "fit" and file_classes is not None:
        model.reset_classifier(file_classes)
        own, what = model.state_dict(), "resized"
    elif (head_differs or head_absent) and classifier == "new":
        state = {k: v for k, v in state.items() if k not in head}
        state.update({k: own[k] for k in head})
        what = "new"
    problems = _mismatch(state, own, model, head, file_classes)
    if problems:
        name = getattr(model, "model_name", type(model).__name__)
        layout_text = "cnnzoo/torchvision" if layout == "cnnzoo" else layout
        raise CheckpointError(
            f"the weights in {path} ({layout_text} layout) do not fit {name}: {problems} "
            f"Layouts cnnzoo reads: {_layout_names()} (cnnzoo.models.weights says which models)."
        )
    model.load_state_dict(state, strict=True)
    if what == "new":
        model.reset_classifier(model.num_classes)  # explicitly fresh, as the model initialises
    loaded = len(state) - (len(head) if what == "new" else 0)
    return LoadedWeights(str(path), layout, loaded, what, file_classes)


def _classifier_keys(model: nn.Module) -> list[str]:
    """The state-dict keys of the layers that output the class scores (``classifier_layers``)."""
    prefix_of = {id(m): name for name, m in model.named_modules()}
    keys: list[str] = []
    for path in getattr(model, "classifier_layers", ()):
        m: nn.Module | None = model
        for part in path.split("."):
            if m is None:
                break
            if isinstance(m, nn.Sequential) and part.lstrip("-").isdigit():
                m = m[int(part)]
            else:
                m = getattr(m, part, None)
        if m is not None and id(m) in prefix_of:
            keys += [f"{prefix_of[id(m)]}.{k}" for k in m.state_dict()]
    return keys


def _mismatch(
    state: State, own: State, model: nn.Module, head: list[str], file_classes: int | None
) -> str:
    """What keeps ``state`` from loading into a model whose state dict is ``own``, as
    sentences with what to do; empty when it loads."""
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [k for k in own if k in state and state[k].shape != own[k].shape]
    out: list[str] = []
    if missing:
        out.append(f"missing from the file ({len(missing)}): {_names(missing)}.")
    if unexpected:
        out.append(f"in the file but not in the model ({len(unexpected)}): {_names(unexpected)}.")
    if shapes:
        shown = ", ".join(
            f"{k} {list(state[k].shape)} in the file, {list(own[k].shape)} in the model"
            for k in shapes[:_LISTED]
        )
        out.append(
            f"other shapes ({len(shapes)}): {shown}{' ...' if len(shapes) > _LISTED else ''}."
        )
    if not out:
        return ""
    out += _hints(missing, unexpected, shapes, own, state, model, head, file_classes)
    return " ".join(out)


def _names(keys: list[str]) -> str:
    more = len(keys) - _LISTED
    return ", ".join(keys[:_LISTED]) + (f" and {more} more" if more > 0 else "")


def _hints(
    missing: list[str],
    unexpected: list[str],
    shapes: list[str],
    own: State,
    state: State,
    model: nn.Module,
    head: list[str],
    file_classes: int | None,
) -> list[str]:
    hints = []
    if any(k in head for k in shapes) and file_classes is not None:
        n = getattr(model, "num_classes", None)
        hints.append(
            f"The file's classifier has {file_classes} outputs, the model's {n}: build the "
            f"model with num_classes={file_classes} (create_model(name, weights=PATH) without "
            "num_classes does), or keep everything but the classifier and train a new one "
            "(load_weights(model, PATH, classifier='new'); cnnzoo train --init-from PATH)."
        )
    first = next((k for k, v in own.items() if v.dim() == 4), None)
    if first in shapes and state[first].shape[1] != own[first].shape[1]:
        hints.append(
            f"The file's first convolution takes {state[first].shape[1]}-channel images, the "
            f"model's {own[first].shape[1]}: build it with in_channels={state[first].shape[1]}."
        )
    odd = missing + unexpected
    if odd and all(k.startswith(("aux1.", "aux2.")) for k in odd):
        has = "has" if unexpected else "lacks"
        hints.append(
            f"The file {has} GoogLeNet's auxiliary classifiers: build the model with "
            f"aux_logits={bool(unexpected)}."
        )
    elif odd and all(".downsample." in k for k in odd):
        hints.append(
            "The shortcuts differ: the file's blocks "
            + ("have projection shortcuts: build the model with shortcut='B'."
               if unexpected else "have none: build the model with shortcut='A'.")
        )  # fmt: skip
    if not hints:
        hints.append(
            "Is the file for another network or other options? Build the network it was saved "
            "from (same name, same options)."
        )
    return hints
