"""How many candidate configs per second the design-space sampler draws, fits and costs under
a cost window (the issue asks for at least 10,000/s), for every registered space.

    .venv/bin/python benchmarks/designspace_sampling.py [--n 500] [--seed 0]

Each candidate is drawn from the space, fitted with pycls's width/group rule, costed with the
analytic formula (no network is built) and checked against the window and the networks
already accepted. Two settings: Fashion-MNIST-sized networks (1x28x28, 3 stages, 15M:25M) and
the paper's ImageNet setting (3x224x224, 4 stages, 360M:400M multiply-adds). The rate counts
every candidate drawn, accepted or not; "accepted" is the share that fell in the window.
"""

from __future__ import annotations

import argparse
import platform

import torch

from cnnzoo.designspace import SampleStats, list_spaces, sample_configs

SETTINGS = (
    ("1x28x28", (1, 28, 28), 10, "15M:25M"),
    ("3x224x224", (3, 224, 224), 1000, "360M:400M"),
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=500, help="networks to sample per space")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print(f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads")
    print(f"{'space':<10} {'input':>10} {'window':>10} {'drawn':>8} {'accepted':>9} {'rate/s':>9}")
    worst = float("inf")
    for label, size, classes, window in SETTINGS:
        for space in list_spaces():
            st = SampleStats()
            sample_configs(
                space, args.n, window, input_size=size, num_classes=classes, seed=args.seed,
                stats=st,
            )  # fmt: skip
            worst = min(worst, st.rate)
            print(
                f"{space.name:<10} {label:>10} {window:>10} {st.drawn:>8,} "
                f"{st.accepted / st.drawn:>9.1%} {st.rate:>9,.0f}"
            )
    verdict = "meets" if worst >= 10_000 else "misses"
    print(f"slowest: {worst:,.0f} candidates/s ({verdict} the 10,000/s target)")


if __name__ == "__main__":
    main()
