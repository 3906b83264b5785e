"""How many AnyNet configs per second the analytic cost formula handles, against the measured
path (build the network on the meta device and run one forward pass with hooks), both run on
the same configs in this process.

    .venv/bin/python benchmarks/complexity_rate.py [--configs 20000] [--measured 40] [--seed 0]

A design-space sampler filters millions of candidate configs by cost, so the formula has to
be cheap: the issue asks for at least 10,000 configs per second.
"""

from __future__ import annotations

import argparse
import random
import time

from cnnzoo.cost import anynet_complexity, complexity
from cnnzoo.models.anynet_config import AnyNetConfig, StageConfig


def random_config(rng: random.Random) -> AnyNetConfig:
    """A config from the AnyNetX space of the paper (4 stages, d <= 16, w <= 1024, b in {1,2,4},
    g in {1,...,32}), fitted with pycls's rule; Y (SE 0.25) half the time."""
    stages = tuple(
        StageConfig(
            depth=rng.randint(1, 16),
            width=8 * rng.randint(1, 128),
            stride=2,
            bottleneck_ratio=rng.choice([1.0, 2.0, 4.0]),
            group_width=rng.choice([1, 2, 4, 8, 16, 32]),
        ).adjusted()
        for _ in range(4)
    )
    return AnyNetConfig(32, stages, se_ratio=rng.choice([0.0, 0.25]))


def rate(fn, items, min_seconds: float) -> tuple[float, int]:
    """Items per second of ``fn`` over ``items``, repeated for at least ``min_seconds``."""
    done, start = 0, time.perf_counter()
    while True:
        for item in items:
            fn(item)
        done += len(items)
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return done / elapsed, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=int, default=20_000, help="configs for the formula")
    parser.add_argument("--measured", type=int, default=40, help="configs for the measured path")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    configs = [random_config(rng) for _ in range(args.configs)]
    few = configs[: args.measured]

    def measured(c: AnyNetConfig):
        return complexity(c, method="measured")

    measured(few[0])  # warm-up: the first meta forward pass loads lazily imported code
    measured_rate, n_measured = rate(measured, few, 2.0)
    analytic_rate, n_analytic = rate(anynet_complexity, configs, 2.0)
    mismatches = sum(anynet_complexity(c) != measured(c) for c in few)
    mean_gf = sum(anynet_complexity(c).flops for c in few) / len(few) / 1e9

    print(f"AnyNet configs: 4 stages, mean {mean_gf:.2f} GF at 3x224x224 (first {len(few)})")
    print(f"analytic : {analytic_rate:12,.0f} configs/s  ({n_analytic:,} evaluated)")
    print(f"measured : {measured_rate:12,.1f} configs/s  ({n_measured:,} evaluated, meta device)")
    print(f"ratio    : {analytic_rate / measured_rate:12,.0f}x  analytic / measured")
    print(f"agreement: {len(few) - mismatches}/{len(few)} configs identical in both paths")
    print(f"target   : >= 10,000 configs/s -> {'met' if analytic_rate >= 10_000 else 'NOT met'}")


if __name__ == "__main__":
    main()
