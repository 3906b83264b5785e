"""``cnnzoo export``: argument parsing and printing only (the work is :mod:`cnnzoo.export`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from cnnzoo.cli_args import positive_int


def cmd_export(args: argparse.Namespace) -> int:
    from cnnzoo.export import export_model
    from cnnzoo.fmt import human_bytes

    result = export_model(
        args.source, args.format, args.out, opset=args.opset, dynamic_batch=args.dynamic_batch,
        which=args.which, num_classes=args.num_classes, input_size=args.input,
        overwrite=args.force,
    )  # fmt: skip
    meta = result.metadata
    c, h, w = meta["input_size"]
    kind = f"ONNX opset {meta['opset']}" if result.format == "onnx" else "TorchScript"
    batch = "any batch size" if meta["dynamic_batch"] else "batch 1"
    print(f"wrote {result.path} ({kind}, {human_bytes(result.path.stat().st_size)})")
    print(
        f"  {meta['model']}, {meta['weights']} weights: input {c}x{h}x{w} ({batch}), "
        f"{len(meta['classes'])} classes"
    )
    print(f"  normalisation: {meta['normalization']}")
    if meta["mean"] is not None:
        print(f"  mean {_floats(meta['mean'])}  std {_floats(meta['std'])}")
    print(
        f"  checked ({', '.join(result.checks)}): output equals PyTorch's within "
        f"{result.max_abs_diff:.1e} (max abs), {result.rel_diff:.1e} relative"
    )
    if result.format == "onnx":
        print(f"  predict with it: cnnzoo predict {result.path} IMAGE...")
    return 0


def _floats(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.4f}" for v in values) + "]"


def _parse_size(text: str) -> tuple[int, int, int]:
    from cnnzoo.errors import ConfigError
    from cnnzoo.fmt import parse_input_size

    try:
        return parse_input_size(text)
    except ConfigError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_export_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="export a trained run or a model to ONNX or TorchScript",
        description="Export a run directory (or checkpoint directory) or a registered model "
        "to ONNX or TorchScript. A run's file carries its weights and, as metadata, the input "
        "size, normalisation, class names and model name; a model name gives its initial "
        "weights at its default input size. The file is checked before it is written "
        "(onnx.checker, and onnxruntime's output against PyTorch's). An ONNX file can be "
        "used by `cnnzoo predict FILE.onnx IMAGE...`. Needs: pip install 'cnnzoo[export]'.",
    )
    p.add_argument("source", metavar="RUN_OR_MODEL", help="run directory or model name")
    p.add_argument("--format", choices=("onnx", "torchscript"), default="onnx")
    p.add_argument(
        "--out", type=Path,
        help="output file (default RUN/model.onnx, or ./MODEL.onnx; .pt for TorchScript)",
    )  # fmt: skip
    p.add_argument("--opset", type=positive_int, default=17, help="ONNX opset (default 17)")
    p.add_argument("--dynamic-batch", action="store_true", help="any batch size (default: batch 1)")
    p.add_argument("--which", choices=("best", "last"), default="best", help="run checkpoint")
    p.add_argument("--num-classes", type=positive_int, help="model name only: classifier size")
    p.add_argument("--input", type=_parse_size, metavar="CxHxW", help="model name only")
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    p.set_defaults(func=cmd_export)
