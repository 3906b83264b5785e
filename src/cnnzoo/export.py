"""Export a trained run or a registered model to ONNX or TorchScript, and predict from the
exported ONNX file with onnxruntime alone (no PyTorch model code).

The file carries what a user of it needs besides the weights: the model's name and options,
the input size, the normalisation (the training split's channel mean and std) and the class
names — as ONNX ``metadata_props`` or TorchScript ``_extra_files`` (``cnnzoo.json``), each
value JSON. A model exported from its name has its initial weights, class indices as names and
no normalisation, and says so.

ONNX goes through PyTorch's TorchScript-based exporter (``torch.onnx.export(dynamo=False)``):
it needs only ``onnx`` besides PyTorch, where the ``torch.export``-based one also pulls
``onnxscript`` and ``onnx_ir``, and it handles every network of the zoo. Every export is
checked before it is put in place: ``onnx.checker`` and onnxruntime's output against PyTorch's
(ONNX), the reloaded module's output (TorchScript).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from cnnzoo.errors import ConfigError, MissingError, SetupError, UnknownNameError

__all__ = [
    "DEFAULT_OPSET",
    "FORMATS",
    "ExportResult",
    "export_model",
    "predict_onnx",
    "read_export_metadata",
]

FORMATS = ("onnx", "torchscript")
SUFFIX = {"onnx": ".onnx", "torchscript": ".pt"}
#: ONNX opset by default: 17 runs on every onnxruntime since 1.13 (2022) and covers the zoo
DEFAULT_OPSET = 17
#: the opsets PyTorch's TorchScript-based exporter writes
OPSETS = range(9, 21)
INPUT_NAME, OUTPUT_NAME = "image", "logits"
#: the largest difference from PyTorch's output, relative to its largest value, that is fp32 noise
TOLERANCE = 1e-4
_META_PREFIX = "cnnzoo."
_TS_EXTRA = "cnnzoo.json"
_INSTALL = "pip install 'cnnzoo[export]'"


@dataclass
class ExportResult:
    """What :func:`export_model` wrote: the file, its format, its metadata, and how far the
    exported network's output is from PyTorch's on a random batch (``max_abs_diff``, and that
    relative to the largest output, ``rel_diff``)."""

    path: Path
    format: str
    metadata: dict
    max_abs_diff: float
    rel_diff: float
    checks: list[str] = field(default_factory=list)


def _require(module: str, what: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise SetupError(
            f"{what} needs the {module!r} package, which is not installed: {_INSTALL}"
        ) from None


def _source(
    source: str | Path | nn.Module, which: str, num_classes: int | None, input_size: tuple | None
) -> tuple[nn.Module, dict, Path | None]:
    """The network to export, its metadata, and the run directory it came from (None for a
    model name or a network)."""
    if isinstance(source, nn.Module):
        model, meta = _module_source(source, input_size)
        return model, meta, None
    path = Path(source)
    if path.exists():
        if not path.is_dir():
            raise MissingError(
                f"{path} is a file, not a run: give a run directory (with checkpoints/), a "
                "checkpoint directory (with model.safetensors) or a model name"
            )
        if num_classes is not None or input_size is not None:
            raise ConfigError(
                "num_classes and the input size are a trained run's own; they apply to a "
                "model name only"
            )
        from cnnzoo.train.inference import load_trained_model

        model, meta = load_trained_model(path, which=which)
        return model, _run_metadata(meta), path
    from cnnzoo.models import create_model, model_info

    try:
        info = model_info(str(source))
    except UnknownNameError as e:
        raise type(e)(
            f"{source!r} is neither a run directory (there is no such directory) nor a "
            f"registered model: {e}"
        ) from None
    c, h, w = input_size or info.input_size
    model = create_model(info.name, num_classes=num_classes, in_channels=c)
    model, meta = _module_source(model, (c, h, w))
    return model, meta | {"weights": "initial (untrained)"}, None


def _module_source(model: nn.Module, input_size: tuple | None) -> tuple[nn.Module, dict]:
    """A network built in Python (a zoo model, its name in ``model_name``): no data set, so
    class indices for names and no normalisation."""
    from cnnzoo.models import model_info

    name = getattr(model, "model_name", None)
    if input_size is None:
        if name is None:
            raise ConfigError(
                f"the input size of a {type(model).__name__} is unknown: pass input_size (C, H, W)"
            )
        input_size = model_info(name).input_size
    num_classes = getattr(model, "num_classes", None)
    if num_classes is None:  # not a zoo model: ask the network itself
        with torch.no_grad():
            num_classes = model.eval()(torch.zeros(1, *input_size)).shape[1]
    meta = {
        "model": name or type(model).__name__,
        "model_options": {},
        "input_size": list(input_size),
        "classes": [str(i) for i in range(num_classes)],
        "mean": None,
        "std": None,
        "normalization": "none: the network takes pixels scaled to [0, 1] (no data set's "
        "statistics are known for it)",
        "weights": "as given",
        "source": name or type(model).__name__,
    }
    return model.eval(), meta


def _run_metadata(meta: dict) -> dict:
    return {
        "model": meta["model"],
        "model_options": meta.get("model_options", {}),
        "input_size": list(meta["input_size"]),
        "classes": list(meta["classes"]),
        "mean": list(meta["mean"]),
        "std": list(meta["std"]),
        "normalization": "scale pixels to [0, 1], then (x - mean) / std per channel "
        "(the training split's statistics)",
        "weights": "trained",
        "source": meta["checkpoint"],
        "data": meta.get("data"),
    }


def _default_out(meta: dict, run: Path | None, fmt: str) -> Path:
    name = "model" + SUFFIX[fmt]
    if run is None:
        return Path(f"{meta['model']}{SUFFIX[fmt]}")
    if run.name == "checkpoints":  # training prunes checkpoints/: the run directory instead
        return run.parent / name
    if run.parent.name == "checkpoints":  # a step directory
        return run.parent.parent / f"model-{run.name}{SUFFIX[fmt]}"
    return run / name


def _inside_checkpoints(out: Path, run: Path) -> bool:
    roots = [run / "checkpoints", run] if run.name == "checkpoints" else [run / "checkpoints"]
    if run.parent.name == "checkpoints":
        roots.append(run.parent)
    return any(out.resolve().is_relative_to(r.resolve()) for r in roots)


def export_model(
    source: str | Path | nn.Module,
    format: str = "onnx",
    out: str | Path | None = None,
    *,
    opset: int = DEFAULT_OPSET,
    dynamic_batch: bool = False,
    which: str = "best",
    num_classes: int | None = None,
    input_size: tuple[int, int, int] | None = None,
    overwrite: bool = False,
) -> ExportResult:
    """Export a run directory, checkpoint directory, registered model name or zoo network
    (an ``nn.Module`` from :func:`cnnzoo.create_model`) ``source`` to
    ``format`` (``"onnx"`` or ``"torchscript"``) at ``out`` (default: ``RUN/model.onnx`` for a
    run, ``./MODEL.onnx`` for a name; ``.pt`` for TorchScript), checking it first.

    ``dynamic_batch``: the batch dimension is left free (otherwise it is 1). For a model name,
    ``num_classes`` and ``input_size`` (C, H, W) override its defaults. An existing ``out`` is
    refused unless ``overwrite``; the file appears whole or not at all.
    """
    if format not in FORMATS:
        raise ConfigError(f"unknown export format {format!r}; choose one of {', '.join(FORMATS)}")
    if format == "onnx" and opset not in OPSETS:
        raise ConfigError(
            f"ONNX opset {opset} is not one PyTorch's exporter writes "
            f"({OPSETS.start}..{OPSETS.stop - 1}); the default is {DEFAULT_OPSET}"
        )
    if format == "onnx":  # before any work: say what is missing first
        _require("onnx", "exporting to ONNX")
        _require("onnxruntime", "checking the exported ONNX file")
    model, meta, run = _source(source, which, num_classes, input_size)
    out = Path(out) if out is not None else _default_out(meta, run, format)
    if out.exists() and not overwrite:
        raise ConfigError(f"{out} exists; pass --force (overwrite=True) to replace it")
    if out.is_dir():
        raise ConfigError(f"{out} is a directory; give a file name")
    if run is not None and _inside_checkpoints(out, run):
        raise ConfigError(f"{out}: refused: training prunes a run's checkpoints/; write elsewhere")
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = dict(meta, format=format, dynamic_batch=dynamic_batch)
    if format == "onnx":
        meta["opset"] = opset
    x = torch.randn(2 if dynamic_batch else 1, *meta["input_size"], generator=_gen())
    with torch.no_grad():
        expected = model(x)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    try:
        if format == "onnx":
            actual, checks = _write_onnx(model, x, tmp, meta, opset, dynamic_batch)
        else:
            actual, checks = _write_torchscript(model, x, tmp, meta)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    diff = float((actual - expected).abs().max())
    rel = diff / max(float(expected.abs().max()), 1e-12)
    if not rel <= TOLERANCE:  # a bug of an exporter (or a layer it mistranslates), not yours
        warnings.warn(
            f"{out}: the exported network's output differs from PyTorch's by {rel:.1e} "
            f"(relative to its largest output; expected at most {TOLERANCE:g})",
            stacklevel=2,
        )
    return ExportResult(out, format, meta, diff, rel, checks)


def _gen() -> torch.Generator:
    return torch.Generator().manual_seed(0)


@contextlib.contextmanager
def _quiet_tracing():
    """The tracer warns of every Python value it freezes (the models' input-size checks, which
    hold for the traced size) and the exporter of its own deprecation: neither is news here."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", message="Constant folding")  # a strided slice kept
        yield


