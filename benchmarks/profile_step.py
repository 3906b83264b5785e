"""Where a training step's time goes: the trainer's own step, under the PyTorch profiler.

Builds MODEL with the ``fast`` recipe on Fashion-MNIST (the trainer exactly as ``cnnzoo train``
builds it: precision, memory format, optimiser, label smoothing), runs ``--warmup`` steps, then
profiles ``--steps`` steps and prints the CPU time per step by kind of operator — convolutions
(forward and backward), batch norm, activations, pooling, linear layers, layout conversions
(copies and reorders between memory formats), the loss, the optimiser — with each kind's share,
the step's achieved GFLOP/s and its share of the machine's peak (``cnnzoo bench``'s: the best of
matrix multiplies and 3×3 convolutions in that precision). ``--top`` lists the costliest
operators themselves.

    .venv/bin/python benchmarks/profile_step.py [--model resnet20] [--batch-size 128]
        [--steps 20] [--top 15]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict

import torch
from torch.profiler import ProfilerActivity, profile

from cnnzoo.bench import machine_peak
from cnnzoo.cost import complexity
from cnnzoo.train import Trainer, recipe_config

#: operator-name fragments -> kind (first match wins; names are aten's, lower-cased)
KINDS = (
    ("convolution_backward", "conv backward"),
    ("conv", "conv forward"),
    ("batch_norm", "batch norm"),
    ("threshold_backward", "activation"),
    ("relu", "activation"),
    ("clamp_min", "activation"),  # an in-place ReLU
    ("sigmoid", "activation"),
    ("tanh", "activation"),
    ("pool", "pooling"),
    ("addmm", "linear"),
    ("aten::mm", "linear"),
    ("aten::bmm", "linear"),
    ("cross_entropy", "loss"),
    ("log_softmax", "loss"),
    ("nll_loss", "loss"),
    ("sgd", "optimiser"),
    ("_foreach", "optimiser"),
    ("copy_", "layout / copies"),
    ("to_dense", "layout / copies"),
    ("reorder", "layout / copies"),
    ("contiguous", "layout / copies"),
    ("clone", "layout / copies"),
    ("add", "adds (residuals, grads)"),
)


def kind_of(name: str) -> str:
    low = name.lower()
    return next((kind for frag, kind in KINDS if frag in low), "other")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="resnet20")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--precision", default="auto")
    ap.add_argument(
        "--channels-last", action=argparse.BooleanOptionalAction,
        help="memory format (default: the trainer's choice, channels_last on a CPU)",
    )  # fmt: skip
    args = ap.parse_args()

    cfg = recipe_config(
        "fast", args.model, data="fashion-mnist", batch_size=args.batch_size,
        precision=args.precision, epochs=1, val_size=0, channels_last=args.channels_last,
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        t = Trainer(cfg, tmp, quiet=True, plots=False)
        batches = iter(t.train_loader)
        for _ in range(args.warmup):
            t.train_step(*next(batches))
        steps = [next(batches) for _ in range(args.steps)]
        # leaf operators only (self time): a kind's time is what its own kernels took
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            t0 = time.perf_counter()
            for x, y in steps:
                loss, _ = t.train_step(x, y)
            loss.item()
            wall = (time.perf_counter() - t0) / args.steps
        input_size = tuple(t.input_size)
        precision, layout = t.precision, "channels_last" if t.channels_last else "NCHW"
    events = prof.key_averages()
    by_kind: dict[str, float] = defaultdict(float)
    for e in events:
        by_kind[kind_of(e.key)] += e.self_cpu_time_total / 1e3 / args.steps  # ms per step
    total = sum(by_kind.values())

    flops = 3 * 2 * complexity(args.model, input_size=input_size).flops * args.batch_size
    achieved = flops / wall / 1e9
    peak = machine_peak(precision, "cpu")
    print(
        f"{args.model} at {'x'.join(map(str, input_size))}, batch {args.batch_size}, "
        f"{precision}, {layout}, {torch.get_num_threads()} threads: {wall * 1e3:.1f} ms per step "
        f"({args.batch_size / wall:,.0f} images/s), {achieved:,.1f} GFLOP/s = "
        f"{achieved / peak.gflops:.0%} of this machine's {precision} peak "
        f"({peak.gflops:,.0f} GFLOP/s, {peak.kernel})"
    )
    print(f"\n{'kind':<24} {'ms/step':>8} {'share':>7}")
    for kind, ms in sorted(by_kind.items(), key=lambda kv: -kv[1]):
        print(f"{kind:<24} {ms:8.2f} {ms / total:7.1%}")
    print(f"{'(profiled self time)':<24} {total:8.2f}  of {wall * 1e3:.2f} ms wall per step")
    if args.top:
        print(f"\nthe {args.top} costliest operators (self CPU time per step):")
        top = sorted(events, key=lambda e: -e.self_cpu_time_total)[: args.top]
        for e in top:
            ms = e.self_cpu_time_total / 1e3 / args.steps
            print(f"  {ms:8.2f} ms  {e.count // args.steps:4d} calls  {kind_of(e.key):<22} {e.key}")


if __name__ == "__main__":
    main()
