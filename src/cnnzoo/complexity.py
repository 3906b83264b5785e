"""What a network costs: parameters, multiply-adds and activations.

Conventions (those of pycls and the RegNet paper, Radosavovic et al. 2020):

- **params**: every parameter of the network, batch-norm scales and shifts included.
- **flops**: multiply-adds (one multiply-add = one "flop") of the convolution and linear layers
  for one image, each bias counted as one more add per output element. Batch norm, activations,
  pooling and additions count nothing. RegNetX-400MF is "400MF" in this unit.
- **activations**: the summed output sizes of the convolution and linear layers for one image.
- **flops_no_bias**: ``flops`` without the bias adds — torchvision's ``_ops`` convention. The
  ``_ops`` in each torchvision weights enum's ``meta`` is ``round(flops_no_bias / 1e9, 3)``
  (its counter sees the matrix products, not the bias adds). The two differ only for networks
  whose convolutions carry biases at full resolution: AlexNet 0.7142 vs 0.7147 G, VGG-16
  15.470 vs 15.484 G.

Two ways to get them:

- **analytic**, for AnyNet/RegNet: :func:`anynet_complexity` derives the cost from an
  :class:`~cnnzoo.models.anynet.AnyNetConfig` alone, with pycls's per-layer rules (conv, batch
  norm parameters, squeeze-excitation with two biased 1×1 convolutions at 1×1 resolution, linear
  head), in plain Python integers — tens of thousands of configs per second, for design-space
  samplers that filter candidates by cost.
- **measured**, for every network: :func:`summary` runs one forward pass on PyTorch's ``meta``
  device (shapes only: no memory, no arithmetic) with forward hooks on every leaf module, and
  counts what the convolution and linear layers see.

The tests check that the two agree exactly, and both against the published numbers.

pycls itself adds a conv's bias as ``w_out`` flops (once per channel, not per output element).
Within AnyNet only squeeze-excitation convolutions have biases and they run at 1×1, so that
shortcut and the per-element count here give the same number.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal

import torch
from torch import nn

from cnnzoo.errors import ConfigError, UnknownOptionError
from cnnzoo.formatting import text_table  # also imported from here by cli_train
from cnnzoo.models import create_model, model_info
from cnnzoo.models.anynet import AnyNet, AnyNetConfig, anynet
from cnnzoo.models.base import ZooModel

__all__ = [
    "Complexity",
    "LayerCost",
    "ModelSummary",
    "StageCost",
    "anynet_complexity",
    "complexity",
    "format_summary",
    "parse_input_size",
    "summary",
]

InputSize = tuple[int, int, int]
Method = Literal["auto", "analytic", "measured"]


@dataclass(frozen=True)
class Complexity:
    """The cost of a network for one image of ``input_size`` = (C, H, W)."""

    params: int
    flops: int  # multiply-adds of conv and linear layers, bias included (pycls)
    activations: int  # summed output sizes of conv and linear layers (pycls)
    flops_no_bias: int  # torchvision's ``_ops`` convention
    input_size: InputSize

    def __str__(self) -> str:
        c, h, w = self.input_size
        return (
            f"{_si(self.params)} params, {_si(self.flops)} multiply-adds, "
            f"{_si(self.activations)} activations at {c}x{h}x{w}"
        )


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


@dataclass(frozen=True)
class StageCost:
    """The cost of one stage: a top-level child of the network, or a part of one (see
    :func:`summary`). ``output_shape`` is that of the stage's last layer."""

    name: str
    params: int
    flops: int
    output_shape: tuple[int, ...]
    params_share: float  # fraction of the network's parameters
    flops_share: float  # fraction of the network's multiply-adds


@dataclass(frozen=True)
class ModelSummary:
    """Per-layer and per-stage costs of one network, with the totals."""

    model: str
    num_classes: int | None
    total: Complexity
    layers: tuple[LayerCost, ...]
    stages: tuple[StageCost, ...]
    unused_params: int = 0  # parameters of modules the forward pass never calls (aux heads)
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, object]:
        """Plain data for JSON: exact integers, shapes as lists."""
        out = asdict(self)
        out["total"]["input_size"] = list(self.total.input_size)
        for row in (*out["layers"], *out["stages"]):
            row["output_shape"] = list(row["output_shape"])
        out["notes"] = list(self.notes)
        return out


# --------------------------------------------------------------------------- input sizes


