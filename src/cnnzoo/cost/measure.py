"""The measured cost: one forward pass on PyTorch's ``meta`` device (shapes only: no memory, no
arithmetic) with forward hooks on every leaf module, counting what the convolution and linear
layers see (:func:`measure_layers`); and :func:`complexity`, which gives the cost of any network
— analytic for AnyNet (:mod:`cnnzoo.cost.analytic`), measured for the rest.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from cnnzoo.cost.analytic import Complexity, anynet_complexity
from cnnzoo.errors import ConfigError, UnknownOptionError
from cnnzoo.fmt import InputSize, parse_input_size
from cnnzoo.models import create_model, model_info
from cnnzoo.models.anynet import AnyNet, anynet
from cnnzoo.models.anynet_config import AnyNetConfig
from cnnzoo.models.base import ZooModel

__all__ = [
    "LayerCost",
    "complexity",
    "has_children",
    "measure_layers",
    "resolve_model",
    "total_cost",
]

Method = Literal["auto", "analytic", "measured"]


@dataclass(frozen=True)
class LayerCost:
    """One call of a leaf module in the measured forward pass.

    ``params`` is the module's own parameters, counted at its first call only (a module called
    twice, such as a shared ReLU, appears twice). ``output_shape`` leaves out the batch.
    """

    name: str
    type: str
    output_shape: tuple[int, ...]
    params: int
    flops: int
    flops_no_bias: int
    activations: int


def _leaf_cost(module: nn.Module, out: torch.Tensor) -> tuple[int, int, int]:
    """(flops, flops_no_bias, activations) of one call, for a batch of one."""
    if isinstance(module, nn.Conv1d | nn.Conv2d | nn.Conv3d):
        per_out = module.in_channels // module.groups * math.prod(module.kernel_size)
    elif isinstance(module, nn.Linear):
        per_out = module.in_features
    else:
        return 0, 0, 0
    n_out = out.numel()  # a batch of one
    macs = n_out * per_out
    return macs + (n_out if module.bias is not None else 0), macs, n_out


def has_children(module: nn.Module) -> bool:
    return next(module.children(), None) is not None


#: Layers whose output has their input's shape and that cost no multiply-adds. The measured
#: pass skips their arithmetic (an identity stands in for ``forward``): on the meta device
#: batch norm alone goes through a slow Python decomposition, and shapes are all that count.
_SHAPE_KEEPING = (
    nn.modules.batchnorm._BatchNorm,
    nn.ReLU,
    nn.ReLU6,
    nn.Sigmoid,
    nn.Tanh,
    nn.SiLU,
    nn.Dropout,
    nn.Dropout2d,
    nn.LocalResponseNorm,
)


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


def _meta_state(model: nn.Module) -> dict[str, torch.Tensor] | None:
    """Meta stand-ins for the parameters and buffers of a model that is not on meta already."""
    tensors = [*model.named_parameters(), *model.named_buffers()]
    if all(t.is_meta for _, t in tensors):
        return None
    return {k: torch.empty_like(t, device="meta") for k, t in tensors}


def measure_layers(model: nn.Module, input_size: InputSize, label: str) -> list[LayerCost]:
    """Run ``model`` once on a meta tensor of ``(1, *input_size)`` and record each leaf call."""
    x = torch.empty((1, *input_size), device="meta")
    if isinstance(model, ZooModel):
        model.check_input(x)  # the model's own clear error for a size it cannot take
    rows: list[LayerCost] = []
    seen: set[int] = set()

    def hook(name: str):
        def record(module: nn.Module, _inputs: object, out: object) -> None:
            first = id(module) not in seen
            seen.add(id(module))
            params = sum(p.numel() for p in module.parameters(recurse=False)) if first else 0
            if isinstance(out, torch.Tensor):
                flops, no_bias, acts = _leaf_cost(module, out)
                shape = tuple(out.shape[1:])
            else:
                flops = no_bias = acts = 0
                shape = ()
            rows.append(LayerCost(name, type(module).__name__, shape, params, flops, no_bias, acts))

        return record

    handles = [
        m.register_forward_hook(hook(n))
        for n, m in model.named_modules()
        if n and not has_children(m)
    ]
    if not handles:  # a single layer used as a model
        handles = [model.register_forward_hook(hook(type(model).__name__))]
    modes = [(m, m.training) for m in model.modules()]
    state = _meta_state(model)
    stubbed = [
        m for m in model.modules() if isinstance(m, _SHAPE_KEEPING) and "forward" not in vars(m)
    ]
    try:
        for m in stubbed:
            m.forward = _identity
        model.eval()  # one image: batch norm must not compute batch statistics
        with torch.no_grad():
            if state is None:
                model(x)
            else:
                torch.func.functional_call(model, state, (x,), strict=False)
    except RuntimeError as e:  # a size a non-cnnzoo network cannot take
        c, h, w = input_size
        first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(f"{label} cannot take a {c}x{h}x{w} input: {first_line}") from None
    finally:
        for m in stubbed:
            del m.forward
        for h in handles:
            h.remove()
        for m, mode in modes:
            m.train(mode)
    return rows


def resolve_model(
    model_or_name: nn.Module | str | AnyNetConfig,
    input_size: Sequence[int] | str | None,
    num_classes: int | None,
    in_channels: int | None,
    options: dict[str, object],
) -> tuple[nn.Module, InputSize, str]:
    """(model, input size, label) for any of the accepted inputs; names and configs build on
    the meta device."""
    size = None if input_size is None else parse_input_size(input_size)
    if isinstance(model_or_name, str):
        info = model_info(model_or_name)
        if size is None:
            size = (in_channels or info.input_size[0], *info.input_size[1:])
        kwargs = dict(options)
        if (
            "input_size" in info.options
            and "input_size" not in kwargs
            and size[1:] != info.input_size[1:]
        ):  # build a fixed-size network (LeNet, the book's VGG) for this input
            kwargs["input_size"] = size[1] if size[1] == size[2] else size[1:]
        with torch.device("meta"):
            model = create_model(
                model_or_name,
                num_classes=num_classes,
                in_channels=size[0] if in_channels is None else in_channels,
                **kwargs,
            )
        return model, size, model_or_name
    if isinstance(model_or_name, AnyNetConfig):
        if options:
            raise UnknownOptionError(f"unknown option(s) {sorted(options)} for an AnyNetConfig")
        if size is None:
            size = (in_channels or 3, 224, 224)
        with torch.device("meta"):
            model = anynet(
                model_or_name,
                num_classes=1000 if num_classes is None else num_classes,
                in_channels=size[0] if in_channels is None else in_channels,
            )
        return model, size, "anynet"
    if isinstance(model_or_name, nn.Module):
        if options or num_classes is not None or in_channels is not None:
            raise UnknownOptionError(
                "num_classes, in_channels and model options apply to model names and configs, "
                "not to a built network"
            )
        label = getattr(model_or_name, "model_name", type(model_or_name).__name__)
        if size is None:
            size = _default_size(model_or_name)
        return model_or_name, size, label
    raise TypeError(
        f"complexity takes a model name, an nn.Module or an AnyNetConfig, "
        f"got {type(model_or_name).__name__}"
    )


def _default_size(model: nn.Module) -> InputSize:
    name = getattr(model, "model_name", None)
    if name is not None:
        info = model_info(name)
        return (getattr(model, "in_channels", info.input_size[0]), *info.input_size[1:])
    fixed = getattr(model, "fixed_input_size", None)
    if isinstance(model, ZooModel) and fixed is not None:
        return (model.in_channels, *fixed)
    raise ConfigError(
        f"give the input_size (C, H, W) for this {type(model).__name__}: it has no registered "
        "default"
    )


def complexity(
    model_or_name: nn.Module | str | AnyNetConfig,
    input_size: Sequence[int] | str | None = None,
    *,
    method: Method = "auto",
    num_classes: int | None = None,
    in_channels: int | None = None,
    adjust: bool | str = False,
    **options: object,
) -> Complexity:
    """Parameters, multiply-adds ("flops") and activations of a network for one image.

    ``model_or_name`` is a registered name, a built ``nn.Module`` or an
    :class:`~cnnzoo.models.anynet_config.AnyNetConfig`; ``input_size`` is ``(C, H, W)`` (or
    ``"CxHxW"``), by default the registered model's (224×224 RGB for a config). For a name,
    ``num_classes``, ``in_channels`` (default: C) and ``options`` go to ``create_model``, which
    builds on the meta device; ``num_classes`` also applies to a config.

    ``method="auto"`` is analytic for AnyNet configs and registered AnyNet/RegNet names (no
    network is built for a config) and measured for everything else, built networks included;
    ``"analytic"`` insists on the formula (AnyNet only, built AnyNets too), ``"measured"`` on a
    forward pass on the meta device. ``adjust`` fits an incompatible AnyNet config first (see
    :func:`anynet_complexity`).

    An input the network cannot take raises the model's own ``ValueError``.
    """
    if method not in ("auto", "analytic", "measured"):
        raise ConfigError(f"method must be 'auto', 'analytic' or 'measured', got {method!r}")
    if isinstance(model_or_name, AnyNetConfig):
        if adjust:
            model_or_name = model_or_name.adjusted("pycls" if adjust is True else adjust)
        if method != "measured":
            if options:
                raise UnknownOptionError(f"unknown option(s) {sorted(options)} for an AnyNetConfig")
            size = (in_channels or 3, 224, 224) if input_size is None else input_size
            if in_channels is not None and parse_input_size(size)[0] != in_channels:
                raise ConfigError(
                    f"in_channels={in_channels} contradicts the input size {tuple(size)}"
                )
            num_classes = 1000 if num_classes is None else num_classes
            return anynet_complexity(model_or_name, parse_input_size(size), num_classes)
    elif adjust:
        raise TypeError("adjust applies to an AnyNetConfig only")
    model, size, label = resolve_model(model_or_name, input_size, num_classes, in_channels, options)
    analytic = method == "analytic" or (
        method == "auto" and isinstance(model_or_name, str) and isinstance(model, AnyNet)
    )
    if analytic:
        if not isinstance(model, AnyNet):
            raise ConfigError(
                f"analytic cost exists for AnyNet/RegNet only, not for {label}; "
                "use method='measured'"
            )
        model.check_input(torch.empty((1, *size), device="meta"))
        return anynet_complexity(model.config, size, model.num_classes)
    return total_cost(model, measure_layers(model, size, label), size)


def total_cost(model: nn.Module, rows: Sequence[LayerCost], size: InputSize) -> Complexity:
    """The network's :class:`Complexity` from its measured layers (parameters: all of them,
    called or not)."""
    return Complexity(
        params=sum(p.numel() for p in model.parameters()),
        flops=sum(r.flops for r in rows),
        activations=sum(r.activations for r in rows),
        flops_no_bias=sum(r.flops_no_bias for r in rows),
        input_size=size,
    )
