"""Formatting for people: counts and byte sizes with SI prefixes, text and Markdown tables, and
the ``CxHxW`` input sizes they type. The lowest layer: imports nothing of cnnzoo but its errors.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

from cnnzoo.errors import ConfigError

__all__ = [
    "InputSize",
    "check_input_size",
    "human_bytes",
    "human_count",
    "md_table",
    "parse_input_size",
    "text_table",
]

#: (channels, height, width) of one image.
InputSize = tuple[int, int, int]

_PREFIXES = (("G", 1e9), ("M", 1e6), ("K", 1e3))


# --------------------------------------------------------------------------- numbers


def human_count(n: float, spec: str = ".2f", unit: str = "", sep: str = "") -> str:
    """``n`` with a K, M or G prefix (the scaled number formatted with ``spec``), ``sep`` before
    the prefix and ``unit`` after it: ``human_count(397678568)`` is ``"397.68M"``,
    ``human_count(15e6, ".4g")`` ``"15M"``; below 1000 plainly (``"42"``). G is the largest
    prefix (``"1500.00G"``)."""
    for prefix, scale in _PREFIXES:
        if abs(n) >= scale:
            return f"{n / scale:{spec}}{sep}{prefix}{unit}"
    return f"{n:g}{sep}{unit}"


def human_bytes(n: float) -> str:
    """A byte count in decimal units: ``"512 B"``, ``"1.5 KB"``, ``"26.4 MB"``, ``"1.2 GB"``."""
    return f"{n:.0f} B" if abs(n) < 1000 else human_count(n, ".1f", "B", " ")


# --------------------------------------------------------------------------- tables


def text_table(cols: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> str:
    """A plain-text table: the header, a rule of dashes, one line per row, columns two spaces
    apart; ``right[i]`` aligns column i to the right (numbers), else to the left."""
    widths = [
        max(len(c), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(cols)
    ]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            f"{v:>{w}}" if r else f"{v:<{w}}" for v, w, r in zip(cells, widths, right, strict=True)
        ).rstrip()

    return "\n".join([line(cols), "  ".join("-" * w for w in widths), *map(line, rows)])


def md_table(
    cols: Sequence[str], rows: Sequence[Sequence[object]], right: Sequence[bool] | None = None
) -> str:
    """A Markdown (GitHub) table; ``right[i]`` aligns column i to the right (default: all left).
    A ``|`` inside a cell is escaped."""

    def line(cells: Sequence[object]) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    right = right if right is not None else [False] * len(cols)
    rule = "|" + "|".join("---:" if r else "---" for r in right) + "|"
    return "\n".join([line(cols), rule, *map(line, rows)])


# --------------------------------------------------------------------------- input sizes


def parse_input_size(text: str | Sequence[int]) -> InputSize:
    """``"1x28x28"`` (or a sequence of three ints) → ``(1, 28, 28)``; a clear error otherwise."""
    if isinstance(text, str):
        parts = text.lower().replace("×", "x").split("x")
        try:
            values = [int(p) for p in parts]
        except ValueError:
            values = []
        if len(values) != 3:
            raise ConfigError(
                f"input size {text!r} must be channels x height x width, e.g. 1x28x28 or 3x224x224"
            )
        return check_input_size(values)
    return check_input_size(text)


def check_input_size(size: object) -> InputSize:
    """``size`` as a tuple of three positive ints (channels, height, width), or a clear error."""
    if type(size) is tuple and len(size) == 3:  # the common case, fast: samplers cost millions
        c, h, w = size
        if type(c) is int and type(h) is int and type(w) is int and c >= 1 and h >= 1 and w >= 1:
            return size
    ok = isinstance(size, Sequence) and not isinstance(size, str) and len(size) == 3
    ok = ok and all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1 for v in size
    )
    if not ok:
        raise ConfigError(
            f"input_size must be three positive integers (channels, height, width), got {size!r}"
        )
    return (int(size[0]), int(size[1]), int(size[2]))