@contextlib.contextmanager
def _fixed_pooling(model: nn.Module, x: torch.Tensor):
    """The model with each adaptive average pooling that is not global replaced, for the input
    size of ``x``, by the fixed pooling it amounts to there (nothing, when its input already
    has the output size; else an ``AvgPool2d`` whose window divides it), put back afterwards.
    The exporter needs the pooling's input size, which it loses after some layers (AlexNet's
    local response normalisation); the file takes that one input size anyway."""
    seen: dict[str, tuple] = {}

    def record(name: str):
        def hook(module: nn.Module, args: tuple, out: torch.Tensor) -> None:
            seen[name] = (tuple(args[0].shape[-2:]), tuple(out.shape[-2:]))

        return hook

    hooks = [
        m.register_forward_hook(record(name))
        for name, m in model.named_modules()
        if isinstance(m, nn.AdaptiveAvgPool2d) and m.output_size not in (1, (1, 1))
    ]
    try:
        if hooks:
            with torch.no_grad():
                model(x)
    finally:
        for h in hooks:
            h.remove()
    swapped: list[tuple[nn.Module, str, nn.Module]] = []
    for name, (size_in, size_out) in seen.items():
        if size_out == (1, 1) or any(i % o for i, o in zip(size_in, size_out, strict=True)):
            continue  # global pooling exports as it is; uneven windows stay adaptive
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name)
        window = tuple(i // o for i, o in zip(size_in, size_out, strict=True))
        fixed = nn.Identity() if size_in == size_out else nn.AvgPool2d(window, window)
        swapped.append((parent, child, getattr(parent, child)))
        setattr(parent, child, fixed)
    try:
        yield model
    finally:
        for parent, child, original in swapped:
            setattr(parent, child, original)


def _write_onnx(
    model: nn.Module, x: torch.Tensor, path: Path, meta: dict, opset: int, dynamic_batch: bool
) -> tuple[torch.Tensor, list[str]]:
    onnx = _require("onnx", "exporting to ONNX")
    buf = io.BytesIO()
    axes = {INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}} if dynamic_batch else None
    with _quiet_tracing(), torch.no_grad(), _fixed_pooling(model, x) as fixed:
        torch.onnx.export(
            fixed, (x,), buf, dynamo=False, input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
            opset_version=opset, dynamic_axes=axes,
        )  # fmt: skip
    proto = onnx.load_model_from_string(buf.getvalue())
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = _META_PREFIX + key, json.dumps(value)
    proto.doc_string = _describe(meta)
    onnx.checker.check_model(proto, full_check=True)
    onnx.save_model(proto, str(path))
    return _run_onnx(path, x), ["onnx.checker", "onnxruntime"]


