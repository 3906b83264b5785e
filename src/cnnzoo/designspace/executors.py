"""Where trials run: a local pool of worker processes (the default) or Ray tasks.

Both take trial tasks (plain dicts, see :func:`~cnnzoo.designspace.trial.run_trial`) and call
back ``on_start(task, worker)`` when one starts and ``on_done(task, result)`` when it ends —
finished, failed, or its worker killed — so the sweep records every transition in its store.
A worker calls the executor's ``run_task`` on each task: :func:`~cnnzoo.designspace.trial.run_task`
unless it is given another function (the tests give one that fails chosen trials on purpose).

- :class:`LocalExecutor`: ``workers`` long-lived processes (from a fork server that has
  imported torch, or ``spawn``; never a fork of the sweep itself), each with ``threads`` torch
  threads, so the cores are split between them rather than
  oversubscribed. A worker that dies (killed, out of memory, a segfault) fails only its own
  trial and is replaced. A worker whose parent dies exits within a second, so killing a sweep
  leaves no orphans computing for nobody.
- :class:`RayExecutor`: each trial is a Ray task asking for ``threads`` CPUs, on the cluster at
  ``address`` (``ray start --head`` on one machine, ``ray start --address=HEAD:6379`` on the
  others) or on a local instance started for the sweep. Ray is optional:
  ``pip install 'cnnzoo[ray]'``. The data set must be present on every node (same path, or
  ``--data-dir``); a trial writes its metrics under the sweep directory's path on the node that
  runs it (a shared file system puts them all in one place), and its result comes back to the
  driver, which alone writes the sweep's store.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import threading
import time
from collections.abc import Callable, Iterable
from multiprocessing.connection import Connection, wait

from cnnzoo.designspace.trial import run_task
from cnnzoo.errors import ConfigError, SetupError

__all__ = [
    "Executor",
    "LocalExecutor",
    "RayExecutor",
    "check_ray_address",
    "make_executor",
    "split_cores",
]

OnStart = Callable[[dict, str], None]
OnDone = Callable[[dict, dict], None]
#: What a worker calls on each task: plain dict in, plain dict out, never raises. It travels to
#: the worker processes by pickle, so a module-level function (or a functools.partial of one).
RunTask = Callable[[dict], dict]


def split_cores(workers: int | None, threads: int | None, cores: int | None = None) -> tuple:
    """``(workers, threads per worker)`` for this machine: by default one worker per core with
    one thread each (small networks use one core better than two half-shared); given one of
    the two, the other splits the cores."""
    cores = cores or os.cpu_count() or 1
    if workers is None and threads is None:
        return cores, 1
    if workers is None:
        return max(1, cores // threads), threads
    if threads is None:
        return workers, max(1, cores // workers)
    return workers, threads


def _failed(message: str, t0: float | None = None) -> dict:
    return {
        "status": "failed",
        "error": None,
        "best_error": None,
        "wall_time": (time.perf_counter() - t0) if t0 is not None else None,
        "train_time": None,
        "epochs": None,
        "message": message,
    }


class Executor:
    name = "base"

    def run(self, tasks: Iterable[dict], on_start: OnStart, on_done: OnDone) -> None:
        raise NotImplementedError

    def describe(self) -> str:
        return self.name


# --------------------------------------------------------------------------- local


def _gone(pid: int) -> bool:
    """Whether process ``pid`` has ended (a zombie waiting to be reaped has ended too)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False


def _watch_parent(parent: int) -> None:
    while True:
        if _gone(parent):
            os._exit(1)
        time.sleep(0.5)


def _worker_main(conn: Connection, threads: int, parent: int, run: RunTask) -> None:
    """A worker process: run the trials it is sent, one at a time, until told to stop."""
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    import torch

    torch.set_num_threads(threads)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        conn.send(run(task | {"threads": threads}))


