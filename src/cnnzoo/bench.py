"""How fast a model trains and infers on this machine, and how close that is to the machine's
peak — the best of dense matrix multiplies and 3×3 convolutions in both memory layouts — per
precision and memory format."""

from __future__ import annotations

import functools
import platform
import time
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from cnnzoo.models import create_model
from cnnzoo.train.device import autocast_context, cpu_supports_bf16, pick_device

__all__ = [
    "BenchRow", "Peak", "bench_model", "conv_flops", "conv_throughput", "cpu_name",
    "machine_peak", "matmul_peak", "seconds_per_call",
]  # fmt: skip


def cpu_name() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux), for records of measurements."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


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
    dtype = _DTYPES[precision]
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    seconds = seconds_per_call(lambda: torch.mm(a, b), device, min_time)
    return 2 * n**3 / seconds / 1e9


def conv_throughput(
    precision: str,
    device: torch.device | str = "cpu",
    channels: int = 64,
    size: int = 56,
    batch: int = 8,
    memory_format: str = "channels_last",
    min_time: float = 0.5,
) -> float:
    """Measured 3×3 convolution throughput (``channels`` in and out, ``size``×``size`` maps,
    padding 1, forward, no bias) in GFLOP/s: 2·batch·channels²·9·size² per call."""
    device = torch.device(device)
    mf = torch.channels_last if memory_format == "channels_last" else torch.contiguous_format
    kw = {"device": device, "dtype": _DTYPES[precision]}
    x = torch.randn(batch, channels, size, size, **kw).to(memory_format=mf)
    w = torch.randn(channels, channels, 3, 3, **kw).to(memory_format=mf)
    with torch.no_grad():
        seconds = seconds_per_call(lambda: F.conv2d(x, w, padding=1), device, min_time)
    return conv_flops(batch, channels, size) / seconds / 1e9


def conv_flops(batch: int, channels: int, size: int) -> int:
    """FLOPs of one :func:`conv_throughput` call: 2 per multiply-add."""
    return 2 * batch * channels**2 * 9 * size**2


#: the convolutions tried for the peak: ResNet-like stages, the same arithmetic in each
PEAK_CONVS = ((64, 56), (128, 28), (256, 14))


@dataclass(frozen=True)
class Peak:
    """The best GFLOP/s measured on this machine in one precision (``gflops``), the kernel that
    reached it (``kernel``) and every kernel's figure (``probes``)."""

    gflops: float
    kernel: str
    probes: dict[str, float]


@functools.lru_cache(maxsize=16)
def machine_peak(precision: str, device: torch.device | str = "cpu", min_time: float = 0.5) -> Peak:
    """The machine's peak for ``precision``: the best of dense matrix multiplies (n = 1024 and
    2048) and 3×3 convolutions (:data:`PEAK_CONVS`) in both memory layouts. A dense matrix
    multiply alone is not it: oneDNN's convolutions beat PyTorch's GEMM on some CPUs, and a
    network's utilisation against a GEMM peak then exceeds 100%. Measured once per process
    (and device, precision and ``min_time``)."""
    probes = {f"matmul {n}x{n}": matmul_peak(precision, device, n, min_time) for n in (1024, 2048)}
    for channels, size in PEAK_CONVS:
        for fmt in ("contiguous", "channels_last"):
            name = f"conv3x3 {channels}ch {size}x{size} {fmt}"
            probes[name] = conv_throughput(
                precision, device, channels, size, memory_format=fmt, min_time=min_time
            )
    best = max(probes, key=probes.__getitem__)
    return Peak(probes[best], best, probes)


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
    peak_kernel: str = ""  # what reached the peak (a probe, or this model itself)

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
    options: dict | None = None,
) -> tuple[list[BenchRow], dict]:
    """Training and inference images/s for each precision and memory format (``options``:
    the model's builder options)."""
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
    options = options or {}
    cost = complexity(name, input_size=(c, h, w), num_classes=num_classes, **options)
    flops_per_image = 2 * cost.flops  # multiply-adds -> FLOPs
    rows = []
    peaks = {}
    for prec in precisions:
        peak = machine_peak(prec, str(dev), min(min_time, 0.5))
        peaks[prec] = peak.probes
        measured = []
        for fmt in ("contiguous", "channels_last"):
            torch.manual_seed(0)
            model = create_model(name, num_classes=num_classes, in_channels=c, **options).to(dev)
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
            measured.append((fmt, train_ips, infer_ips, train_gf, infer_gf))
        # the peak is the best this machine was seen doing: where the model itself beats every
        # probe (a shape oneDNN likes better), the model's own figure is the peak
        best, kernel = peak.gflops, peak.kernel
        for fmt, _, _, train_gf, infer_gf in measured:
            for what, gf in (("training", train_gf), ("inference", infer_gf)):
                if gf > best:
                    best, kernel = gf, f"{name} {what} itself ({fmt})"
        for fmt, train_ips, infer_ips, train_gf, infer_gf in measured:
            rows.append(
                BenchRow(
                    prec, fmt, train_ips, infer_ips, train_gf, infer_gf, best,
                    train_gf / best, infer_gf / best, kernel,
                )
            )  # fmt: skip
    meta = {
        "model": name,
        "options": options,
        "input": [c, h, w],
        "batch_size": batch_size,
        "device": str(dev),
        "threads": torch.get_num_threads(),
        "mult_adds": cost.flops,
        "params": cost.params,
        "peak_probes": peaks,
    }
    return rows, meta
