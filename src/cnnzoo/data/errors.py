"""The one error type of the data package."""

from __future__ import annotations

__all__ = ["DataError"]


class DataError(ValueError):
    """A data set is missing, corrupt or inconsistent.

    The message names the file (or folder) and the problem, and where it helps, what to do about
    it. A ``ValueError`` so that the command line reports it as a one-line error.
    """
