"""Recipes: training settings derived from what a network *is*, not from its family's name.

A recipe looks at the network before training it — is it normalised (batch norm), which
activation does it use, how deep is it, how big, what input does it need — and picks the
settings that train such a network (:func:`network_traits`, :func:`recipe_config`). Every
choice is written down with its reason (:func:`explain_recipe`, ``cnnzoo train --show-config``).

Two recipes:

- ``fast`` (the default): accuracy per minute on a CPU. SGD with Nesterov momentum and a
  one-cycle schedule (which warms up from 1/25 of the peak rate). Batch-normalised networks
  get a high rate (0.2 per 256 images), label smoothing and light augmentation (with a warm-up
  and gradient clipping when they end in un-normalised hidden fully connected layers, as
  VGG-BN does); ReLU networks
  without normalisation get He's init (their own init lets the signal fade through the
  layers), a moderate rate, a linear warm-up and gradient clipping; saturating activations
  (sigmoid, tanh) get the book's xavier init and a high rate; small networks, which underfit,
  get no augmentation or smoothing.
- ``d2l``: *Dive into Deep Learning*'s settings (plain SGD at a constant rate, batch 128,
  10 epochs, xavier init, the book's resizing) — the book's own rate for the book's networks,
  and a rate that trains the network for the others.

The learning rate of a recipe is given for its batch size; when only the batch size is
overridden, the rate is scaled linearly with it (Goyal et al. 2017), so ``--batch-size 64``
keeps the recipe's behaviour. An explicit ``lr`` is taken as it is.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass

import torch
from torch import nn

from cnnzoo.errors import ConfigError
from cnnzoo.models import create_model, model_info
from cnnzoo.train.config import TrainConfig

__all__ = [
    "DEFAULT_MODEL",
    "RECIPES",
    "NetworkTraits",
    "auto_input_size",
    "explain_recipe",
    "network_traits",
    "recipe_config",
]

RECIPES = ("d2l", "fast")
#: the network ``cnnzoo train`` trains when no model is named: the one the ``fast`` recipe's
#: own settings were tuned for (time to accuracy on Fashion-MNIST, benchmarks/RESULTS.md)
DEFAULT_MODEL = "speednet"

_NORMS = (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm)
_SATURATING = (nn.Sigmoid, nn.Tanh, nn.Hardsigmoid, nn.Hardtanh)
_RECTIFYING = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.GELU, nn.SiLU, nn.ELU, nn.PReLU)


@dataclass(frozen=True)
class NetworkTraits:
    """What a recipe needs to know about a network, read from the network itself."""

    model: str
    normalised: bool  # has batch (or group/layer) normalisation
    saturating: bool  # its main activation is a sigmoid or tanh
    depth: int  # convolutions and linear layers
    params: int
    fixed_input_size: tuple[int, int] | None  # the one (H, W) it takes, if it flattens a map
    min_input_size: int  # the smallest H and W it takes
    stride: int  # total downsampling of its feature extractor (a power of two)
    zero_init_option: str | None = None  # its option that zero-inits each residual branch
    # its forward pass ends in hidden fully connected layers without normalisation (VGG and
    # AlexNet's 4096-wide classifiers): the part a normalised network's high rate blows up
    mlp_head: bool = False

    @property
    def smallest_input(self) -> int:
        """The smallest H and W it trains on: its minimum size, and no smaller than its total
        downsampling (so that its last feature map is at least a pixel)."""
        return max(self.min_input_size, self.stride)


def network_traits(model: str, model_options: dict | None = None) -> NetworkTraits:
    """Build ``model`` on the meta device (no memory, no arithmetic) and read its traits."""
    return _traits(model, json.dumps(model_options or {}, sort_keys=True))


@functools.lru_cache(maxsize=256)
def _traits(model: str, options_json: str) -> NetworkTraits:
    info = model_info(model)
    with torch.device("meta"):
        net = create_model(model, num_classes=10, in_channels=1, **json.loads(options_json))
    modules = list(net.modules())
    n_sat = sum(isinstance(m, _SATURATING) for m in modules)
    n_rect = sum(isinstance(m, _RECTIFYING) for m in modules)
    # a sigmoid gate (squeeze-excitation) in a ReLU network does not make it saturating
    saturating = n_sat > 0 and n_rect == 0
    depth = sum(isinstance(m, nn.Conv2d | nn.Linear) for m in modules)
    params = sum(p.numel() for p in net.parameters())
    fixed = getattr(net, "fixed_input_size", None)
    min_size = int(getattr(net, "min_input_size", 1))
    size = fixed[0] if fixed else max(224, min_size)
    feats, calls = _trace(net, (1, 1, size, fixed[1] if fixed else size))
    out = int(feats.shape[-1]) if feats.dim() == 4 else 1
    stride = 2 ** round(math.log2(max(1.0, size / max(1, out))))
    mlp_head = _has_mlp_head(calls)
    return NetworkTraits(
        model=model,
        normalised=any(isinstance(m, _NORMS) for m in modules),
        saturating=saturating,
        depth=depth,
        params=params,
        fixed_input_size=tuple(fixed) if fixed else None,
        min_input_size=min_size,
        stride=stride,
        zero_init_option=next(
            (o for o in ("zero_init_residual", "zero_init_last_bn") if o in info.options), None
        ),
        mlp_head=mlp_head,
    )


def _trace(net: nn.Module, shape: tuple[int, ...]) -> tuple[torch.Tensor, list[nn.Module]]:
    """One forward pass on the meta device in eval mode (auxiliary heads, which only training
    losses call, do not run; batch norm's meta kernel is twice as fast as in training mode):
    the features' output and the convolution, linear and normalisation layers in call order."""
    calls: list[nn.Module] = []
    hooks = [
        m.register_forward_hook(lambda mod, args, out: calls.append(mod))
        for m in net.modules()
        if isinstance(m, (nn.Conv2d, nn.Linear, *_NORMS))
    ]
    try:
        with torch.device("meta"), torch.no_grad():
            net.eval()
            feats = net.forward_features(torch.empty(*shape))
            net.forward_head(feats)
    finally:
        for h in hooks:
            h.remove()
    return feats, calls


def _has_mlp_head(calls: list[nn.Module]) -> bool:
    """Whether the forward pass (``calls``, from :func:`_trace`) ends in two or more linear
    layers after its last convolution with no normalisation from the first of them on."""
    last_conv = max((i for i, m in enumerate(calls) if isinstance(m, nn.Conv2d)), default=-1)
    head = calls[last_conv + 1 :]
    linear = [i for i, m in enumerate(head) if isinstance(m, nn.Linear)]
    return len(linear) >= 2 and not any(isinstance(m, _NORMS) for m in head[linear[0] :])


def auto_input_size(traits: NetworkTraits, data_size: int) -> int:
    """The image size to train ``traits.model`` at, for data of ``data_size`` pixels a side.

    A network that flattens a fixed-size map takes exactly that size. Any other keeps the data's
    size when the size is at least both its minimum and its total downsampling (so its last
    feature map is not smaller than a pixel); otherwise the larger of the two, rounded up to a
    multiple of 16: 32 for the ImageNet networks (stride 32) on 28x28 images, 64 for AlexNet
    (which needs 63), 80 for NiN (67).
    """
    if traits.fixed_input_size is not None:
        return traits.fixed_input_size[0]
    need = traits.smallest_input
    if data_size >= need:
        return data_size
    return -(-need // 16) * 16


# --------------------------------------------------------------------------- the recipes

# The book's own settings for the book's networks (D2L chapters 7-8). LeNet's 0.9 is the rate
# of the book's LeNet section whose printed result (test accuracy 0.789) we reproduce.
_D2L_BOOK_LR = {
    "lenet5": 0.9, "lenet5_bn": 0.1, "alexnet_d2l": 0.01, "vgg_d2l": 0.01, "nin": 0.05,
    "googlenet_d2l": 0.01, "resnet18_d2l": 0.01, "densenet_d2l": 0.1, "regnetx32_d2l": 0.05,
}  # fmt: skip
_D2L_SIZE = {
    "lenet": None, "alexnet": 224, "vgg": 224, "nin": 224, "googlenet": 96,
    "resnet": 96, "resnext": 96, "densenet": 96, "regnet": 96,
}  # fmt: skip

# fast: peak learning rates per 256 images (benchmarks/RESULTS-zoo.md)
_FAST_LR_NORMALISED = 0.2
_FAST_LR_SATURATING = 2.4  # sigmoids without normalisation: tiny gradients need a big rate
_FAST_LR_PLAIN = 0.1  # ReLU networks without normalisation, with He's init
_SMALL = 200_000  # parameters below which a network underfits Fashion-MNIST (LeNets)


# The recipe's own network: settings tuned for time to accuracy on Fashion-MNIST on 2 CPU
# cores (benchmarks/time_to_accuracy.py, benchmarks/RESULTS.md "Speed")
_TUNED: dict[str, tuple[dict, str]] = {
    "speednet": (
        {"epochs": 10, "val_size": 0, "tta": True, "progressive_size": 16, "progressive_epochs": 3},
        "the recipe's own network, tuned for time to accuracy: 10 epochs on all 60,000 training "
        "images (no validation split: the test split is evaluated every epoch, as the book "
        "and the speed-runs do), flip test-time augmentation (the predictions for each test "
        "image and its mirror image, averaged: 0.9377 instead of 0.9334 for the same weights "
        "of the 14.1M-multiply-add SpeedNet found by hand), progressive resizing (the first 3 "
        "epochs train at 16x16, 20x20 and 24x24, 3x, 1.8x and 1.3x faster than at 28x28: 93% "
        "after 213 s instead of 243 s, median of 3 seeds on 2 AMD EPYC cores, final accuracy "
        "0.9326 against 0.9339; --progressive-epochs 0 turns it off)",
    ),
}


def _fast(model: str, t: NetworkTraits) -> tuple[dict, list[str]]:
    s = {
        "epochs": 9,  # resnet20: 93.1% test accuracy in 514 s on 2 cores (benchmarks/)
        "batch_size": 256,
        "optimizer": "sgd",
        "momentum": 0.9,
        "nesterov": True,
        "weight_decay": 5e-4,
        "schedule": "onecycle",
        "label_smoothing": 0.1,
        "crop_padding": 2,
        "hflip": True,
        "val_size": 1 / 12,  # 5,000 of Fashion-MNIST's 60,000
        "recipe": "fast",
    }
    why = ["SGD with Nesterov momentum, one-cycle schedule (warms up from 1/25 of the peak)"]
    if t.normalised:
        s["lr"] = _FAST_LR_NORMALISED
        why.append(f"batch-normalised: peak rate {_FAST_LR_NORMALISED} per 256 images")
        if t.mlp_head:
            s.update(warmup_epochs=0.5, grad_clip=2.0)
            why.append(
                "its classifier is hidden fully connected layers without normalisation (VGG's "
                "4096-wide ones): a linear warm-up over half an epoch and gradient clipping at "
                "2.0, or the batch-normalised rate blows that head up in the first steps and "
                "it never learns (VGG-11-BN on 20,000 Fashion-MNIST images: stuck at chance, "
                "0.100, without them; 0.8125 with them)"
            )
        if t.zero_init_option and t.stride >= 32:
            s["model_options"] = {t.zero_init_option: True}
            why.append(
                f"residual, made for large images (it downsamples {t.stride}x): the last batch "
                f"norm of each residual branch starts at zero ({t.zero_init_option}=True; Goyal "
                f"et al. 2017), so that every block starts as the identity and the first steps "
                f"on small images do not spike (RegNetX-400MF on 20,000 Fashion-MNIST images: "
                f"0.772 instead of 0.624; the book's RegNet, which downsamples 8x and does not "
                f"spike, learns faster without it: 0.847 against 0.801)"
            )
    elif t.saturating:
        s["lr"], s["init"] = _FAST_LR_SATURATING, "xavier"
        why.append(
            f"saturating activations without normalisation: xavier init (the book's) and a "
            f"high peak rate, {_FAST_LR_SATURATING} per 256 images: the sigmoids' small "
            f"gradients need it to start learning"
        )
    else:
        s.update(lr=_FAST_LR_PLAIN, init="kaiming", warmup_epochs=0.5, grad_clip=2.0)
        why.append(
            f"ReLU network without normalisation ({t.depth} weight layers): He's init, which "
            f"keeps the signal's scale through the depth (the default init shrinks it layer by "
            f"layer until nothing learns), peak rate {_FAST_LR_PLAIN} per 256 images, a linear "
            f"warm-up over half an epoch and gradient clipping at 2.0"
        )
    if model in _TUNED:
        tuned, reason = _TUNED[model]
        s.update(tuned)
        why.append(reason)
    elif t.params < _SMALL:
        s.update(label_smoothing=0.0, crop_padding=0, hflip=False, batch_size=128)
        s["lr"] /= 2
        why.append(
            f"small ({t.params:,} parameters): it underfits, so no augmentation or smoothing, "
            f"and batch 128 for more steps (rate {s['lr']:.4g})"
        )
    else:
        why.append("label smoothing 0.1, random crops (padding 2) and flips")
    return s, why


def _d2l(model: str, t: NetworkTraits) -> tuple[dict, list[str]]:
    family = model_info(model).family
    s = {
        "epochs": 10,
        "batch_size": 128,
        "optimizer": "sgd",
        "momentum": 0.0,
        "weight_decay": 0.0,
        "schedule": "constant",
        "init": "xavier",
        "resize": _D2L_SIZE.get(family),
        "recipe": "d2l",
    }
    why = ["the book's procedure: plain SGD at a constant rate, batch 128, xavier init"]
    if model in _D2L_BOOK_LR:
        s["lr"] = _D2L_BOOK_LR[model]
        why.append(f"the book's network: the book's rate {s['lr']}")
    else:
        s["lr"] = 0.05 if t.normalised else 0.01
        why.append(
            f"not one of the book's networks: rate {s['lr']} for a "
            f"{'batch-normalised' if t.normalised else 'plain'} network"
        )
    if s["resize"]:
        why.append(f"images resized to {s['resize']} as the book does for {family}")
    return s, why


_BUILDERS = {"fast": _fast, "d2l": _d2l}


def _resolve(recipe: str, model: str, overrides: dict) -> tuple[TrainConfig, list[str]]:
    if recipe not in _BUILDERS:
        raise ConfigError(f"unknown recipe {recipe!r}; choose one of {', '.join(RECIPES)}")
    traits = network_traits(model, overrides.get("model_options"))  # type: ignore[arg-type]
    settings, why = _BUILDERS[recipe](model, traits)
    if "batch_size" in overrides and "lr" not in overrides:
        ratio = float(overrides["batch_size"]) / settings["batch_size"]  # type: ignore[arg-type]
        settings["lr"] = settings["lr"] * ratio
        why.append(
            f"batch size {overrides['batch_size']} instead of {settings['batch_size']}: "
            f"learning rate scaled linearly to {settings['lr']:.4g}"
        )
    span = settings.get("progressive_epochs")
    if span and "epochs" in overrides and "progressive_epochs" not in overrides:
        # the same share of a longer or shorter run on small images; a run too short to
        # train at the full size after them has none
        span = span * float(overrides["epochs"]) / settings["epochs"]  # type: ignore[arg-type]
        settings["progressive_epochs"] = span if span >= 1 else 0.0
        why.append(
            f"{overrides['epochs']} epochs instead of {settings['epochs']}: progressive "
            + (f"resizing over the first {span:.3g} epochs" if span >= 1 else "resizing off")
        )
    off = not overrides.get("progressive_epochs", settings.get("progressive_epochs"))
    if off and "progressive_size" not in overrides:  # off: no size to start from either
        settings.pop("progressive_size", None)
    if "model_options" in overrides and "model_options" in settings:  # the user's win
        overrides = overrides | {
            "model_options": settings["model_options"] | overrides["model_options"]
        }  # type: ignore[operator]
    return TrainConfig(model=model, **(settings | overrides)), why  # type: ignore[arg-type]


def recipe_config(recipe: str, model: str, **overrides: object) -> TrainConfig:
    """A :class:`TrainConfig` for ``model`` from a named recipe, with ``overrides`` on top.

    See the module's docstring for what each recipe picks, and :func:`explain_recipe` for the
    reasons behind one model's settings.
    """
    return _resolve(recipe, model, overrides)[0]


def explain_recipe(recipe: str, model: str, **overrides: object) -> list[str]:
    """The reasons behind each setting :func:`recipe_config` picks for ``model``."""
    return _resolve(recipe, model, overrides)[1]
