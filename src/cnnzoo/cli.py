"""The ``cnnzoo`` command line. Thin: it parses arguments, calls the library and prints.

Heavy modules (torch, the models) are imported inside the commands that need them, so that
``cnnzoo --help`` and ``cnnzoo list`` start without torch.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import re
import sys
import textwrap
from collections.abc import Sequence

from cnnzoo.errors import CnnzooError, NonFiniteLossError
from cnnzoo.fmt import human_count as _human


def _print_table(rows: list[dict[str, object]], columns: Sequence[tuple[str, str, str]]) -> None:
    """columns: (key, header, align '<' or '>')."""
    from cnnzoo.fmt import text_table

    cells = [
        [_human(r[k]) if k in ("params", "flops") else str(r[k]) for k, _, _ in columns]
        for r in rows
    ]
    heads = [h for _, h, _ in columns]
    print(text_table(heads, cells, [a == ">" for _, _, a in columns]))


def cmd_list(args: argparse.Namespace) -> int:
    # The committed table (cnnzoo.zoo_table), checked by a test against the measured path:
    # listing builds no model and does not import torch.
    from cnnzoo.zoo_table import load_table

    table = load_table()
    rows = [r for r in table["models"] if fnmatch.fnmatchcase(r["name"], args.pattern)]
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
    generic = [g for g in table["generic"] if fnmatch.fnmatchcase(g["name"], args.pattern)]
    if generic:
        print("\nGeneric builders (variants of a family, described by their options):")
        for g in generic:
            print(f"  {g['name']:<10} {g['summary']}\n  {'':<10} options: {g['options']}")
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    from cnnzoo.cost import format_summary, summary

    s = summary(args.model, args.input, num_classes=args.num_classes)
    if args.format == "json":
        print(json.dumps(s.to_dict(), indent=2))
    else:
        print(format_summary(s, args.format), end="")
    return 0


def cmd_data_list(args: argparse.Namespace) -> int:
    from cnnzoo.data import dataset_status

    statuses = dataset_status(args.data_dir)
    if args.format == "json":
        rows = [
            {
                "name": st.spec.name,
                "title": st.spec.title,
                "image_shape": list(st.spec.image_shape),
                "splits": st.spec.split_sizes,
                "classes": list(st.spec.classes),
                "download_bytes": st.spec.download_size,
                "found": str(st.location.folder) if st.location else None,
                "download_to": str(st.download_to),
            }
            for st in statuses
        ]
        print(json.dumps(rows, indent=2))
        return 0
    for st in statuses:
        spec, pad = st.spec, " " * 16
        sizes = ", ".join(f"{n:,} {split}" for split, n in spec.split_sizes.items())
        shape = "x".join(map(str, spec.image_shape))
        dl = f", {_human(spec.download_size)}B download" if spec.download_size else ""
        print(f"{spec.name:<15} {spec.title}: {sizes} images of {shape}{dl}")
        names = ", ".join(spec.classes)
        if len(names) > 80:
            names = names[:76].rsplit(", ", 1)[0] + ", ..."
        print(f"{pad}{len(spec.classes)} classes: {names}")
        if st.location:
            print(f"{pad}found in {st.location.folder}")
        else:
            how = (
                f"missing: get it with `cnnzoo data download {spec.name}` (into "
                f"{st.download_to}/), or put {', '.join(f.name for f in spec.downloads)} there"
            )
            if spec.apt_package:
                how += f"; as root on Debian/Ubuntu: `apt-get install {spec.apt_package}`"
            print(_fill(how, pad))
    print(
        "\nSearched: --data-dir, $CNNZOO_DATA, ~/.cache/cnnzoo, /usr/share/datasets. "
        "An image folder (one sub-folder per class) works wherever a name does."
    )
    return 0


def _fill(text: str, pad: str) -> str:
    """``text`` wrapped at 100 columns, indented by ``pad``, never breaking a `command`
    (the lines stay copyable)."""
    nbsp = "\u00a0"  # textwrap breaks at ASCII whitespace only
    kept = re.sub(r"`[^`]*`", lambda m: m.group(0).replace(" ", nbsp), text)
    wrapped = textwrap.fill(
        kept, 100, initial_indent=pad, subsequent_indent=pad + "  ", break_on_hyphens=False
    )
    return wrapped.replace(nbsp, " ")


def cmd_data_check(args: argparse.Namespace) -> int:
    from cnnzoo.data import check_dataset

    report = check_dataset(args.name, args.data_dir)
    print(f"{report.title} ({report.name}) in {report.folder}")
    for f in report.files:
        print(f"  {f.path.name}  {f.size:,} bytes  {f.status}")
    splits = list(report.counts)
    width = max(len("class"), *(len(c) for c in report.classes))
    print(f"\n{'class':<{width}}  " + "  ".join(f"{s:>8}" for s in splits))
    for i, name in enumerate(report.classes):
        print(f"{name:<{width}}  " + "  ".join(f"{report.counts[s][i]:>8,}" for s in splits))
    print(f"{'total':<{width}}  " + "  ".join(f"{report.totals[s]:>8,}" for s in splits))
    print(f"\nok: {sum(report.totals.values()):,} images read and verified")
    return 0


def cmd_data_download(args: argparse.Namespace) -> int:
    from cnnzoo.data import download_dataset, locate

    found = locate(args.name, None, args.data_dir)
    if found is not None and not args.force:
        print(f"{args.name}: already in {found.folder} (check it with `cnnzoo data check`)")
        return 0
    print(f"{args.name}: downloaded to {download_dataset(args.name, args.data_dir)}")
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
    p = sub.add_parser(
        "data",
        help="list, check and download the data sets",
        description="The known data sets: where they are, whether they are intact, fetching them.",
    )
    data_sub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    d = data_sub.add_parser(
        "list",
        help="each known data set: sizes, classes, where it is or how to get it",
        description="Each known data set with its splits, image size, classes, and the folder "
        "it was found in, or, when missing, how to get it.",
    )
    d.add_argument("--data-dir", metavar="DIR", help="look here first")
    d.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    d.set_defaults(func=cmd_data_list)
    d = data_sub.add_parser(
        "check",
        help="read a data set fully, verify its checksums, count images per split and class",
        description="Find NAME, verify every file's checksum, decode every split and print the "
        "number of images per split and class. Exits non-zero when anything is wrong.",
    )
    d.add_argument("name", help="a data set name (see `cnnzoo data list`) or an image folder")
    d.add_argument("--data-dir", metavar="DIR", help="look here first")
    d.set_defaults(func=cmd_data_check)
    d = data_sub.add_parser(
        "download",
        help="fetch a data set's files (checksummed) unless already present",
        description="Download NAME's files into --data-dir DIR, $CNNZOO_DATA or ~/.cache/cnnzoo, "
        "verifying checksums; nothing half-written is left behind.",
    )
    d.add_argument("name", help="a data set name (see `cnnzoo data list`)")
    d.add_argument("--data-dir", metavar="DIR", help="download here")
    d.add_argument("--force", action="store_true", help="download even if found elsewhere")
    d.set_defaults(func=cmd_data_download)
    # subcommands: train / eval / predict / bench / runs (trainer)
    from cnnzoo.cli_train import add_train_commands

    add_train_commands(sub)
    # subcommands: export (ONNX, TorchScript)
    from cnnzoo.cli_export import add_export_command

    add_export_command(sub)
    # subcommands: sweep (design-space explorer)
    from cnnzoo.cli_sweep import add_sweep_commands

    add_sweep_commands(sub)
    # subcommands: claims (the claims lab)
    from cnnzoo.cli_claims import add_claims_commands

    add_claims_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.raw_argv = list(sys.argv[1:] if argv is None else argv)  # `train --nproc` relaunches it
    # Only the errors a user can cause are printed as a message (cnnzoo.errors); anything
    # else is a bug and shows its traceback.
    try:
        return int(args.func(args) or 0)
    except NonFiniteLossError as e:
        print(f"cnnzoo: error: {e}", file=sys.stderr)
        return 1
    except CnnzooError as e:
        print(f"cnnzoo: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # the file system said no: a read-only directory, a full disk, ...
        what = f" {e.filename}" if e.filename else ""
        print(f"cnnzoo: error: cannot use{what}: {e.strerror or e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        hint = " Run the same command with --resume to continue." if args.command == "train" else ""
        print(f"\ncnnzoo: interrupted; what was saved is kept.{hint}", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