def parse_input_size(text: str | Sequence[int]) -> InputSize:
    """``"1x28x28"`` (or a sequence of three ints) → ``(1, 28, 28)``; a clear error otherwise."""
    if isinstance(text, str):
        parts = text.lower().replace("×", "x").split("x")
        try:
            values = [int(p) for p in parts]
        except ValueError:
            values = []
        if len(values) != 3:
            raise ConfigError(
                f"input size {text!r} must be channels x height x width, e.g. 1x28x28 or 3x224x224"
            )
        return _check_input_size(values)
    return _check_input_size(text)


def _check_input_size(size: object) -> InputSize:
    ok = isinstance(size, Sequence) and not isinstance(size, str) and len(size) == 3
    ok = ok and all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1 for v in size
    )
    if not ok:
        raise ConfigError(
            f"input_size must be three positive integers (channels, height, width), got {size!r}"
        )
    return (int(size[0]), int(size[1]), int(size[2]))


def _positive(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


# --------------------------------------------------------------------------- analytic (AnyNet)


def anynet_complexity(
    config: AnyNetConfig,
    input_size: Sequence[int] = (3, 224, 224),
    num_classes: int = 1000,
    *,
    adjust: bool | str = False,
) -> Complexity:
    """The cost of the :class:`~cnnzoo.models.anynet.AnyNet` built from ``config``, without
    building it.

    pycls's rules, block by block: the stem is a 3×3/2 convolution (no bias) and batch norm; each
    X block is a 1×1 convolution, a 3×3 grouped convolution with the stride, [squeeze-excitation:
    global pooling, then 1×1 convolutions ``w_b → w_se → w_b`` with biases, at 1×1], a 1×1
    convolution, each followed by batch norm (2 parameters per channel, no flops), plus a 1×1
    projection with batch norm when the width or resolution changes; the head is global pooling
    and a biased linear layer. A convolution with kernel k, stride s and padding (k - 1) // 2
    turns a side of n pixels into (n - 1) // s + 1.

    A config whose bottleneck widths do not split into whole groups (or whose SE would have no
    channel) is refused with the reason, as :class:`AnyNet` refuses it; ``adjust=True`` first
    fits it with pycls's rule (:func:`~cnnzoo.models.anynet.adjust_compatibility`),
    ``adjust="torchvision"`` with torchvision's.

    Blocks after the first of a stage are identical, so a stage costs its first block plus
    ``depth - 1`` times the second: the time per config depends on the number of stages only.
    """
    if adjust:
        config = config.adjusted("pycls" if adjust is True else adjust)  # type: ignore[arg-type]
    size = _check_input_size(input_size)
    c, h, w = size
    if type(num_classes) is not int or num_classes < 1:
        num_classes = _positive("num_classes", num_classes)

    # stem: 3x3 conv, stride 2, no bias; BN
    width = config.stem_width
    h, w = (h - 1) // 2 + 1, (w - 1) // 2 + 1
    hw = h * w
    flops = 9 * c * width * hw
    params = 9 * c * width + 2 * width
    acts = width * hw
    bias = 0
    se_ratio = config.se_ratio

    for stage in config.stages:
        w_out = stage.width
        w_b = round(w_out / stage.bottleneck_ratio)
        g = stage.group_width
        if w_b < 1 or w_b % g:
            raise _refuse(config)
        stride = stage.stride
        depth = stage.depth
        h2, w2 = (h - 1) // stride + 1, (w - 1) // stride + 1
        hw2 = h2 * w2
        # first block: input width `width` at `hw`, output `w_out` at `hw2`
        b_flops = width * w_b * hw + 9 * w_b * g * hw2 + w_b * w_out * hw2
        b_params = width * w_b + 9 * w_b * g + w_b * w_out + 4 * w_b + 2 * w_out
        b_acts = w_b * hw + w_b * hw2 + w_out * hw2
        if width != w_out or stride != 1:  # projection shortcut: 1x1 conv with the stride, BN
            b_flops += width * w_out * hw2
            b_params += width * w_out + 2 * w_out
            b_acts += w_out * hw2
        if se_ratio:
            w_se = round(se_ratio * width)
            if w_se < 1:
                raise _refuse(config)
            se = 2 * w_b * w_se + w_se + w_b  # two biased 1x1 convs at 1x1
            b_flops += se
            b_params += se
            b_acts += w_se + w_b
            bias += w_se + w_b
        flops += b_flops
        params += b_params
        acts += b_acts
        if depth > 1:  # the other blocks: w_out -> w_out at hw2, stride 1, identity shortcut
            r_flops = (2 * w_b * w_out + 9 * w_b * g) * hw2
            r_params = 2 * w_b * w_out + 9 * w_b * g + 4 * w_b + 2 * w_out
            r_acts = (2 * w_b + w_out) * hw2
            if se_ratio:
                w_se = round(se_ratio * w_out)
                if w_se < 1:
                    raise _refuse(config)
                se = 2 * w_b * w_se + w_se + w_b
                r_flops += se
                r_params += se
                r_acts += w_se + w_b
                bias += (depth - 1) * (w_se + w_b)
            flops += (depth - 1) * r_flops
            params += (depth - 1) * r_params
            acts += (depth - 1) * r_acts
        width, h, w, hw = w_out, h2, w2, hw2

    # head: global average pooling, linear with bias
    head = width * num_classes + num_classes
    flops += head
    params += head
    acts += num_classes
    bias += num_classes
    return Complexity(params, flops, acts, flops - bias, size)


def _refuse(config: AnyNetConfig) -> ValueError:
    return ValueError(
        "cannot compute the cost of this AnyNetConfig: "
        + "; ".join(config.problems())
        + ". Pass adjust=True to round widths and group widths to compatible values with "
        "pycls's rule (adjust='torchvision' for torchvision's), see adjust_compatibility()."
    )


# --------------------------------------------------------------------------- measured


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


def _is_pool(module: nn.Module) -> bool:
    return isinstance(
        module,
        nn.modules.pooling._MaxPoolNd
        | nn.modules.pooling._AvgPoolNd
        | nn.modules.pooling._AdaptiveAvgPoolNd
        | nn.modules.pooling._AdaptiveMaxPoolNd,
    )


def _has_children(module: nn.Module) -> bool:
    return next(module.children(), None) is not None


_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


def _split_stage(name: str, module: nn.Module) -> list[tuple[str, list[str]]]:
    """The stages inside one top-level child: ``[(label, [module-name prefixes])]``."""
    kids = list(module.named_children())
    if isinstance(module, _CONTAINERS) and sum(isinstance(m, _CONTAINERS) for _, m in kids) >= 2:
        # a container of blocks (AnyNet's trunk, DenseNet's features, NiN's features): one
        # stage per child
        return [(f"{name}.{k}", [f"{name}.{k}"]) for k, _ in kids]
    if isinstance(module, nn.Sequential) and kids and not any(_has_children(m) for _, m in kids):
        # a flat sequence of layers (VGG's, AlexNet's, LeNet's features): blocks end at poolings
        pools = [i for i, (_, m) in enumerate(kids) if _is_pool(m)]
        if len(pools) >= 2:
            out, start = [], 0
            for end in [*pools, len(kids) - 1]:
                if end >= start:
                    first, last = kids[start][0], kids[end][0]
                    label = (
                        f"{name}[{first}:{int(last) + 1}]"
                        if last.isdigit()
                        else f"{name}.{first}..{last}"
                    )
                    out.append((label, [f"{name}.{k}" for k, _ in kids[start : end + 1]]))
                    start = end + 1
            return out
    return [(name, [name])]


def _stages(model: nn.Module) -> list[tuple[str, list[str]]]:
    """Every stage of ``model`` in order: ``(label, [module-name prefixes])``."""
    return [stage for name, child in model.named_children() for stage in _split_stage(name, child)]


def _find_stage(name: str, owner: dict[str, str]) -> str | None:
    while name:
        if name in owner:
            return owner[name]
        name = name.rpartition(".")[0]
    return None


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


def _measure(model: nn.Module, input_size: InputSize, label: str) -> list[LayerCost]:
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
        if n and not _has_children(m)
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


def summary(
    model_or_name: nn.Module | str | AnyNetConfig,
    input_size: Sequence[int] | str | None = None,
    *,
    num_classes: int | None = None,
    in_channels: int | None = None,
    **options: object,
) -> ModelSummary:
    """Per-layer costs of a network, measured, with the totals and the share of each stage.

    ``model_or_name`` is a built network, a registered name (built on the meta device, for
    ``input_size``: ``in_channels`` defaults to its C, and a builder with an ``input_size``
    option gets its H and W) or an :class:`AnyNetConfig`. ``input_size`` (C, H, W) or
    ``"CxHxW"`` defaults to the registered model's input size.

    Stages are the top-level children of the network, except that a container of blocks (such
    as AnyNet's ``trunk_output``) gives one stage per block group, and a flat sequence of layers
    (VGG's ``features``) is cut after each pooling layer — so that VGG shows its five blocks.
    """
    model, size, label = _resolve(model_or_name, input_size, num_classes, in_channels, options)
    rows = _measure(model, size, label)
    total_params = sum(p.numel() for p in model.parameters())
    flops = sum(r.flops for r in rows)
    total = Complexity(
        params=total_params,
        flops=flops,
        activations=sum(r.activations for r in rows),
        flops_no_bias=sum(r.flops_no_bias for r in rows),
        input_size=size,
    )
    # stages
    stages_of = _stages(model)
    owner = {p: stage for stage, prefixes in stages_of for p in prefixes}
    acc: dict[str, list] = {stage: [0, 0, ()] for stage, _ in stages_of}  # params, flops, shape
    for stage, prefixes in stages_of:  # parameters per stage, whether called or not
        acc[stage][0] = sum(
            t.numel() for p in prefixes for t in model.get_submodule(p).parameters()
        )
    for r in rows:
        stage = _find_stage(r.name, owner)
        if stage is not None:
            acc[stage][1] += r.flops
            if r.output_shape:
                acc[stage][2] = r.output_shape
    stages = tuple(
        StageCost(s, p, f, shape, p / max(total_params, 1), f / max(flops, 1))
        for s, (p, f, shape) in acc.items()
        if p or f
    )
    unused = total_params - sum(r.params for r in rows)
    notes = []
    if unused:
        notes.append(
            f"{unused:,} parameters belong to modules this forward pass does not call "
            "(e.g. auxiliary classifiers used only in training)"
        )
    return ModelSummary(
        model=label,
        num_classes=getattr(model, "num_classes", None),
        total=total,
        layers=tuple(rows),
        stages=stages,
        unused_params=unused,
        notes=tuple(notes),
    )


def _resolve(
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
    :class:`~cnnzoo.models.anynet.AnyNetConfig`; ``input_size`` is ``(C, H, W)`` (or
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
    model, size, label = _resolve(model_or_name, input_size, num_classes, in_channels, options)
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
    return _totals(model, size, label)


def _totals(model: nn.Module, size: InputSize, label: str) -> Complexity:
    rows = _measure(model, size, label)
    return Complexity(
        params=sum(p.numel() for p in model.parameters()),
        flops=sum(r.flops for r in rows),
        activations=sum(r.activations for r in rows),
        flops_no_bias=sum(r.flops_no_bias for r in rows),
        input_size=size,
    )


def _si(n: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f}{unit}"
    return str(int(n))


# --------------------------------------------------------------------------- text output


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape)) if shape else "-"


def _cell(n: int) -> str:
    return _si(n) if n else "-"


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def format_summary(s: ModelSummary, fmt: Literal["table", "markdown"] = "table") -> str:
    """``s`` as a plain-text table or as Markdown: every layer, the totals, the stages."""
    if fmt not in ("table", "markdown"):
        raise ConfigError(f"format must be 'table' or 'markdown', got {fmt!r}")
    t = s.total
    classes = f", {s.num_classes} classes" if s.num_classes is not None else ""
    title = f"{s.model} at {_shape(t.input_size)}{classes}"
    layer_cols = ("layer", "type", "output", "params", "mult-adds")
    layer_rows = [
        (r.name, r.type, _shape(r.output_shape), _cell(r.params), _cell(r.flops)) for r in s.layers
    ]
    stage_cols = ("stage", "output", "params", "params %", "mult-adds", "mult-adds %")
    stage_rows = [
        (
            st.name,
            _shape(st.output_shape),
            _cell(st.params),
            _pct(st.params_share),
            _cell(st.flops),
            _pct(st.flops_share),
        )
        for st in s.stages
    ]
    total = (
        f"total: {t.params:,} params ({_si(t.params)}), {t.flops:,} multiply-adds "
        f"({_si(t.flops)}; {_si(t.flops_no_bias)} without bias adds), "
        f"{t.activations:,} activations ({_si(t.activations)})"
    )
    legend = (
        "mult-adds: multiply-adds of the conv and linear layers for one image, bias adds "
        "included (pycls's 'flops'; torchvision's _ops leaves the bias adds out)."
    )
    right = (False, True, True, True, True, True)
    if fmt == "markdown":
        parts = [
            f"## {title}",
            "",
            _md_table(layer_cols, layer_rows, (False, False, True, True, True)),
            "",
            f"**{total}**",
            "",
            "### Share per stage",
            "",
            _md_table(stage_cols, stage_rows, right),
            "",
            *(f"_{n}_" for n in s.notes),
            legend,
        ]
        return "\n".join(parts).rstrip() + "\n"
    parts = [
        title,
        "",
        text_table(layer_cols, layer_rows, (False, False, True, True, True)),
        "",
        total,
        "",
        "share per stage:",
        text_table(stage_cols, stage_rows, right),
        "",
        *s.notes,
        legend,
    ]
    return "\n".join(parts).rstrip() + "\n"


def _md_table(cols: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> str:
    head = "| " + " | ".join(cols) + " |"
    rule = "|" + "|".join("---:" if r else "---" for r in right) + "|"
    body = ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join([head, rule, *body])
