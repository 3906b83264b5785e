"""``cnnzoo bench / runs``: argument parsing and printing only."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cnnzoo.cli_args import key_value, positive_float, positive_int

__all__ = ["add_bench_runs"]


def _parse_size(text: str) -> tuple[int, int, int]:
    from cnnzoo.errors import ConfigError
    from cnnzoo.fmt import parse_input_size

    try:
        return parse_input_size(text)
    except ConfigError as e:  # argparse shows the message of this error type only
        raise argparse.ArgumentTypeError(str(e)) from None


def cmd_bench(args: argparse.Namespace) -> int:
    from cnnzoo.bench import bench_model

    rows, meta = bench_model(
        args.model, input_size=args.input, batch_size=args.batch_size,
        num_classes=args.num_classes, device=args.device, min_time=args.seconds,
        options=dict(args.option or ()),
    )  # fmt: skip
    if args.format == "json":
        print(json.dumps({"meta": meta, "rows": [r.to_dict() for r in rows]}, indent=2))
        return 0
    c, h, w = meta["input"]
    print(
        f"{meta['model']} at {c}x{h}x{w}, batch {meta['batch_size']}, {meta['device']}, "
        f"{meta['threads']} threads: {meta['mult_adds'] / 1e6:,.1f}M multiply-adds per image"
    )
    from cnnzoo.fmt import text_table

    table = [
        [r.precision, r.memory_format, f"{r.train_images_per_s:,.0f}",
         f"{r.infer_images_per_s:,.0f}", f"{r.train_gflops:,.1f}", f"{r.infer_gflops:,.1f}",
         f"{r.peak_gflops:,.0f}", f"{r.train_util:.1%}", f"{r.infer_util:.1%}"]
        for r in rows
    ]  # fmt: skip
    cols = ["precision", "memory format", "train img/s", "infer img/s", "train GFLOP/s",
            "infer GFLOP/s", "peak GFLOP/s", "train util", "infer util"]  # fmt: skip
    print(text_table(cols, table, (False, False) + (True,) * 7))
    for prec in dict.fromkeys(r.precision for r in rows):
        r = next(r for r in rows if r.precision == prec)
        print(f"{prec} peak {r.peak_gflops:,.0f} GFLOP/s: {r.peak_kernel}")
    print(
        "peak: the best of dense matrix multiplies and 3x3 convolutions (both memory formats) "
        "measured in that precision, or the model itself where it does better; training counts "
        "3x forward."
    )
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    from cnnzoo.store import best_acc_split, runs_under

    root = Path(args.root)
    runs, problems = runs_under(root)
    for problem in problems:  # a damaged store: said, and the rest still listed
        print(f"cnnzoo: error: {problem}", file=sys.stderr)
    if not runs:
        if not problems:
            print(
                f"no runs recorded under {root} (no runs.sqlite and no run directory in it or "
                "below it)", file=sys.stderr,
            )  # fmt: skip
        return 2 if problems else 1
    for r in runs:  # the best epoch evaluation's accuracy: on the validation split, or the test
        r["best_acc_split"] = best_acc_split(r)
    if args.format == "json":
        print(json.dumps(runs, indent=2, default=str))
        return 2 if problems else 0
    from cnnzoo.fmt import text_table

    def fmt(value: float | None, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    rows = [
        [_where(r["out_dir"], root), r["model"], r["dataset"], r["status"],
         str(r["epochs_done"]), _best(r["best_acc"] or None, r["best_acc_split"]),
         fmt(r["test_acc"], ".4f"),
         fmt(r["wall_time"], ".0f") + ("s" if r["wall_time"] is not None else "")]
        for r in runs
    ]  # fmt: skip
    cols = ["run", "model", "data", "status", "ep", "best acc", "test", "time"]
    print(text_table(cols, rows, (False,) * 4 + (True,) * 4))
    troubled = [
        r for r in runs
        if (r["status"] in ("diverged", "failed") and r["error"]) or r["status"] == "stale"
    ]  # fmt: skip
    if troubled:
        print()
    for r in troubled:
        if r["status"] == "stale":
            why = (
                "recorded as running, but its process is gone (killed?); continue it with "
                f"`cnnzoo train {r['model']} ... --out {r['out_dir']} --resume`"
            )
        else:
            why = r["error"].strip().splitlines()[0]
        print(f"{_where(r['out_dir'], root)}: {r['status']}: {why}")
    return 2 if problems else 0


def _where(out_dir: str, root: Path) -> str:
    """A run's folder as the user knows it: relative to the listed root when under it."""
    path, base = Path(out_dir), root.parent if root.is_file() else root
    try:
        return str(path.resolve().relative_to(base.resolve())) or "."
    except ValueError:
        return str(path)


def _best(acc: float | None, split: str) -> str:
    """The best epoch evaluation's accuracy and its split: "0.9123 val" (the best validation
    accuracy), or "0.9050 test" (the best test accuracy, when no validation split was held
    out)."""
    return "-" if acc is None else f"{acc:.4f} {split}"


def add_bench_runs(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench",
        help="training and inference speed, GFLOP/s and utilisation of the machine's peak",
        description="Measure training and inference images/s of MODEL for each precision "
        "(fp32, and bf16 where supported) and memory format, the achieved GFLOP/s, and the "
        "utilisation against this machine's measured peak (the best of matrix multiplies and 3x3 "
        "convolutions in that precision).",
    )
    p.add_argument("model", help="a registered model name")
    p.add_argument("--input", type=_parse_size, help="input size CxHxW (default: the model's)")
    p.add_argument("--batch-size", type=positive_int, default=64)
    p.add_argument("--num-classes", type=positive_int)
    p.add_argument("--device", default="auto")
    p.add_argument("--seconds", type=positive_float, default=1.0, help="time per measurement")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument(
        "--option", action="append", type=key_value, metavar="KEY=VALUE",
        help="model option, e.g. --option 'widths=[32,64,128]' (repeatable)",
    )  # fmt: skip
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser(
        "runs",
        help="list recorded training runs",
        description="List every training run under ROOT, whatever folder each was trained "
        "into: the runs recorded in each runs.sqlite in ROOT or below it (as `tensorboard "
        "--logdir` finds runs), and run directories there that no store records. Status "
        "(finished, diverged, failed, interrupted, running, stale), epochs, accuracies, time.",
    )
    p.add_argument(
        "root", nargs="?", default="runs",
        help="a folder of runs, searched recursively (default runs), or one runs.sqlite",
    )  # fmt: skip
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=cmd_runs)