class _Worker:
    def __init__(self, ctx, threads: int, number: int, run: RunTask) -> None:
        self.conn, child = ctx.Pipe()
        self.name = f"local-{number}"
        self.proc = ctx.Process(
            target=_worker_main,
            args=(child, threads, os.getpid(), run),
            name=self.name,
            daemon=True,
        )
        self.proc.start()
        self.name = f"{self.name} (pid {self.proc.pid})"
        child.close()
        self.task: dict | None = None
        self.t0 = 0.0

    def stop(self) -> None:
        try:
            if self.proc.is_alive():
                if self.task is None:
                    self.conn.send(None)
                    self.proc.join(5)
                if self.proc.is_alive():
                    self.proc.terminate()
                    self.proc.join(5)
                if self.proc.is_alive():
                    self.proc.kill()
                    self.proc.join()
        except (OSError, ValueError):
            pass
        self.conn.close()


def _death(proc) -> str:
    code = proc.exitcode
    if code is not None and code < 0:
        try:
            import signal

            sig = signal.Signals(-code).name
        except ValueError:
            sig = str(-code)
        return f"the worker process was killed by {sig} while training this trial"
    return f"the worker process exited (code {code}) while training this trial"


def _context():
    # A fork server that has imported torch (and nothing has run a thread yet) forks workers in
    # milliseconds; "spawn" where there is none. Never a plain fork of the sweep process.
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["torch", "cnnzoo.designspace.trial", "cnnzoo.train"])
        return ctx
    return mp.get_context("spawn")


class LocalExecutor(Executor):
    """A pool of ``workers`` processes with ``threads`` torch threads each, calling
    ``run_task`` on each task."""

    name = "local"

    def __init__(
        self, workers: int | None = None, threads: int | None = None, run_task: RunTask = run_task
    ) -> None:
        self.workers, self.threads = split_cores(workers, threads)
        self.run_task = run_task

    def describe(self) -> str:
        return f"local pool: {self.workers} worker(s) x {self.threads} thread(s)"

    def run(self, tasks: Iterable[dict], on_start: OnStart, on_done: OnDone) -> None:
        queue = list(tasks)
        queue.reverse()  # pop() from the end keeps the order
        ctx = _context()
        n = min(self.workers, len(queue))
        pool = [_Worker(ctx, self.threads, i, self.run_task) for i in range(n)]
        started = n
        respawns = 0
        try:
            while True:
                for i, w in enumerate(pool):
                    if w.task is None and queue and not w.proc.is_alive():
                        # died while idle (killed from outside, or could not start): replace it,
                        # but do not loop forever on workers that cannot start at all
                        respawns += 1
                        if respawns > 3 * len(pool) + 3:
                            raise SetupError(
                                f"worker processes keep dying before they take a trial "
                                f"({_death(w.proc).replace(' while training this trial', '')})"
                            )
                        w.stop()
                        pool[i] = w = _Worker(ctx, self.threads, started, self.run_task)
                        started += 1
                        w.proc.join(0.05)
                    if w.task is None and queue and w.proc.is_alive():
                        w.task = queue.pop()
                        w.t0 = time.perf_counter()
                        on_start(w.task, w.name)
                        with contextlib.suppress(OSError, ValueError):
                            w.conn.send(w.task)  # if it died, its sentinel says so below
                busy = [w for w in pool if w.task is not None]
                if not busy:
                    break
                ready = set(wait([w.conn for w in busy] + [w.proc.sentinel for w in busy]))
                for i, w in enumerate(pool):
                    if w.task is None or (w.conn not in ready and w.proc.sentinel not in ready):
                        continue
                    result = None
                    if w.conn in ready:
                        try:
                            result = w.conn.recv()
                        except (EOFError, OSError):
                            result = None
                    if result is None:
                        w.proc.join(5)
                        if w.proc.is_alive():
                            continue  # a spurious wake-up; it is still computing
                        task, msg = w.task, _death(w.proc)
                        w.task = None
                        on_done(task, _failed(msg, w.t0))
                        w.stop()
                        if queue:
                            pool[i] = _Worker(ctx, self.threads, started, self.run_task)
                            started += 1
                        continue
                    task, w.task = w.task, None
                    on_done(task, result)
        finally:
            for w in pool:
                w.stop()


# --------------------------------------------------------------------------- Ray


