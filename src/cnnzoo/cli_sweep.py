"""``cnnzoo sweep run / analyze / spaces / status``: argument parsing and printing only."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cnnzoo.cli_args import key_value, nonneg_float, nonneg_int, positive_int


def cmd_sweep_run(args: argparse.Namespace) -> int:
    from cnnzoo.designspace.sweep import SweepSpec, run_sweep

    spec = SweepSpec(
        space=args.space,
        n=args.n,
        flops=args.flops,
        data=args.data,
        data_dir=args.data_dir,
        epochs=args.epochs,
        train_subset=args.train_subset,
        max_steps=args.max_steps,
        val_size=args.val_size,
        seed=args.seed,
        num_stages=args.stages,
        train_options=dict(args.train_opt or []),
        ranges=dict(args.range or []),
    )
    try:
        summary = run_sweep(
            spec,
            args.out,
            args.executor,
            workers=args.workers,
            threads=args.threads,
            ray_address=args.ray_address,
            retry_failed=args.retry_failed,
            keep_checkpoints=args.keep_checkpoints,
            log=None if args.quiet else lambda m: print(m, flush=True),
        )
    except KeyboardInterrupt:
        print(f"\ninterrupted; run the same command again to resume {args.out}", file=sys.stderr)
        return 130
    if args.quiet:
        print(json.dumps({"out": str(summary.out_dir), **summary.counts, "ran": summary.ran}))
    return 0


def cmd_sweep_analyze(args: argparse.Namespace) -> int:
    from cnnzoo.designspace.report import write_sweep_report

    path = write_sweep_report(
        args.dirs,
        out=args.out,
        top=args.top,
        bins=args.bins,
        n_boot=args.bootstrap,
        metric=args.metric,
        labels=args.label,
    )
    print(path.read_text() if args.print else f"report: {path}")
    return 0


def cmd_sweep_spaces(args: argparse.Namespace) -> int:
    from cnnzoo.designspace import list_spaces

    for s in list_spaces():
        print(f"{s.name:<12} {s.description}")
    return 0


def cmd_sweep_status(args: argparse.Namespace) -> int:
    from cnnzoo.designspace.sampling import format_count
    from cnnzoo.designspace.sweep import config_text, sweep_store

    store = sweep_store(args.dir)
    spec = store.spec() or {}
    counts = store.counts()
    trials = store.trials()
    done = [t for t in trials if t["status"] == "done"]
    line = f"{args.dir}: {spec.get('space')} n={spec.get('n')} on {spec.get('data')}; " + ", ".join(
        f"{v} {k}" for k, v in counts.items()
    )
    print(line)
    if done:
        best = min(done, key=lambda t: t["error"])
        wall = sum(t["wall_time"] or 0 for t in done)
        print(
            f"best error {best['error']:.4f} (trial {best['idx']}: {config_text(best['config'])}); "
            f"{wall / len(done):.1f}s per trial on average"
        )
    if args.top and done:
        print(f"{'trial':>5}  {'error':>6}  {'train s':>7}  {'flops':>7}  network")
        for t in sorted(done, key=lambda t: t["error"])[: args.top]:
            secs = f"{t['train_time']:.1f}" if t.get("train_time") is not None else "-"
            print(
                f"{t['idx']:>5}  {100 * t['error']:>5.2f}%  {secs:>7}  "
                f"{format_count(t['flops']):>7}  {config_text(t['config'])}"
            )
    for t in trials:
        if t["status"] == "failed":
            print(f"trial {t['idx']} failed: {(t['message'] or '').splitlines()[0][:160]}")
    return 0


def add_sweep_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep",
        help="design-space explorer: sample AnyNet/RegNet (or SpeedNet) spaces, train briefly, "
        "compare EDFs",
        description="Sample a design space under a cost window, train every sample for a short "
        "budget and compare the error distributions (Radosavovic et al. 2020).",
    )
    s = p.add_subparsers(dest="sweep_command", metavar="ACTION", required=True)

    r = s.add_parser(
        "run",
        help="sample a space and train each sample (resumable: rerun the same command)",
        description="Sample N distinct networks of SPACE whose multiply-adds fall in --flops, "
        "train each for the short budget and record it in OUT/sweep.sqlite. Killed? Run the "
        "same command again: finished trials are kept, unfinished ones rerun.",
    )
    r.add_argument("--space", required=True, help="a design space (see `cnnzoo sweep spaces`)")
    r.add_argument(
        "--n", type=positive_int, required=True, help="number of networks to sample and train"
    )
    r.add_argument("--flops", metavar="LOW:HIGH", help="multiply-add window, e.g. 15M:25M")
    r.add_argument("--data", default="fashion-mnist", help="data set name or image folder")
    r.add_argument("--data-dir", help="where the data set files are")
    r.add_argument("--epochs", type=positive_int, default=2, help="epochs per trial (default 2)")
    r.add_argument("--train-subset", type=positive_int, help="train each trial on this many images")
    r.add_argument("--max-steps", type=positive_int, help="stop each trial after this many steps")
    r.add_argument(
        "--val-size", type=nonneg_float, default=0,
        help="images held out for the per-epoch evaluation (default 0: the test split)",
    )  # fmt: skip
    r.add_argument("--seed", type=nonneg_int, default=0, help="sampling and training seed")
    r.add_argument(
        "--stages", type=positive_int, help="number of stages (default: 3 below 32 px, else 4)"
    )
    r.add_argument("--out", type=Path, required=True, help="sweep directory")
    r.add_argument(
        "--executor", choices=("local", "ray"), default="local",
        help="local process pool (default) or Ray tasks",
    )  # fmt: skip
    r.add_argument("--workers", type=positive_int, help="concurrent trials (default: one per core)")
    r.add_argument(
        "--threads", type=positive_int, help="torch threads per trial (default: cores/workers)"
    )
    r.add_argument("--ray-address", help="a running Ray cluster, e.g. HEAD:6379 (default: local)")
    r.add_argument(
        "--train-opt", action="append", type=key_value, metavar="KEY=VALUE",
        help="override a training setting, e.g. --train-opt lr=0.05 (repeatable)",
    )  # fmt: skip
    r.add_argument(
        "--range", action="append", type=key_value, metavar="KEY=VALUE",
        help="override a sampling range, e.g. --range width=[8,256] (repeatable)",
    )  # fmt: skip
    r.add_argument("--retry-failed", action="store_true", help="rerun the failed trials too")
    r.add_argument("--keep-checkpoints", action="store_true", help="keep each trial's weights")
    r.add_argument("--quiet", action="store_true", help="no progress lines; JSON at the end")
    r.set_defaults(func=cmd_sweep_run)

    a = s.add_parser(
        "analyze",
        help="EDFs, bootstrap, error vs parameters and the width fit of one or more sweeps",
        description="Compare sweeps: error EDFs on one plot, the complexity-normalised EDF, "
        "the bootstrap of the best error, error vs each design parameter, and block index vs "
        "width of the best models with the fitted w_j = w_0 + w_a*j; a Markdown and HTML "
        "report with the plots.",
    )
    a.add_argument("dirs", nargs="+", type=Path, help="sweep directories")
    a.add_argument("--out", type=Path, help="report directory (default: DIR/analysis)")
    a.add_argument("--label", action="append", help="legend label per sweep (default: space)")
    a.add_argument(
        "--metric", choices=("error", "best_error"), default="error",
        help="final test error (default) or the best per-epoch error",
    )  # fmt: skip
    a.add_argument("--top", type=positive_int, default=5, help="best models in the width plot")
    a.add_argument(
        "--bins", type=positive_int, default=5, help="complexity bins of the normalised EDF"
    )
    a.add_argument("--bootstrap", type=positive_int, default=10_000, help="bootstrap resamples")
    a.add_argument("--print", action="store_true", help="print the Markdown report")
    a.set_defaults(func=cmd_sweep_analyze)

    sp = s.add_parser("spaces", help="the registered design spaces")
    sp.set_defaults(func=cmd_sweep_spaces)

    st = s.add_parser("status", help="how far a sweep is, its best trial and its failures")
    st.add_argument("dir", type=Path, help="sweep directory")
    st.add_argument(
        "--top", type=nonneg_int, default=0, metavar="N",
        help="list the N best trials: error, training time, cost and network",
    )  # fmt: skip
    st.set_defaults(func=cmd_sweep_status)
