"""How fast a model trains and infers on this machine, and how close that is to the machine's
matrix-multiply peak — per precision and memory format."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from cnnzoo.models import create_model
from cnnzoo.train.device import autocast_context, cpu_supports_bf16, pick_device

__all__ = ["BenchRow", "bench_model", "matmul_peak", "seconds_per_call"]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def seconds_per_call(fn, device: torch.device, min_time: float, min_iters: int = 3) -> float:
    """Seconds per call: one warm-up call, then calls until ``min_time`` has passed."""
    fn()
    _sync(device)
    n, start = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        _sync(device)
        elapsed = time.perf_counter() - start
        if n >= min_iters and elapsed >= min_time:
            return elapsed / n


def matmul_peak(
    precision: str, device: torch.device | str = "cpu", n: int = 2048, min_time: float = 0.5
) -> float:
    """Measured dense matrix-multiply throughput in GFLOP/s (2·n³ per product)."""
    device = torch.device(device)
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    seconds = seconds_per_call(lambda: torch.mm(a, b), device, min_time)
    return 2 * n**3 / seconds / 1e9


@dataclass
class BenchRow:
    precision: str
    memory_format: str
    train_images_per_s: float
    infer_images_per_s: float
    train_gflops: float  # achieved, counting 2 FLOPs per multiply-add and backward as 2x forward
    infer_gflops: float
    peak_gflops: float
    train_util: float
    infer_util: float

    def to_dict(self) -> dict:
        return asdict(self)


def bench_model(
    name: str,
    input_size: tuple[int, int, int] | None = None,
    batch_size: int = 64,
    num_classes: int | None = None,
    device: str = "auto",
    precisions: tuple[str, ...] | None = None,
    min_time: float = 1.0,
) -> tuple[list[BenchRow], dict]:
    """Training and inference images/s for each precision and memory format."""
    from cnnzoo.cost import complexity
    from cnnzoo.models import model_info

    info = model_info(name)
    c, h, w = input_size or info.input_size
    dev = pick_device(device)
    if precisions is None:
        precisions = ("fp32",)
        if (dev.type == "cpu" and cpu_supports_bf16()) or (
            dev.type == "cuda" and torch.cuda.is_bf16_supported()
        ):
            precisions += ("bf16",)
    cost = complexity(name, input_size=(c, h, w), num_classes=num_classes)
    flops_per_image = 2 * cost.flops  # multiply-adds -> FLOPs
    rows = []
    for prec in precisions:
        peak = matmul_peak(prec, dev)
        for fmt in ("contiguous", "channels_last"):
            torch.manual_seed(0)
            model = create_model(name, num_classes=num_classes, in_channels=c).to(dev)
            mf = torch.channels_last if fmt == "channels_last" else torch.contiguous_format
            model.to(memory_format=mf)
            x = torch.randn(batch_size, c, h, w, device=dev).to(memory_format=mf)
            y = torch.randint(0, model.num_classes, (batch_size,), device=dev)
            opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)

            def train_step(model=model, x=x, y=y, opt=opt, prec=prec) -> None:
                with autocast_context(dev, prec):
                    loss = F.cross_entropy(model(x).float(), y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()

            def infer_step(model=model, x=x, prec=prec) -> None:
                with torch.no_grad(), autocast_context(dev, prec):
                    model(x)

            model.train()
            t_train = seconds_per_call(train_step, dev, min_time)
            model.eval()
            t_infer = seconds_per_call(infer_step, dev, min_time)
            train_ips, infer_ips = batch_size / t_train, batch_size / t_infer
            train_gf = 3 * flops_per_image * train_ips / 1e9
            infer_gf = flops_per_image * infer_ips / 1e9
            rows.append(
                BenchRow(
                    prec,
                    fmt,
                    train_ips,
                    infer_ips,
                    train_gf,
                    infer_gf,
                    peak,
                    train_gf / peak,
                    infer_gf / peak,
                )
            )
    meta = {
        "model": name,
        "input": [c, h, w],
        "batch_size": batch_size,
        "device": str(dev),
        "threads": torch.get_num_threads(),
        "mult_adds": cost.flops,
        "params": cost.params,
    }
    return rows, meta
