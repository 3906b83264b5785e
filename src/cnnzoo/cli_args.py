"""Argument types for the command line, shared by the sub-commands: numbers checked where they
are parsed, so that a negative, zero, NaN or infinite value is refused with the option's name
(argparse adds it), and ``KEY=VALUE`` options."""

from __future__ import annotations

import argparse
import json
import math

__all__ = ["key_value", "nonneg_float", "nonneg_int", "positive_float", "positive_int"]


def _number(text: str, integer: bool) -> float:
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        kind = "a whole number" if integer else "a number"
        raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def positive_int(text: str) -> int:
    value = int(_number(text, True))
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def nonneg_int(text: str) -> int:
    value = int(_number(text, True))
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


def positive_float(text: str) -> float:
    value = _number(text, False)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {value:g}")
    return value


def nonneg_float(text: str) -> float:
    value = _number(text, False)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value:g}")
    return value


def key_value(text: str) -> tuple[str, object]:
    """``KEY=VALUE`` as ``(KEY, VALUE)``, VALUE parsed as JSON when it is JSON (``3``, ``0.1``,
    ``[8,64]``, ``"fp32"``, ``true``), else kept as the string (``precision=fp32``)."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value
