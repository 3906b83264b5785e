"""Time to accuracy on Fashion-MNIST: the ``fast`` recipe's network against ResNet-20, side by side.

Runs ``cnnzoo train`` in a fresh process for each recipe and seed — the new one (the ``fast``
recipe's default network, with the settings the recipe picks for it) and the baseline (ResNet-20
with the same recipe, today's ``fast`` settings for it) — and records the test accuracy after
every epoch against the wall time since the process was started (interpreter start-up, data
loading, evaluation and checkpoints included), DAWNBench's measure: the time to X% is the wall
time at the first evaluation that reaches X%. The baseline is run with ``--val-size 0`` so that
it, too, is evaluated on the test split every epoch (it then trains on all 60,000 images, as the
new recipe does).

Prints every run's curve, each seed's time to 93% and 94% and final accuracy, the medians over
the seeds, and the speed-up to 93% (baseline median / new median); plots the curves
(``benchmarks/time_to_accuracy.png``). Targets: >= 94.0% within 300 s and >= 93.0% within 180 s,
median of 3 seeds, 2 cores.

Resumable: each finished run is recorded in ``benchmarks/time_to_accuracy.json`` and not run
again while its arguments, settings, network and machine are the same (a killed run is run
again from its start: its timing must be of one uninterrupted process).

    .venv/bin/python benchmarks/time_to_accuracy.py                 # both, seeds 0 1 2
    .venv/bin/python benchmarks/time_to_accuracy.py --only new --seeds 0
    .venv/bin/python benchmarks/time_to_accuracy.py --report-only   # print and plot the record
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
from cnnzoo.bench import cpu_name  # noqa: E402

TARGETS = ((0.93, 180.0), (0.94, 300.0))  # (accuracy, seconds)


def train_args(which: str, new_model: str, seed: int, extra: list[str]) -> list[str]:
    """The ``cnnzoo train`` arguments of one run."""
    if which == "baseline":
        return ["resnet20", "--recipe", "fast", "--val-size", "0", "--seed", str(seed)]
    return [new_model, "--recipe", "fast", "--seed", str(seed), *extra]


def network(args: list[str]) -> dict:
    """Parameters and multiply-adds at 1x28x28 of the network ``cnnzoo train ARGS`` builds (its
    name and ``--option`` pairs): a record made with another default shape is not reused."""
    from cnnzoo import complexity
    from cnnzoo.cli_args import key_value

    options = dict(key_value(v) for k, v in itertools.pairwise(args) if k == "--option")
    c = complexity(args[0], (1, 28, 28), num_classes=10, **options)
    return {"params": c.params, "flops": c.flops}


def resolved_config(args: list[str]) -> dict:
    """The settings ``cnnzoo train ARGS`` would train with (its ``--show-config``): a record made
    under other recipe settings (say, another number of epochs for the network) is not reused."""
    cmd = [sys.executable, "-m", "cnnzoo", "train", *args, "--show-config"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out[out.index("{") :])


def run_once(args: list[str], keep: Path | None) -> dict:
    """One ``cnnzoo train`` process, timed from just before it starts to its exit."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
    out = (keep or Path(tempfile.mkdtemp())) / "run"
    if out.exists():
        shutil.rmtree(out)
    cmd = [sys.executable, "-m", "cnnzoo", "train", *args, "--out", str(out), "--quiet"]
    t0 = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.time() - t0
    if not (out / "eval.json").exists():  # (a run that diverged exits 3 with its eval.json)
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    result = json.loads((out / "eval.json").read_text())
    config = json.loads((out / "config.json").read_text())
    curve = [[r["time"] - t0, r["test_acc"]] for r in rows]
    if keep is None:
        shutil.rmtree(out.parent, ignore_errors=True)
    return {
        "args": args,
        "config": config,
        "curve": curve,  # [seconds since the process started, test accuracy] per epoch
        "final_acc": result["test_acc"],
        "status": result["status"],
        "wall": wall,
        "images_per_s": rows[-1]["images_per_s"] if rows else None,
        "precision": result.get("precision"),
        "machine": cpu_name(),
        "cores": os.cpu_count(),
        "network": network(args),
    }