def _run_onnx(path: Path, x: torch.Tensor) -> torch.Tensor:
    session = _session(path)
    (y,) = session.run([OUTPUT_NAME], {INPUT_NAME: x.numpy()})
    return torch.from_numpy(y)


def _session(path: Path):
    ort = _require("onnxruntime", "running an ONNX file")
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _write_torchscript(
    model: nn.Module, x: torch.Tensor, path: Path, meta: dict
) -> tuple[torch.Tensor, list[str]]:
    with _quiet_tracing(), torch.no_grad():
        traced = torch.jit.trace(model, (x,), check_trace=False)
        torch.jit.save(traced, str(path), _extra_files={_TS_EXTRA: json.dumps(meta)})
        loaded = torch.jit.load(str(path), map_location="cpu")
        return loaded(x), ["torch.jit.load"]


def _describe(meta: dict) -> str:
    c, h, w = meta["input_size"]
    return (
        f"cnnzoo {meta['model']} ({meta['weights']} weights): input {INPUT_NAME!r} "
        f"float32 (N, {c}, {h}, {w}); {meta['normalization']}; output {OUTPUT_NAME!r} "
        f"(N, {len(meta['classes'])}) class scores before softmax"
    )


def read_export_metadata(path: str | Path) -> dict:
    """The metadata :func:`export_model` put into an ONNX or TorchScript file, read without
    running anything in it."""
    path = Path(path)
    if not path.is_file():
        raise MissingError(f"{path}: no such file")
    if zipfile.is_zipfile(path):  # TorchScript: a zip archive, the metadata in extra/
        with zipfile.ZipFile(path) as z:
            names = [n for n in z.namelist() if n.endswith(f"/extra/{_TS_EXTRA}")]
            if not names:
                raise MissingError(f"{path}: no cnnzoo metadata (not exported by cnnzoo)")
            return json.loads(z.read(names[0]))
    try:
        props = _session(path).get_modelmeta().custom_metadata_map
    except SetupError:
        raise
    except Exception as e:  # onnxruntime's own error for a file that is not ONNX
        raise MissingError(
            f"{path}: not an ONNX or TorchScript file ({type(e).__name__}: {e})"
        ) from None
    meta = {
        k[len(_META_PREFIX) :]: json.loads(v)
        for k, v in props.items()
        if k.startswith(_META_PREFIX)
    }
    if "input_size" not in meta or "classes" not in meta:
        raise MissingError(f"{path}: no cnnzoo metadata (not exported by cnnzoo)")
    return meta


def predict_onnx(path: str | Path, images: list[str | Path], top_k: int = 3) -> list[dict]:
    """:func:`cnnzoo.train.predict_images` for an exported ONNX file: the same preprocessing
    (from the file's metadata: input size, normalisation, classes), the network run by
    onnxruntime."""
    from cnnzoo.train.inference import load_images, top_predictions

    path = Path(path)
    if not path.is_file():
        raise MissingError(f"{path}: no such file")
    session = _session(path)
    meta = read_export_metadata(path)
    x = load_images(images, meta["input_size"], meta["mean"], meta["std"]).numpy()
    fixed = session.get_inputs()[0].shape[0]
    # a fixed batch size (1 unless exported with dynamic_batch): the images one at a time
    parts = [x[i : i + 1] for i in range(len(x))] if isinstance(fixed, int) else [x]
    logits = [session.run([OUTPUT_NAME], {INPUT_NAME: p})[0] for p in parts]
    return top_predictions(torch.from_numpy(_concat(logits)), meta["classes"], images, top_k)


def _concat(arrays: list):
    import numpy as np

    return np.concatenate(arrays, axis=0)
