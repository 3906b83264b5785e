"""A network's cost layer by layer and stage by stage (:func:`summary`, measured on the meta
device), and that summary as a text or Markdown table (:func:`format_summary`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal

from torch import nn

from cnnzoo.cost.analytic import Complexity
from cnnzoo.cost.measure import (
    LayerCost,
    has_children,
    measure_layers,
    resolve_model,
    total_cost,
)
from cnnzoo.errors import ConfigError
from cnnzoo.fmt import human_count, md_table, text_table
from cnnzoo.models.anynet_config import AnyNetConfig

__all__ = ["ModelSummary", "StageCost", "format_summary", "summary"]


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


# --------------------------------------------------------------------------- stages


def _is_pool(module: nn.Module) -> bool:
    return isinstance(
        module,
        nn.modules.pooling._MaxPoolNd
        | nn.modules.pooling._AvgPoolNd
        | nn.modules.pooling._AdaptiveAvgPoolNd
        | nn.modules.pooling._AdaptiveMaxPoolNd,
    )


_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


def _split_stage(name: str, module: nn.Module) -> list[tuple[str, list[str]]]:
    """The stages inside one top-level child: ``[(label, [module-name prefixes])]``."""
    kids = list(module.named_children())
    if isinstance(module, _CONTAINERS) and sum(isinstance(m, _CONTAINERS) for _, m in kids) >= 2:
        # a container of blocks (AnyNet's trunk, DenseNet's features, NiN's features): one
        # stage per child
        return [(f"{name}.{k}", [f"{name}.{k}"]) for k, _ in kids]
    if isinstance(module, nn.Sequential) and kids and not any(has_children(m) for _, m in kids):
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


# --------------------------------------------------------------------------- the summary


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
    model, size, label = resolve_model(model_or_name, input_size, num_classes, in_channels, options)
    rows = measure_layers(model, size, label)
    total = total_cost(model, rows, size)
    total_params, flops = total.params, total.flops
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


# --------------------------------------------------------------------------- text output


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape)) if shape else "-"


def _cell(n: int) -> str:
    return human_count(n) if n else "-"


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
        f"total: {t.params:,} params ({human_count(t.params)}), {t.flops:,} multiply-adds "
        f"({human_count(t.flops)}; {human_count(t.flops_no_bias)} without bias adds), "
        f"{t.activations:,} activations ({human_count(t.activations)})"
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
            md_table(layer_cols, layer_rows, (False, False, True, True, True)),
            "",
            f"**{total}**",
            "",
            "### Share per stage",
            "",
            md_table(stage_cols, stage_rows, right),
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
