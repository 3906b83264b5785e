"""Data-parallel training throughput on this machine: 1 process against 2 (DDP over gloo).

Each configuration trains with the real command, ``cnnzoo train`` (``--nproc 2`` for two
processes), on Fashion-MNIST for ``--steps`` steps of the same global batch, fp32, and reads
the images/s the trainer measured (training steps only: no start-up, evaluation or
checkpoint); the best of ``--repeat`` runs (a busy machine only ever slows a run down).
Configurations: processes x threads per process, ``1x2`` (the single-process baseline, every
core), ``1x1`` and ``2x1``; each ratio is against ``1x2`` of the same invocation.

    .venv/bin/python benchmarks/ddp_throughput.py [--models lenet5 resnet20] [--steps N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

#: model: (global batch, steps)
MODELS = {"lenet5": (256, 200), "resnet20": (128, 40)}
CONFIGS = ((1, 2), (1, 1), (2, 1))  # (processes, threads per process)


def measure(model: str, batch: int, steps: int, procs: int, threads: int, root: Path) -> float:
    out = root / f"{model}-{procs}x{threads}"
    cmd = [
        sys.executable, "-m", "cnnzoo", "train", model, "--data", "fashion-mnist",
        "--batch-size", str(batch), "--max-steps", str(steps), "--epochs", "1",
        "--val-size", "0", "--test-subset", "256", "--precision", "fp32", "--device", "cpu",
        "--checkpoint-every", "100000", "--quiet", "--out", str(out),
    ]  # fmt: skip
    if procs > 1:
        cmd += ["--nproc", str(procs)]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return float(json.loads((out / "eval.json").read_text())["images_per_s"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+", default=list(MODELS))
    ap.add_argument("--steps", type=int, help="steps per run (default: per model)")
    ap.add_argument("--repeat", type=int, default=2, help="runs per configuration (the best)")
    args = ap.parse_args()
    print(f"{os.cpu_count()} cores; images/s of training steps (global batch), fp32")
    print(f"{'model':<10} {'batch':>5} {'procs x threads':>16} {'img/s':>8} {'vs 1x2':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models:
            batch, steps = MODELS.get(model, (128, 40))
            steps = args.steps or steps
            base = None
            for procs, threads in CONFIGS:
                rate = max(
                    measure(model, batch, steps, procs, threads, Path(tmp) / str(i))
                    for i in range(args.repeat)
                )
                base = base or rate
                print(
                    f"{model:<10} {batch:>5} {f'{procs} x {threads}':>16} {rate:>8,.0f} "
                    f"{rate / base:>6.2f}x",
                    flush=True,
                )


if __name__ == "__main__":
    main()
