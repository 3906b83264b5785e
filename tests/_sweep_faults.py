"""Sweep trials that fail on purpose, for the sweep tests: a task function for the executors
(``LocalExecutor(run_task=with_faults("1=raise,3=kill"))``) that runs the real trial but makes
the chosen trials fail inside their training, in the worker process that runs them.

The trials run in other processes (the local pool's workers, Ray's workers, or a ``cnnzoo``
subprocess), where a monkeypatch of the test process does not reach; so the faults travel with
the task function (by pickle, which imports this module there: keep it on the workers' path).

Faults: ``raise`` (the training raises), ``nan`` (a huge learning rate: the trainer stops on a
non-finite loss), ``kill`` (the worker process kills itself), ``hang`` (the training stalls for
ten minutes: something to kill the sweep in the middle of).
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import time
from collections.abc import Callable
from unittest import mock

from cnnzoo.designspace.trial import run_task

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))


def parse_faults(text: str) -> dict[int, str]:
    """``"1=raise,3=kill"`` as ``{1: "raise", 3: "kill"}``."""
    pairs = (item.split("=", 1) for item in text.split(",") if "=" in item)
    return {int(k): v.strip() for k, v in pairs}


def run_with_faults(task: dict, faults: dict[int, str]) -> dict:
    """:func:`run_task`, with trial ``idx`` failing as ``faults[idx]`` says."""
    fault = faults.get(int(task.get("idx", -1)))
    if fault is None:
        return run_task(task)
    import cnnzoo.train

    real = cnnzoo.train.train

    def train(config, out_dir, **kw):
        if fault == "raise":
            raise RuntimeError(f"injected failure in trial {task['idx']}")
        if fault == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if fault == "hang":
            time.sleep(600)
        if fault == "nan":
            config = config.replace(lr=1e30, precision="fp32")
        return real(config, out_dir, **kw)

    with mock.patch.object(cnnzoo.train, "train", train):
        return run_task(task)


def with_faults(faults: str) -> Callable[[dict], dict]:
    """A picklable task function failing the trials ``faults`` names (``"1=raise,3=kill"``)."""
    return functools.partial(run_with_faults, faults=parse_faults(faults))


def cli(faults: str, argv: list[str]) -> int:
    """``cnnzoo ARGV`` with the sweep's local executor running its trials through
    :func:`with_faults`; run as ``python -c "from _sweep_faults import cli; ..."`` with this
    folder on ``PYTHONPATH`` (not as ``__main__``, whose functions a worker cannot import)."""
    from cnnzoo.cli import main
    from cnnzoo.designspace import sweep
    from cnnzoo.designspace.executors import LocalExecutor

    def make_executor(kind="local", workers=None, threads=None, address=None):
        assert kind == "local", kind
        return LocalExecutor(workers, threads, run_task=with_faults(faults))

    with mock.patch.object(sweep, "make_executor", make_executor):
        return main(argv)


def cli_command(faults: str, argv: list[str]) -> list[str]:
    """The command line that runs :func:`cli` in a new Python process."""
    code = "import sys; from _sweep_faults import cli; sys.exit(cli(sys.argv[1], sys.argv[2:]))"
    return [sys.executable, "-c", code, faults, *argv]


def env_with_tests_dir(env: dict[str, str]) -> dict[str, str]:
    """``env`` with this folder first on ``PYTHONPATH``, so that other processes (a ``cnnzoo``
    subprocess, its workers, Ray's workers) can import this module."""
    path = [TESTS_DIR, *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    return env | {"PYTHONPATH": os.pathsep.join(path)}
