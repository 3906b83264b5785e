"""A lock file that keeps two processes from working in the same directory at once."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from cnnzoo.errors import BusyError

__all__ = ["directory_lock"]


@contextlib.contextmanager
def directory_lock(directory: str | Path, what: str) -> Iterator[None]:
    """Hold ``directory/.lock`` (an advisory ``flock``, released when the process dies, even by
    SIGKILL) for the block; a second holder gets a clear ``RuntimeError`` naming ``what``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    f = open(directory / ".lock", "w")  # noqa: SIM115 (held for the whole block)
    try:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BusyError(
                f"another {what} process is running in {directory}; wait for it or stop it"
            ) from None
        yield
    finally:
        f.close()
