"""``cnnzoo claims list / run / report``: argument parsing and printing only."""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

from cnnzoo.claims.core import BUDGETS
from cnnzoo.cli_args import positive_int


def cmd_claims_list(args: argparse.Namespace) -> int:
    from cnnzoo.claims import list_claims
    from cnnzoo.claims.report import records_summary

    verdicts = records_summary(args.out, args.budget)
    for claim in list_claims():
        verdict = verdicts.get(claim.id, "not run")
        print(f"{claim.id:<24} {verdict:<15} {claim.title}")
        if args.verbose:
            wrap = textwrap.TextWrapper(width=96, initial_indent=" " * 4, subsequent_indent=" " * 4)
            print(wrap.fill(claim.sentence))
            print(wrap.fill(f"({claim.paper}) Measured: {claim.measured}."))
            s = claim.setting(args.budget)
            print(wrap.fill(f"{args.budget} budget: {s}"))
    print(
        f"\nverdicts at the {args.budget!r} budget from {Path(args.out) / args.budget}; "
        "`cnnzoo claims run ID` runs one, `cnnzoo claims report` writes the report"
    )
    return 0


def cmd_claims_run(args: argparse.Namespace) -> int:
    from cnnzoo.claims import list_claims, run_claims
    from cnnzoo.claims.report import write_report

    ids = [c.id for c in list_claims()] if args.ids == ["all"] else args.ids
    log = (lambda m: None) if args.quiet else (lambda m: print(m, flush=True))
    try:
        analyses = run_claims(
            ids, args.budget, args.out, executor=args.executor, workers=args.workers,
            threads=args.threads, address=args.ray_address, data=args.data,
            data_dir=args.data_dir, log=log,
        )  # fmt: skip
    except KeyboardInterrupt:
        print("\ninterrupted; run the same command again to resume", file=sys.stderr)
        return 130
    print()
    for cid, a in analyses.items():
        print(f"{cid}: {a.headline.upper()}")
        for f in a.findings:
            print(f"  - {f.verdict:<15} {f.statement}: {f.describe()}")
        for note in a.notes:
            print(f"    note: {note}")
    md, html = write_report(args.out, args.budget)
    print(f"\nreport: {md} and {html}")
    return 0


def cmd_claims_report(args: argparse.Namespace) -> int:
    from cnnzoo.claims.report import write_report

    md, html = write_report(args.out, args.budget, out_dir=args.report_dir, md_path=args.md)
    print(f"wrote {md} and {html}")
    if args.print:
        print(md.read_text())
    return 0


def add_claims_commands(sub: argparse._SubParsersAction) -> None:
    from cnnzoo.claims.runner import DEFAULT_ROOT

    p = sub.add_parser(
        "claims",
        help="the claims lab: each network's claimed innovation as an experiment with a verdict",
        description="Every claim the seed makes about a network (ReLU beats the sigmoid, skip "
        "connections cure degradation, ...) as an experiment whose verdict - reproduced, not "
        "reproduced or inconclusive - is computed from runs, with intervals across seeds.",
    )
    c = p.add_subparsers(dest="claims_command", metavar="ACTION", required=True)

    def common(q: argparse.ArgumentParser) -> None:
        q.add_argument(
            "--budget", choices=BUDGETS, default="cpu",
            help="smoke (seconds, for tests), cpu (minutes per claim on 2 cores; default) or "
            "paper (the paper's settings: hours, meant for a GPU or a Ray cluster)",
        )  # fmt: skip
        q.add_argument(
            "--out", type=Path, default=DEFAULT_ROOT,
            help=f"claims directory: records, runs and report per budget (default {DEFAULT_ROOT})",
        )  # fmt: skip

    ls = c.add_parser("list", help="the claims and their verdicts so far")
    common(ls)
    ls.add_argument("-v", "--verbose", action="store_true", help="sentence, paper and setting")
    ls.set_defaults(func=cmd_claims_list)

    r = c.add_parser(
        "run",
        help="run claims (resumable: rerun the same command after a kill)",
        description="Run the experiments of the given claims (or `all`), judge them and write "
        "the report. Finished jobs are reused; an interrupted training resumes.",
    )
    r.add_argument(
        "ids", nargs="+", metavar="ID", help="claim ids (see `cnnzoo claims list`) or all"
    )
    common(r)
    r.add_argument("--data", help="another data set for the trainings (default: fashion-mnist)")
    r.add_argument("--data-dir", help="where the data set files are")
    r.add_argument(
        "--executor", choices=("local", "ray"), default="local",
        help="local process pool (default) or Ray tasks",
    )  # fmt: skip
    r.add_argument(
        "--workers", type=positive_int, help="concurrent trainings (default: one per core)"
    )
    r.add_argument(
        "--threads", type=positive_int, help="torch threads per training (default: cores/workers)"
    )
    r.add_argument("--ray-address", help="a running Ray cluster, e.g. HEAD:6379 (default: local)")
    r.add_argument("--quiet", action="store_true", help="no progress lines")
    r.set_defaults(func=cmd_claims_run)

    rp = c.add_parser("report", help="write report.md and a self-contained report.html")
    common(rp)
    rp.add_argument("--report-dir", type=Path, help="where to write it (default: OUT/BUDGET)")
    rp.add_argument(
        "--md", type=Path, help="write the Markdown here (default: REPORT_DIR/report.md)"
    )
    rp.add_argument("--print", action="store_true", help="print the Markdown report")
    rp.set_defaults(func=cmd_claims_report)