def time_to(curve: list[list[float]], acc: float) -> float | None:
    """Wall time of the first evaluation at or above ``acc`` (None: never reached)."""
    return next((t for t, a in curve if a >= acc), None)


def median_time(times: list[float | None]) -> float | None:
    """Median over seeds, a run that never got there counting as infinitely slow."""
    m = statistics.median([t if t is not None else float("inf") for t in times])
    return None if m == float("inf") else m


def fmt_t(t: float | None) -> str:
    return "never" if t is None else f"{t:.0f} s"


def report(record: dict, seeds: list[int], plot: Path | None) -> str:
    lines = [f"machine: {cpu_name()}, {os.cpu_count()} cores", ""]
    med: dict[str, dict] = {}
    for which in ("new", "baseline"):
        runs = [record[k] for s in seeds if (k := f"{which}/{s}") in record]
        if not runs:
            continue
        model = runs[0]["config"]["model"]
        args = list(runs[0]["args"])
        args[args.index("--seed") + 1] = "SEED"
        lines += [
            f"### {which}: {model}, `cnnzoo train {' '.join(args)}` "
            f"({runs[0]['config']['epochs']} epochs, batch {runs[0]['config']['batch_size']}, "
            f"{runs[0]['precision']})",
            "",
            "| seed | test accuracy by epoch (s since start: accuracy) | final | wall | "
            "to 93% | to 94% |",
            "|---:|---|---:|---:|---:|---:|",
        ]
        for r in runs:
            curve = ", ".join(f"{t:.0f}: {a:.4f}" for t, a in r["curve"])
            lines.append(
                f"| {r['config']['seed']} | {curve} | {r['final_acc']:.4f} | {r['wall']:.0f} s "
                f"| {fmt_t(time_to(r['curve'], 0.93))} | {fmt_t(time_to(r['curve'], 0.94))} |"
            )
        med[which] = {
            "final": statistics.median(r["final_acc"] for r in runs),
            "wall": statistics.median(r["wall"] for r in runs),
            **{acc: median_time([time_to(r["curve"], acc) for r in runs]) for acc, _ in TARGETS},
            "n": len(runs),
        }
        m = med[which]
        lines += [
            "",
            f"median of {m['n']} seed{'s' if m['n'] > 1 else ''}: final test accuracy "
            f"{m['final']:.4f} after {m['wall']:.0f} s; to 93%: {fmt_t(m[0.93])}; to 94%: "
            f"{fmt_t(m[0.94])}",
            "",
        ]
    if "new" in med:
        for acc, limit in TARGETS:
            t = med["new"][acc]
            ok = t is not None and t <= limit
            lines.append(
                f"target {acc:.1%} within {limit:.0f} s: {'met' if ok else 'NOT met'} "
                f"(median {fmt_t(t)})"
            )
    if "new" in med and "baseline" in med:
        tn, tb = med["new"][0.93], med["baseline"][0.93]
        if tn is not None and tb is not None:
            lines.append(f"speed-up to 93%: {tb / tn:.2f}x ({tb:.0f} s -> {tn:.0f} s)")
        elif tn is not None:
            end = med["baseline"]["wall"]
            lines.append(f"speed-up to 93%: > {end / tn:.2f}x (baseline never got there in "
                         f"{end:.0f} s)")  # fmt: skip
        else:
            lines.append("speed-up to 93%: the new recipe did not reach 93%")
    if plot is not None and med:
        draw(record, seeds, plot)
        lines.append(f"plot: {plot}")
    return "\n".join(lines)


