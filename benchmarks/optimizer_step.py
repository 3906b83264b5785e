"""The optimizer step on a CPU: PyTorch's per-tensor loop vs its fused kernel, side by side.

For networks with big fully connected layers (AlexNet 61M parameters, VGG 130M) the weight
update costs as much as the forward and backward passes of a small batch; the trainer uses the
fused kernel. Prints milliseconds per step and the speed-up, for SGD with Nesterov momentum and
weight decay (the ``fast`` recipe) and AdamW.

    .venv/bin/python benchmarks/optimizer_step.py [--models alexnet vgg11 resnet20]
"""

from __future__ import annotations

import argparse
import time

import torch

import cnnzoo
from cnnzoo.train.optim import param_groups


def time_step(opt: torch.optim.Optimizer, repeats: int) -> float:
    opt.step()  # creates the state
    t0 = time.perf_counter()
    for _ in range(repeats):
        opt.step()
    return (time.perf_counter() - t0) / repeats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+", default=["alexnet", "vgg11", "resnet20"])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    print(f"{torch.get_num_threads()} threads, torch {torch.__version__}")
    print(f"{'model':<10} {'params':>8} {'optimizer':<9} {'loop ms':>8} {'fused ms':>9} speed-up")
    for name in args.models:
        model = cnnzoo.create_model(name, num_classes=10, in_channels=1)
        for p in model.parameters():
            p.grad = torch.randn_like(p)
        n = sum(p.numel() for p in model.parameters())
        for opt_name in ("sgd", "adamw"):
            ms = {}
            for fused in (False, True):
                groups = param_groups(model, 5e-4)
                if opt_name == "sgd":
                    opt = torch.optim.SGD(
                        groups, lr=0.01, momentum=0.9, nesterov=True, fused=fused,
                        foreach=False if not fused else None,
                    )  # fmt: skip
                else:
                    opt = torch.optim.AdamW(
                        groups, lr=1e-3, fused=fused, foreach=False if not fused else None
                    )
                ms[fused] = 1000 * time_step(opt, args.repeats)
            print(
                f"{name:<10} {n / 1e6:>7.1f}M {opt_name:<9} {ms[False]:>8.1f} {ms[True]:>9.1f} "
                f"{ms[False] / ms[True]:>7.1f}x"
            )


if __name__ == "__main__":
    main()
