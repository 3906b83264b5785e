"""OpenMP wait policy: do PyTorch's idle worker threads spinning or sleeping train faster?

PyTorch's CPU kernels run on OpenMP threads (GNU libgomp in the PyPI wheels). Between two
parallel regions an idle thread spins for a while (libgomp's default: ``GOMP_SPINCOUNT``
300,000 iterations), or spins for good (``OMP_WAIT_POLICY=ACTIVE``), or sleeps at once
(``PASSIVE``). Spinning answers the next region sooner; sleeping leaves the core to the main
thread's Python (the loader, the optimiser's bookkeeping). This runs the same short
``cnnzoo train`` in fresh processes under each policy, interleaved, and prints the training
images/s and the whole process's wall time, as ratios against libgomp's default.

    .venv/bin/python benchmarks/omp_policy.py [--model resnet20] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

POLICIES = ("default", "PASSIVE", "ACTIVE")


def run(model: str, policy: str, images: int) -> tuple[float, float]:
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    if policy != "default":
        env["OMP_WAIT_POLICY"] = policy
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        cmd = [
            sys.executable, "-m", "cnnzoo", "train", model, "--epochs", "1", "--train-subset",
            str(images), "--val-size", "0", "--test-subset", "512", "--out", str(out), "--quiet",
        ]  # fmt: skip
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        wall = time.perf_counter() - t0
        return json.loads((out / "eval.json").read_text())["images_per_s"], wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="resnet20")
    ap.add_argument("--images", type=int, default=12_800, help="training images per run")
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    got: dict[str, list[tuple[float, float]]] = {p: [] for p in POLICIES}
    for i in range(args.repeats):
        for policy in POLICIES:
            ips, wall = run(args.model, policy, args.images)
            got[policy].append((ips, wall))
            print(f"run {i + 1} {policy:>8}: {ips:,.0f} img/s, process {wall:.1f} s", flush=True)
    base_ips = statistics.median(x[0] for x in got["default"])
    base_wall = statistics.median(x[1] for x in got["default"])
    print(f"\n{args.model}, {args.images:,} images, {os.cpu_count()} cores; median of "
          f"{args.repeats}:")  # fmt: skip
    for policy in POLICIES:
        ips = statistics.median(x[0] for x in got[policy])
        wall = statistics.median(x[1] for x in got[policy])
        print(f"  {policy:>8}: {ips:,.0f} img/s ({ips / base_ips:.3f}x), process {wall:.1f} s "
              f"({wall / base_wall:.3f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
