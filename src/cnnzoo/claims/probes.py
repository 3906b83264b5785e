"""Measurements a claim takes besides training: timings, memory, gradients, shifted images.

Each probe takes plain data (JSON-able ``args``) and returns plain data, so that it runs the
same in this process, in a local worker or as a Ray task. Timings (``train_speed``) are
exclusive jobs: the runner runs them alone, after the trainings, so that nothing else competes
for the cores.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from cnnzoo.errors import ConfigError
from cnnzoo.models import create_model

__all__ = ["PROBES", "run_probe", "saved_activation_bytes"]


def _build(spec: dict, num_classes: int, in_channels: int) -> nn.Module:
    return create_model(
        spec["model"], num_classes=num_classes, in_channels=in_channels,
        **dict(spec.get("options") or {}),
    )  # fmt: skip


def saved_activation_bytes(model: nn.Module, x: torch.Tensor) -> int:
    """Bytes of the tensors autograd keeps for the backward pass of one forward pass (the
    memory training needs besides the weights), counted once per storage."""
    seen: dict[tuple, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        if t.device.type != "meta":
            st = t.untyped_storage()
            seen[(st.data_ptr(), t.device.type)] = st.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(x)
    return int(sum(seen.values()))


def _cost(spec: dict, size: tuple, classes: int) -> tuple[int, int]:
    from cnnzoo.cost import complexity

    with torch.device("meta"):
        net = _build(spec, classes, size[0])
    c = complexity(net, size)
    return c.params, c.flops


def _train_step(spec: dict, dev: torch.device, prec: str, size: tuple, batch: int,
                classes: int) -> tuple[Callable[[], None], float]:  # fmt: skip
    """A training step of the variant on random data, and the activation bytes it keeps per
    image for the backward pass."""
    from cnnzoo.train.device import autocast_context

    torch.manual_seed(0)
    model = _build(spec, classes, size[0]).to(dev)
    x = torch.randn(batch, *size, device=dev)
    y = torch.randint(0, classes, (batch,), device=dev)
    if prec != "fp32":
        model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    model.train()
    saved = saved_activation_bytes(model, x[:8]) / 8
    opt = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)

    def step() -> None:
        with autocast_context(dev, prec):
            loss = F.cross_entropy(model(x).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step, saved


def train_speed(args: dict) -> dict:
    """Training-step images/s of each variant on the CPU at each thread count, ``repeats``
    times, interleaved (variant and thread count change every measurement, so that a slow
    moment of the machine hits all of them alike) — and on the GPU too (key ``"cuda"``) when
    ``args["gpu"]`` and there is one; with each variant's multiply-adds, parameters and the
    activation bytes one training step keeps per image."""
    from cnnzoo.bench import seconds_per_call
    from cnnzoo.train.device import pick_precision

    cpu = torch.device("cpu")
    prec = pick_precision(cpu, args.get("precision", "auto"))
    size = tuple(int(v) for v in args.get("input_size", (1, 28, 28)))
    batch = int(args.get("batch_size", 64))
    classes = int(args.get("num_classes", 10))
    thread_counts = [int(t) for t in args.get("threads", [torch.get_num_threads()])]
    repeats = int(args.get("repeats", 3))
    min_time = float(args.get("min_time", 1.0))
    min_iters = int(args.get("min_iters", 3))  # timed steps per measurement, at least
    variants: dict[str, dict] = {}
    steps: dict[str, Callable[[], None]] = {}
    for spec in args["variants"]:
        name = spec["name"]
        steps[name], saved = _train_step(spec, cpu, prec, size, batch, classes)
        params, flops = _cost(spec, size, classes)
        variants[name] = {
            "mult_adds": flops,
            "params": params,
            "saved_bytes_per_image": saved,
            "images_per_s": {str(t): [] for t in thread_counts},
        }
    saved_threads = torch.get_num_threads()
    try:
        for _ in range(repeats):
            for t in thread_counts:
                torch.set_num_threads(t)
                for name, step in steps.items():
                    seconds = seconds_per_call(step, cpu, min_time, min_iters)
                    variants[name]["images_per_s"][str(t)].append(batch / seconds)
    finally:
        torch.set_num_threads(saved_threads)
    out = {
        "variants": variants,
        "device": "cpu",
        "precision": prec,
        "batch_size": batch,
        "input_size": list(size),
        "machine_threads": saved_threads,
    }
    if args.get("gpu") and torch.cuda.is_available():
        gpu = torch.device("cuda")
        gprec = pick_precision(gpu, "auto")
        for spec in args["variants"]:
            step, _ = _train_step(spec, gpu, gprec, size, batch, classes)
            ips = [batch / seconds_per_call(step, gpu, min_time, min_iters) for _ in range(repeats)]
            variants[spec["name"]]["images_per_s"]["cuda"] = ips
        out["gpu"] = {"name": torch.cuda.get_device_name(gpu), "precision": gprec}
    return out


def gradient_norms(args: dict) -> dict:
    """Per-layer gradient norms of the weight layers (input to output) on one batch of real
    images, at initialisation and after ``steps`` SGD steps — no trainer, no schedule."""
    from cnnzoo.data import BatchLoader, load_dataset

    torch.manual_seed(int(args.get("seed", 0)))
    ds = load_dataset(args.get("data", "fashion-mnist"), "train", args.get("data_dir"),
                      progress=False)  # fmt: skip
    batch = int(args.get("batch_size", 128))
    loader = BatchLoader(ds, batch, shuffle=True, seed=int(args.get("seed", 0)), drop_last=True)
    model = _build(args, len(ds.classes), ds.images.shape[1])
    model.train()
    layers = [m for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    opt = torch.optim.SGD(model.parameters(), lr=float(args.get("lr", 0.01)), momentum=0.9)
    it = iter(loader)

    def norms_on(x: torch.Tensor, y: torch.Tensor) -> tuple[list[float], float]:
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        return [float(m.weight.grad.norm()) for m in layers], float(loss.detach())

    x0, y0 = next(it)
    at_init, loss0 = norms_on(x0, y0)
    losses = [loss0]
    for _ in range(int(args.get("steps", 20))):
        try:
            x, y = next(it)
        except StopIteration:
            it = iter(loader)
            x, y = next(it)
        _, loss = norms_on(x, y)
        opt.step()
        losses.append(loss)
    after, _ = norms_on(x0, y0)
    return {
        "at_init": at_init,
        "after": after,
        "losses": losses,
        "layers": len(layers),
        "nonfinite": not all(math.isfinite(v) for v in at_init + after),
    }


def shifted_accuracy(args: dict, run_dir: Path) -> dict:
    """Test accuracy of a trained run on test images shifted by ``s`` pixels, for each ``s``
    in ``shifts``: the mean over the four directions (up, down, left, right), the uncovered
    border filled with black (Fashion-MNIST's background). Shifts are in the network's input
    pixels (after any resize)."""
    from cnnzoo.data import load_dataset
    from cnnzoo.train.inference import load_trained_model

    model, meta = load_trained_model(run_dir, which="last")
    import json

    config = json.loads((Path(run_dir) / "config.json").read_text())
    ds = load_dataset(meta["data"], "test", config.get("data_dir"), progress=False)
    n = min(len(ds), int(args.get("test_images", len(ds))))
    images, labels = ds.images[:n].float() / 255.0, ds.labels[:n]
    _, h, w = meta["input_size"]
    if images.shape[-2:] != (h, w):
        images = F.interpolate(images, size=(h, w), mode="bilinear", antialias=True)
    mean = torch.tensor(meta["mean"]).view(1, -1, 1, 1)
    std = torch.tensor(meta["std"]).view(1, -1, 1, 1)

    def shift(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
        out = torch.zeros_like(x)
        ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
        xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
        out[..., yd, xd] = x[..., ys, xs]
        return out

    @torch.no_grad()
    def accuracy(x: torch.Tensor) -> float:
        correct = 0
        for i in range(0, len(x), 500):
            logits = model((x[i : i + 500] - mean) / std)
            correct += int((logits.argmax(1) == labels[i : i + 500]).sum())
        return correct / len(x)

    out = {}
    for s in args.get("shifts", [0, 2, 4]):
        s = int(s)
        if s == 0:
            out[str(s)] = accuracy(images)
            continue
        dirs = [(s, 0), (-s, 0), (0, s), (0, -s)]
        out[str(s)] = sum(accuracy(shift(images, dy, dx)) for dy, dx in dirs) / len(dirs)
    return {"accuracy": out, "test_images": n}


#: probe name -> (function, whether it takes the trained run's directory)
PROBES: dict[str, tuple[Callable, bool]] = {
    "train_speed": (train_speed, False),
    "gradient_norms": (gradient_norms, False),
    "shifted_accuracy": (shifted_accuracy, True),
}


def run_probe(name: str, args: dict, run_dir: str | Path | None = None) -> dict:
    if name not in PROBES:
        raise ConfigError(f"unknown probe {name!r}; known: {', '.join(PROBES)}")
    fn, needs_run = PROBES[name]
    t0 = time.perf_counter()
    if needs_run:
        if run_dir is None:
            raise ValueError(f"probe {name!r} measures a trained run and needs its directory")
        out = fn(args, Path(run_dir))
    else:
        out = fn(args)
    out["probe_seconds"] = time.perf_counter() - t0
    return out
