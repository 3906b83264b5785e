"""Training throughput of cnnzoo's loop against the book's, measured side by side.

The model is ``resnet18_d2l`` on Fashion-MNIST resized to 96x96 (D2L §8.6).

- baseline, the book's loop: fp32, NCHW, a torchvision ``DataLoader`` over PIL images with
  per-image ``Resize(96)`` + ``ToTensor`` (4 workers, as d2l's ``FashionMNIST`` uses), plain SGD;
- cnnzoo: the in-memory ``BatchLoader`` (batched resize and normalisation) and the trainer's
  step — bf16 autocast where the CPU supports bf16 (fp32 otherwise), channels_last (the
  trainer's choice: always on a CPU).

Both train the same network from the same initial weights with batch 128 for ``--seconds``
each (after warm-up) and print images/s and the ratio. Target: ratio >= 2.

    .venv/bin/python benchmarks/train_throughput.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from PIL import Image

import cnnzoo
from cnnzoo.data import Augment, BatchLoader, load_dataset
from cnnzoo.train.device import autocast_context, pick_channels_last, pick_precision


class PILFashion(torch.utils.data.Dataset):
    """The images as PIL images, as torchvision's FashionMNIST hands them to transforms."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform) -> None:
        self.images, self.labels, self.transform = images.numpy(), labels, transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        return self.transform(Image.fromarray(self.images[i, 0], mode="L")), int(self.labels[i])


def run(step, batches, seconds: float, warmup: int = 3) -> float:
    it = iter(batches)
    for _ in range(warmup):
        step(*next(it))
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        x, y = next(it)
        step(x, y)
        n += len(y)
    return n / (time.perf_counter() - start)


def forever(loader):
    while True:
        yield from loader


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--compile", action="store_true", help="also measure with torch.compile")
    args = ap.parse_args()
    from torchvision import transforms

    ds = load_dataset("fashion-mnist", split="train")
    torch.manual_seed(0)
    init = cnnzoo.create_model("resnet18_d2l").state_dict()

    # --- the book's loop
    model = cnnzoo.create_model("resnet18_d2l")
    model.load_state_dict(init)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    tf = transforms.Compose([transforms.Resize(96), transforms.ToTensor()])
    loader = torch.utils.data.DataLoader(
        PILFashion(ds.images, ds.labels, tf), batch_size=args.batch_size, shuffle=True,
        num_workers=args.workers, persistent_workers=True,
    )  # fmt: skip

    def book_step(x, y):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    model.train()
    book = run(book_step, forever(loader), args.seconds)
    del loader

    # --- cnnzoo
    device = torch.device("cpu")
    precision = pick_precision(device)
    channels_last = pick_channels_last(precision, device=device)  # the trainer's choice
    ours_loader = BatchLoader(
        ds, batch_size=args.batch_size, shuffle=True, seed=0, augment=Augment(resize=96),
        channels_last=channels_last, drop_last=True,
    )  # fmt: skip

    def our_step_for(compile_model: bool):
        """The trainer's step on a fresh copy of the initial weights, optionally compiled."""
        model = cnnzoo.create_model("resnet18_d2l")
        model.load_state_dict(init)
        if channels_last:
            model.to(memory_format=torch.channels_last)
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
        forward = torch.compile(model) if compile_model else model

        def step(x, y):
            with autocast_context(device, precision):
                logits = forward(x)
            loss = F.cross_entropy(logits.float(), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        return step

    ours = run(our_step_for(False), forever(ours_loader), args.seconds)
    # the same step with torch.compile (compilation happens in the warm-up, not timed)
    compiled = run(our_step_for(True), forever(ours_loader), args.seconds) if args.compile else None

    print(f"resnet18_d2l, Fashion-MNIST at 96x96, batch {args.batch_size}, "
          f"{torch.get_num_threads()} threads, {args.seconds:.0f}s per side")  # fmt: skip
    print(f"  book's loop (fp32, NCHW, DataLoader + per-image Resize/ToTensor): {book:8.1f} img/s")
    print(f"  cnnzoo ({precision}{', channels_last' if channels_last else ''}, BatchLoader):"
          f"{'':>13}{ours:8.1f} img/s")  # fmt: skip
    print(f"  ratio: {ours / book:.2f}x  (target >= 2x)")
    if compiled is not None:
        print(f"  cnnzoo with --compile:{'':>44}{compiled:8.1f} img/s")
        print(f"  ratio: {compiled / book:.2f}x")


if __name__ == "__main__":
    main()