def _ray_trial(task: dict, run: RunTask) -> dict:
    return run(task)


def check_ray_address(address: str, timeout: float = 3.0) -> None:
    """Fail fast, before Ray is involved, when nothing answers at ``HOST:PORT`` (Ray itself
    retries for minutes, then dies in a ConnectionError). ``auto``, ``local`` and ``ray://``
    addresses are left to Ray."""
    import socket

    if address in ("auto", "local") or "://" in address:
        return
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ConfigError(
            f"Ray address {address!r} is not HOST:PORT (e.g. 10.0.0.5:6379, the head node's "
            "address and the port `ray start --head` printed)"
        )
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as e:
        raise SetupError(
            f"nothing answers at {address} ({e.strerror or e}): start the cluster there with "
            f"`ray start --head --port={port}`, or give the address and port it printed"
        ) from None


class RayExecutor(Executor):
    """Trials as Ray tasks of ``threads`` CPUs each, at most ``workers`` at a time (default: as
    many as the cluster's CPUs allow), on the cluster at ``address`` or a local instance; each
    task calls ``run_task`` (which every node must be able to import)."""

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        workers: int | None = None,
        threads: int | None = None,
        num_cpus: int | None = None,
        run_task: RunTask = run_task,
    ) -> None:
        if address:
            check_ray_address(address)  # before anything else: it fails in seconds, not minutes
        try:
            import ray
        except ImportError:
            raise SetupError(
                "the Ray executor needs Ray: pip install 'cnnzoo[ray]' (or: pip install ray)"
            ) from None
        self.ray = ray
        self.address = address
        self.threads = threads or 1
        self.workers = workers
        self.num_cpus = num_cpus
        self.run_task = run_task
        self._owns = False

    def describe(self) -> str:
        where = self.address or "a local Ray instance"
        return f"Ray on {where}: {self.workers} concurrent trial(s) x {self.threads} CPU(s)"

    def _init(self) -> None:
        ray = self.ray
        if ray.is_initialized():
            return
        kwargs = {"include_dashboard": False, "log_to_driver": False, "logging_level": "ERROR"}
        if self.address:
            ray.init(address=self.address, **kwargs)
        else:
            # always a new instance of our own: never a cluster named by a leftover
            # RAY_ADDRESS or by the ray_current_cluster file of an earlier `ray start`
            ray.init(address="local", num_cpus=self.num_cpus or os.cpu_count(), **kwargs)
            self._owns = True
        if self.workers is None:
            cpus = int(ray.cluster_resources().get("CPU", 1))
            self.workers = max(1, cpus // self.threads)

    def run(self, tasks: Iterable[dict], on_start: OnStart, on_done: OnDone) -> None:
        ray = self.ray
        queue = list(tasks)
        queue.reverse()
        self._init()
        remote = ray.remote(num_cpus=self.threads, max_retries=0)(_ray_trial)
        inflight: dict = {}
        try:
            while queue or inflight:
                while queue and len(inflight) < (self.workers or 1):
                    task = queue.pop() | {"threads": self.threads}
                    on_start(task, "ray")
                    inflight[remote.remote(task, self.run_task)] = (task, time.perf_counter())
                done, _ = ray.wait(list(inflight), num_returns=1)
                for ref in done:
                    task, t0 = inflight.pop(ref)
                    try:
                        result = ray.get(ref)
                    except Exception as e:  # a crashed worker, a lost node, ...
                        result = _failed(f"Ray task failed: {type(e).__name__}: {e}"[-4000:], t0)
                    on_done(task, result)
        finally:
            for ref in inflight:
                ray.cancel(ref, force=True)
            if self._owns:
                ray.shutdown()


def make_executor(
    kind: str = "local",
    workers: int | None = None,
    threads: int | None = None,
    address: str | None = None,
) -> Executor:
    if kind == "local":
        return LocalExecutor(workers, threads)
    if kind == "ray":
        if address is None:
            w, t = split_cores(workers, threads)
            return RayExecutor(None, w, t)
        return RayExecutor(address, workers, threads)
    raise ConfigError(f"unknown executor {kind!r}; choose local or ray")