def draw(record: dict, seeds: list[int], path: Path) -> None:
    sys.path.insert(0, str(HERE.parent / "src"))
    from cnnzoo.report import pyplot, save_figure

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    lowest = 1.0
    for which, colour in (("new", "tab:blue"), ("baseline", "tab:gray")):
        for i, s in enumerate(seeds):
            r = record.get(f"{which}/{s}")
            if r is None:
                continue
            xs, ys = zip(*r["curve"], strict=True) if r["curve"] else ((), ())
            lowest = min(lowest, *ys)
            label = f"{which}: {r['config']['model']}" if i == 0 else None
            ax.plot(xs, ys, marker="o", ms=3, color=colour, alpha=0.8, label=label)
    for acc, limit in TARGETS:
        ax.plot([0, limit], [acc, acc], color="tab:red", lw=0.8, ls="--")
        ax.plot([limit, limit], [0, acc], color="tab:red", lw=0.8, ls="--")
        ax.annotate(
            f"target: {acc:.0%} by {limit:.0f} s", (limit, acc), fontsize=8, xytext=(-3, 3),
            textcoords="offset points", color="tab:red", ha="right",
        )  # fmt: skip
    ax.set_ylim(max(0.5, min(0.85, lowest - 0.01)), 0.96)
    ax.set_xlim(left=0)
    ax.set_xlabel("wall time since the process started (s)")
    ax.set_ylabel("test accuracy")
    ax.set_title(f"Fashion-MNIST, time to accuracy ({cpu_name()}, {os.cpu_count()} cores)")
    ax.grid(alpha=0.3)
    ax.legend()
    save_figure(fig, path)


def load_record(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        record = json.loads(path.read_text())
    except ValueError as e:
        raise SystemExit(f"{path} is not valid JSON ({e}): fix or move it") from None
    if not isinstance(record, dict):
        raise SystemExit(f"{path} should hold an object of runs: fix or move it")
    return record


def main() -> None:
    sys.path.insert(0, str(HERE.parent / "src"))
    from cnnzoo.train.recipes import DEFAULT_MODEL

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--new", default=DEFAULT_MODEL, help="the new recipe's network")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--only", choices=("new", "baseline"))
    ap.add_argument("--record", type=Path, default=HERE / "time_to_accuracy.json")
    ap.add_argument("--plot", type=Path, default=HERE / "time_to_accuracy.png")
    ap.add_argument("--keep", type=Path, help="keep the run folders under this folder")
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument(
        "train_args", nargs="*",
        help="more `cnnzoo train` options for the new run (after --), e.g. -- --epochs 12 or "
        "-- --budget 5m; use another --record for such experiments",
    )  # fmt: skip
    args = ap.parse_args()
    record = load_record(args.record)
    if not args.report_only:
        for seed in args.seeds:
            for which in ("baseline", "new"):
                if args.only and which != args.only:
                    continue
                key = f"{which}/{seed}"
                cmd = train_args(which, args.new, seed, args.train_args)
                done = record.get(key)
                same = done and (done["args"], done["machine"]) == (cmd, cpu_name())
                # a --budget run's settings are what it measured the machine to afford
                budget = "--budget" in cmd
                if (
                    same
                    and done.get("network") == network(cmd)
                    and (budget or done["config"] == resolved_config(cmd))
                ):
                    continue
                print(f"{key}: cnnzoo train {' '.join(cmd)} ...", flush=True)
                keep = args.keep / key.replace("/", "-") if args.keep else None
                r = run_once(cmd, keep)
                print(f"    final {r['final_acc']:.4f} after {r['wall']:.0f} s; to 93%: "
                      f"{fmt_t(time_to(r['curve'], 0.93))}", flush=True)  # fmt: skip
                record = load_record(args.record)  # another invocation may have added runs
                record[key] = r
                tmp = args.record.with_suffix(".tmp")
                tmp.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
                os.replace(tmp, args.record)
    print(report(record, args.seeds, args.plot))


if __name__ == "__main__":
    main()
