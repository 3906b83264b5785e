"""Data-loading throughput: cnnzoo's in-memory ``BatchLoader`` against a torchvision
``DataLoader`` with per-image transforms doing the same work, measured side by side.

The work: random crop 28 with 2 pixels of zero padding, random horizontal flip, conversion to
float and normalisation, batches of 256 28x28 images (Fashion-MNIST's training set when it is
installed, random images of the same shape otherwise).

- cnnzoo: ``BatchLoader(..., augment=Augment(crop=28, padding=2, hflip=True))``: whole-batch
  tensor operations, each image its own crop and flip.
- torchvision: a map-style dataset over the same uint8 tensors whose ``__getitem__`` applies
  ``v2.RandomCrop(28, padding=2)``, ``v2.RandomHorizontalFlip()``, ``v2.ToDtype(float32,
  scale=True)`` and ``v2.Normalize`` to one image, batched by a ``DataLoader`` (shuffle, batch
  256), with 0 and with ``--workers`` worker processes; the faster counts.

The two run in alternating rounds (``--rounds``, each ``--seconds`` long, after warm-up) so
that a busy machine slows both alike; the medians and their ratio are printed. Targets: cnnzoo
>= 50,000 images/s on 2 cores, and >= 10x torchvision.

OpenMP wait policy: by default libgomp's idle threads spin for a while after each parallel
region. On a machine whose cores other processes also use, those spinning threads take CPU
time from the thread doing the work, and every small parallel operation stalls (measured here
with two busy cores: about 30,000 images/s spinning against 400,000 passive, for the same
code). The benchmark therefore sets ``OMP_WAIT_POLICY=PASSIVE`` (before torch is imported)
unless the environment sets it already; ``--omp-wait active`` measures the default. Both
loaders run in the same process under the same policy.

    .venv/bin/python benchmarks/loader_throughput.py [--threads 2] [--seconds 3] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable, Iterator

BATCH = 256


def data():
    import torch

    from cnnzoo.data import DataError, ImageDataset, load_dataset

    try:
        ds = load_dataset("fashion-mnist", "train", download=False)
        return ds, f"Fashion-MNIST train ({len(ds):,} images 1x28x28)"
    except DataError:
        g = torch.Generator().manual_seed(0)
        ds = ImageDataset(
            torch.randint(0, 256, (60_000, 1, 28, 28), dtype=torch.uint8, generator=g),
            torch.randint(0, 10, (60_000,), generator=g),
            [str(i) for i in range(10)],
            (0.286,),
            (0.353,),
            name="random",
        )
        return ds, "random 28x28 images (Fashion-MNIST is not installed), 60,000"


class PerImage:
    """The usual way: a map-style dataset passing one image at a time through a transform
    pipeline (a plain class: ``DataLoader`` only needs ``__getitem__`` and ``__len__``)."""

    def __init__(self, ds) -> None:
        import torch
        from torchvision.transforms import v2

        self.images, self.labels = ds.images, ds.labels
        self.transform = v2.Compose(
            [
                v2.RandomCrop(28, padding=2),
                v2.RandomHorizontalFlip(),
                v2.ToDtype(torch.float32, scale=True),
                v2.Normalize(ds.mean, ds.std),
            ]
        )

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        return self.transform(self.images[i]), self.labels[i]


def rate(make_iter: Callable[[], Iterator], seconds: float) -> float:
    """Images per second drawn from fresh epochs of ``make_iter`` for ``seconds``."""
    it = make_iter()
    for _ in range(3):  # warm-up (and worker start-up)
        next(it)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        try:
            x, _ = next(it)
        except StopIteration:
            it = make_iter()
            continue
        n += len(x)
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    ap.add_argument("--seconds", type=float, default=3.0, help="length of one timed run")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds (median counts)")
    ap.add_argument("--workers", type=int, default=2, help="DataLoader workers to try besides 0")
    ap.add_argument(
        "--omp-wait",
        choices=("passive", "active"),
        help="OpenMP wait policy (default: $OMP_WAIT_POLICY if set, else passive; see above)",
    )
    args = ap.parse_args()
    if args.omp_wait:
        os.environ["OMP_WAIT_POLICY"] = args.omp_wait.upper()
    else:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch  # only now: libgomp reads OMP_WAIT_POLICY when torch loads it
    from torch.utils.data import DataLoader

    from cnnzoo.data import Augment, BatchLoader

    torch.set_num_threads(args.threads)
    ds, what = data()

    ours = BatchLoader(
        ds, BATCH, shuffle=True, seed=0, drop_last=True,
        augment=Augment(crop=28, padding=2, hflip=True),
    )  # fmt: skip
    baselines = {
        f"torchvision DataLoader, {w} workers": DataLoader(
            PerImage(ds),
            batch_size=BATCH,
            shuffle=True,
            drop_last=True,
            num_workers=w,
            persistent_workers=w > 0,
        )
        for w in sorted({0, args.workers})
    }
    results: dict[str, list[float]] = {"cnnzoo BatchLoader": []} | {k: [] for k in baselines}
    for _ in range(args.rounds):
        results["cnnzoo BatchLoader"].append(rate(lambda: iter(ours), args.seconds))
        for name, loader in baselines.items():
            results[name].append(rate(lambda loader=loader: iter(loader), args.seconds))

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{what}, batch {BATCH}: random crop 28 (pad 2) + flip + normalise")
    print(
        f"{args.threads} torch threads, {os.cpu_count()} CPUs, load average {load:.1f}, "
        f"OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}; "
        f"median of {args.rounds} alternating runs of {args.seconds:g} s\n"
    )
    width = max(map(len, results))
    medians = {k: statistics.median(v) for k, v in results.items()}
    for name, values in results.items():
        spread = ", ".join(f"{v:,.0f}" for v in values)
        print(f"  {name:<{width}}  {medians[name]:>10,.0f} images/s   ({spread})")
    best = max((k for k in baselines), key=medians.__getitem__)
    ratio = medians["cnnzoo BatchLoader"] / medians[best]
    print(f"\n  ratio cnnzoo / best torchvision ({best.split(', ')[1]}): {ratio:.1f}x")
    ok_rate = medians["cnnzoo BatchLoader"] >= 50_000
    print(
        f"  targets: >= 50,000 images/s {'met' if ok_rate else 'NOT met'}; "
        f">= 10x torchvision {'met' if ratio >= 10 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
