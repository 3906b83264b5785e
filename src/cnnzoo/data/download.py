"""Fetch one file over HTTP(S): progress bar, checksum verification, atomic rename.

The bytes go to a temporary file in the destination folder; only when the whole file has
arrived and its checksum matches is it renamed into place with ``os.replace``. On any failure
(network, checksum, interrupt) the temporary file is removed, so a destination never holds a
half-written file.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TextIO

from cnnzoo.data.errors import DataError
from cnnzoo.fmt import human_bytes

__all__ = ["ChecksumError", "DownloadError", "fetch", "file_digest"]

_CHUNK = 1 << 20


class DownloadError(DataError):
    """A file could not be fetched (network, HTTP status, or a bad checksum)."""


class ChecksumError(DownloadError):
    """The fetched bytes do not have the expected checksum."""


def file_digest(path: str | os.PathLike[str], algorithm: str = "md5") -> str:
    """Hex digest of a file, read in chunks."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


class _Progress:
    """A one-line progress bar on ``stream`` (redrawn in place on a terminal, otherwise a
    start and an end line only)."""

    def __init__(self, label: str, total: int | None, stream: TextIO | None) -> None:
        self.label, self.total, self.stream = label, total, stream
        self.done = 0
        self.start = self.last = time.monotonic()
        self.tty = bool(stream and getattr(stream, "isatty", lambda: False)())
        if stream and not self.tty:
            size = f" ({human_bytes(total)})" if total else ""
            print(f"downloading {label}{size} ...", file=stream, flush=True)

    def update(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if self.tty and now - self.last >= 0.1:
            self.last = now
            self._draw(now)

    def _draw(self, now: float, end: str = "") -> None:
        rate = self.done / max(now - self.start, 1e-6)
        if self.total:
            frac = min(self.done / self.total, 1.0)
            bar = "#" * int(30 * frac)
            text = (
                f"\r{self.label}  [{bar:<30}] {frac:4.0%}  "
                f"{human_bytes(self.done)}/{human_bytes(self.total)}  {human_bytes(rate)}/s"
            )
        else:
            text = f"\r{self.label}  {human_bytes(self.done)}  {human_bytes(rate)}/s"
        print(text, end=end, file=self.stream, flush=True)

    def close(self, ok: bool) -> None:
        if not self.stream:
            return
        now = time.monotonic()
        if self.tty:
            self._draw(now, end="\n")
        elif ok:
            secs = now - self.start
            print(f"  {human_bytes(self.done)} in {secs:.1f} s", file=self.stream, flush=True)


def fetch(
    url: str,
    dest: str | os.PathLike[str],
    *,
    md5: str | None = None,
    sha256: str | None = None,
    progress: bool | TextIO = True,
    timeout: float = 30.0,
) -> Path:
    """Download ``url`` to ``dest`` atomically, verifying ``md5`` and/or ``sha256`` when given.

    Raises :class:`DownloadError` (network or HTTP failure) or :class:`ChecksumError`; in both
    cases nothing is left at ``dest`` or beside it. ``progress`` is ``True`` (stderr), ``False``
    or a text stream.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    stream = sys.stderr if progress is True else (progress or None)
    hashes = {k: hashlib.new(k) for k, v in (("md5", md5), ("sha256", sha256)) if v}
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    bar = None
    ok = False
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                request = urllib.request.Request(url, headers={"User-Agent": "cnnzoo"})
                with urllib.request.urlopen(request, timeout=timeout) as response:
                    length = response.headers.get("Content-Length")
                    total = int(length) if length and length.isdigit() else None
                    bar = _Progress(dest.name, total, stream)
                    while chunk := response.read(_CHUNK):
                        out.write(chunk)
                        for h in hashes.values():
                            h.update(chunk)
                        bar.update(len(chunk))
                    if total is not None and bar.done != total:
                        raise DownloadError(
                            f"{url}: connection closed after {bar.done:,} of {total:,} bytes"
                        )
            except urllib.error.HTTPError as e:
                raise DownloadError(f"{url}: HTTP {e.code} {e.reason}") from None
            except urllib.error.URLError as e:
                raise DownloadError(f"{url}: {e.reason}") from None
            except (TimeoutError, ConnectionError) as e:
                raise DownloadError(f"{url}: {e}") from None
            out.flush()
            os.fsync(out.fileno())
        for algorithm, expected in (("md5", md5), ("sha256", sha256)):
            if expected:
                got = hashes[algorithm].hexdigest()
                if got != expected.lower():
                    raise ChecksumError(
                        f"{url}: checksum mismatch, {algorithm} {got} but expected {expected}; "
                        "the download was discarded"
                    )
        os.replace(tmp, dest)
        ok = True
        return dest
    finally:
        if bar is not None:
            bar.close(ok)
        if not ok:
            tmp.unlink(missing_ok=True)
