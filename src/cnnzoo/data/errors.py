"""The one error type of the data package (defined with the others in :mod:`cnnzoo.errors`)."""

from __future__ import annotations

from cnnzoo.errors import DataError

__all__ = ["DataError"]
