"""The ``cnnzoo`` command line. Thin: it parses arguments, calls the library and prints."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from cnnzoo.registry import UnknownModelError, list_models, model_info


def _human(n: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f}{unit}"
    return str(int(n))


def model_rows(pattern: str = "*") -> list[dict[str, object]]:
    """One row per registered model matching ``pattern``: name, family, year, default input
    size, parameter count and multiply-adds ("flops") at the default input size, number of
    classes and channels."""
    from cnnzoo.complexity import complexity

    rows = []
    for name in list_models(pattern):
        info = model_info(name)
        cost = complexity(name)  # built on the meta device: no memory, no arithmetic
        rows.append(
            {
                "name": name,
                "family": info.family,
                "year": info.year,
                "input": "x".join(map(str, info.input_size)),
                "classes": info.num_classes,
                "params": cost.params,
                "flops": cost.flops,
            }
        )
    return rows


def _print_table(rows: list[dict[str, object]], columns: Sequence[tuple[str, str, str]]) -> None:
    """columns: (key, header, align '<' or '>')."""
    cells = [
        [_human(r[k]) if k in ("params", "flops") else str(r[k]) for k, _, _ in columns]
        for r in rows
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, (_, h, _) in enumerate(columns)]
    print("  ".join(f"{h:{a}{w}}" for (_, h, a), w in zip(columns, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for c in cells:
        print("  ".join(f"{v:{a}{w}}" for v, (_, _, a), w in zip(c, columns, widths, strict=True)))


def cmd_list(args: argparse.Namespace) -> int:
    rows = model_rows(args.pattern)
    if not rows:
        print(
            f"no model matches {args.pattern!r}; run `cnnzoo list` to see them all", file=sys.stderr
        )
        return 1
    if args.format == "json":
        print(json.dumps(rows, indent=2))
        return 0
    columns = [
        ("name", "model", "<"),
        ("family", "family", "<"),
        ("year", "year", ">"),
        ("input", "input", ">"),
        ("classes", "classes", ">"),
        ("params", "params", ">"),
        ("flops", "mult-adds", ">"),
    ]
    _print_table(rows, columns)
    print(
        f"\n{len(rows)} models; mult-adds for one image at the input size shown "
        "(`cnnzoo summary MODEL` breaks them down). In Python: "
        "cnnzoo.create_model(name, num_classes=..., in_channels=...)"
    )
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    from cnnzoo.complexity import format_summary, summary

    s = summary(args.model, args.input, num_classes=args.num_classes)
    if args.format == "json":
        print(json.dumps(s.to_dict(), indent=2))
    else:
        print(format_summary(s, args.format), end="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cnnzoo",
        description="The classic convolutional networks, LeNet-5 to RegNet: list and build them.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    p = sub.add_parser(
        "list",
        help="list the registered models with family, paper year and parameters",
        description="List registered models: name, family, paper year, default input size "
        "(channels x height x width), classes, parameters and multiply-adds at that input.",
    )
    p.add_argument("pattern", nargs="?", default="*", help="shell-style wildcard, e.g. 'resnet*'")
    p.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    p.set_defaults(func=cmd_list)
    # subcommands: summary (complexity)
    p = sub.add_parser(
        "summary",
        help="per-layer parameters and multiply-adds of a model, and the share of each stage",
        description="Every layer of MODEL with its output shape, parameters and multiply-adds "
        "(conv and linear layers, bias included, one image), the totals, and each stage's "
        "share of the cost. Measured on the meta device: nothing is computed.",
    )
    p.add_argument("model", help="a registered model name (see `cnnzoo list`)")
    p.add_argument(
        "--input",
        metavar="CxHxW",
        help="input size, e.g. 1x28x28 (default: the model's own)",
    )
    p.add_argument("--num-classes", type=int, metavar="N", help="classifier outputs")
    p.add_argument(
        "--format", choices=("table", "markdown", "json"), default="table", help="output format"
    )
    p.set_defaults(func=cmd_summary)
    # subcommands: data (data sets)
    # subcommands: train / eval / predict / bench / runs (trainer)
    from cnnzoo.cli_train import add_train_commands

    add_train_commands(sub)
    # subcommands: sweep (design-space explorer)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (UnknownModelError, ValueError, TypeError) as e:
        print(f"cnnzoo: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
