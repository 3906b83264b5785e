"""Where and in what precision a network runs: the device, autocast, the memory layout."""

from __future__ import annotations

import contextlib

import torch

from cnnzoo.errors import ConfigError

__all__ = [
    "autocast_context",
    "cpu_supports_bf16",
    "pick_channels_last",
    "pick_device",
    "pick_precision",
]


def pick_device(device: str = "auto") -> torch.device:
    """``auto``: the first CUDA GPU when there is one, else the CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            f"device {device!r} asked for, but no CUDA GPU is available; use --device cpu"
        )
    return dev


def cpu_supports_bf16() -> bool:
    """True on CPUs with native bfloat16 arithmetic (AVX-512 BF16 or AMX)."""
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:  # pragma: no cover - older torch
        return False


def pick_precision(device: torch.device, precision: str = "auto") -> str:
    """``auto``: bf16 on CPUs that have it and on GPUs that support it, fp16 on older GPUs,
    fp32 otherwise."""
    if precision != "auto":
        if precision == "bf16" and device.type == "cpu" and not cpu_supports_bf16():
            raise ConfigError("this CPU has no bfloat16 support; use --precision fp32")
        if precision == "fp16" and device.type == "cpu":
            raise ConfigError("fp16 autocast is for GPUs; use bf16 or fp32 on a CPU")
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if device.type == "cpu":
        return "bf16" if cpu_supports_bf16() else "fp32"
    return "fp32"


def pick_channels_last(
    precision: str, channels_last: bool | None = None, device: torch.device | None = None
) -> bool:
    """``None``: channels_last on a CPU in every precision (oneDNN's convolutions are faster
    in it: fp32 training steps of ResNet-20 and SpeedNet on an AVX2 CPU 1.2x and 1.35x, see
    benchmarks/RESULTS.md) and on a GPU under autocast (tensor cores); the default NCHW
    layout for fp32 on a GPU."""
    if channels_last is not None:
        return channels_last
    return (device is not None and device.type == "cpu") or precision != "fp32"


def autocast_context(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """Autocast to ``precision`` (``bf16`` or ``fp16``) on ``device``; nothing for ``fp32``."""
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)
