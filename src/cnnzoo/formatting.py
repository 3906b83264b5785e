"""Plain-text output shared by the library and the command line (no torch needed)."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["text_table"]


def text_table(cols: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> str:
    """A plain-text table: a header, a rule of dashes, one line per row; ``right`` aligns each
    column right (numbers) or left."""
    widths = [
        max(len(c), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(cols)
    ]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            f"{v:>{w}}" if r else f"{v:<{w}}" for v, w, r in zip(cells, widths, right, strict=True)
        ).rstrip()

    return "\n".join([line(cols), "  ".join("-" * w for w in widths), *map(line, rows)])
