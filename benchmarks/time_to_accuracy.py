"""Time to accuracy: the ``fast`` recipe on Fashion-MNIST on this machine.

Trains MODEL with ``--recipe fast`` and reports the held-out accuracy after every epoch against
the wall time since the start of the process (data loading, evaluation and checkpoints
included), the final test accuracy, and whether the target — 93.0% test accuracy within 10
minutes of wall time on 2 CPU cores — was met.

    .venv/bin/python benchmarks/time_to_accuracy.py [--model resnet20] [--epochs 9]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

START = time.perf_counter()

import torch  # noqa: E402

from cnnzoo.train import recipe_config, train  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="resnet20")
    ap.add_argument("--epochs", type=int, default=9)
    ap.add_argument("--out", type=Path, help="keep the run here (default: a temporary folder)")
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp()) / "run"
    config = recipe_config("fast", args.model, epochs=args.epochs)
    result = train(config, out, quiet=False)
    wall = time.perf_counter() - START
    history = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    print()
    print(f"model {args.model}, recipe fast ({args.epochs} epochs), {torch.get_num_threads()} "
          f"threads, {result['precision']}")  # fmt: skip
    print(f"{'epoch':>5}  {'train time':>10}  {'val acc':>7}")
    for h in history:
        print(f"{h['epoch']:>5}  {h['elapsed']:>9.0f}s  {h['val_acc']:>7.4f}")
    print(f"test accuracy {result['test_acc']:.4f} (best-validation checkpoint)")
    print(f"wall time {wall:.0f}s for the whole run (target: >= 0.930 within 600 s)")
    met = result["test_acc"] >= 0.93 and wall <= 600
    print("target met" if met else "target NOT met")
    if args.out is None:
        shutil.rmtree(out.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
