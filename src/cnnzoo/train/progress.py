"""A small progress bar for the terminal: loss, accuracy, images/s and ETA on one line."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _fmt_time(seconds: float) -> str:
    seconds = max(0, int(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class Progress:
    """Redraws one line per update (at most ``refresh`` times a second) when the stream is a
    terminal; prints nothing in between otherwise, so logs stay readable."""

    def __init__(
        self, total: int, desc: str, enabled: bool = True, stream: TextIO | None = None,
        refresh: float = 4.0,
    ) -> None:  # fmt: skip
        self.total, self.desc = total, desc
        self.stream = stream or sys.stderr
        self.enabled = enabled and self.stream.isatty()
        self.start = time.perf_counter()
        self.last_draw = 0.0
        self.min_interval = 1.0 / refresh

    def update(self, done: int, images: int, **values: float) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if done < self.total and now - self.last_draw < self.min_interval:
            return
        self.last_draw = now
        elapsed = now - self.start
        rate = images / elapsed if elapsed > 0 else 0.0
        eta = (self.total - done) * elapsed / done if done else 0.0
        width = 24
        filled = int(width * done / max(1, self.total))
        bar = "█" * filled + "·" * (width - filled)
        vals = "  ".join(
            f"{k} {v:.4f}" if k == "loss" else f"{k} {v:.3f}" for k, v in values.items()
        )
        line = (
            f"\r{self.desc} {bar} {done}/{self.total}  {vals}  {rate:,.0f} img/s  "
            f"{_fmt_time(elapsed)}<{_fmt_time(eta)}"
        )
        self.stream.write(line[:200] + "\033[K")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r\033[K")
            self.stream.flush()
