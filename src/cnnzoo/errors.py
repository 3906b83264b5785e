"""The errors a user can cause — and only those.

Every error that bad input, a damaged file or a missing piece of the environment can cause is a
:class:`CnnzooError`: its message says what is wrong and what to do. The command line prints
these as one line (exit status 2; 1 for a run that diverged) and lets every other exception
through with its traceback: anything else is a bug in cnnzoo, and hiding it would hide the bug.

Each class also derives from the built-in exception that code written before these classes
existed caught (``ValueError``, ``KeyError``, ...), so ``except ValueError`` keeps working.
This module imports nothing: every layer may use it.
"""

from __future__ import annotations

__all__ = [
    "BusyError",
    "CheckpointError",
    "CnnzooError",
    "ConfigError",
    "DataError",
    "MissingError",
    "NonFiniteLossError",
    "SetupError",
    "StateError",
    "UnknownNameError",
    "UnknownOptionError",
]


class CnnzooError(Exception):
    """A problem with the user's input, files or environment, explained in the message."""


class ConfigError(CnnzooError, ValueError):
    """An impossible option, setting or model configuration (a negative batch size, a window
    that admits no network, ...)."""


class UnknownOptionError(ConfigError, TypeError):
    """An option a builder or function does not take."""


class UnknownNameError(CnnzooError, KeyError):
    """A name that is not registered (a model, a claim, a data set, ...)."""

    def __str__(self) -> str:  # KeyError quotes its message; show it plainly
        return str(self.args[0]) if self.args else ""


class DataError(CnnzooError, ValueError):
    """A data set is missing, corrupt or inconsistent; the message names the file or folder."""


class StateError(CnnzooError, ValueError):
    """A saved file (a run's metadata, a store, a record) is unreadable, damaged or belongs to
    something else; the message names it and says how to start afresh."""


class CheckpointError(StateError):
    """A checkpoint is missing, incomplete or unreadable."""


class MissingError(CnnzooError, FileNotFoundError):
    """The file or directory the user pointed at is not there (or not what was expected)."""


class BusyError(CnnzooError, RuntimeError):
    """Another process is working in the same directory."""


class SetupError(CnnzooError, RuntimeError):
    """Something the machine lacks: an optional package, a GPU, a reachable cluster."""


class NonFiniteLossError(CnnzooError, RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is left as it was."""
