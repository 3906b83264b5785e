"""``cnnzoo train ... --nproc N``: a data-parallel training on this machine, started through
torchrun (``python -m torch.distributed.run``) with N processes that meet on the loopback
interface (127.0.0.1, a free port), so that nothing leaves the machine. Imports no torch: the
launching process only waits for torchrun."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence

from cnnzoo.errors import ConfigError

__all__ = ["free_port", "launch_local", "loopback_interface", "torchrun_command", "without_nproc"]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (the rendezvous binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def loopback_interface() -> str | None:
    """The loopback interface's name (``lo`` on Linux, ``lo0`` on macOS), for gloo's
    ``GLOO_SOCKET_IFNAME``; None when it cannot be told."""
    try:
        names = [name for _, name in socket.if_nameindex()]
    except (OSError, AttributeError):  # pragma: no cover - platforms without it
        return None
    for name in ("lo", "lo0"):
        if name in names:
            return name
    return next((n for n in names if n.startswith("lo")), None)


def without_nproc(argv: Sequence[str]) -> list[str]:
    """``argv`` without ``--nproc N`` (or ``--nproc=N``, or an abbreviation argparse took for
    it)."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        flag, eq, _ = arg.partition("=")
        if len(flag) >= 4 and "--nproc".startswith(flag):
            skip = not eq
            continue
        out.append(arg)
    return out


def torchrun_command(nproc: int, argv: Sequence[str], port: int) -> list[str]:
    """The torchrun command line that runs ``cnnzoo ARGV`` (without its ``--nproc``) in
    ``nproc`` processes on this machine, meeting at 127.0.0.1:``port``."""
    return [
        sys.executable, "-m", "torch.distributed.run", "--nnodes", "1",
        "--nproc-per-node", str(nproc), "--master-addr", "127.0.0.1", "--master-port", str(port),
        "-m", "cnnzoo", *without_nproc(argv),
    ]  # fmt: skip


def launch_local(nproc: int, argv: Sequence[str]) -> int:
    """Run ``cnnzoo ARGV`` in ``nproc`` processes under torchrun; returns its exit status.
    Each process gets an even share of the cores (``OMP_NUM_THREADS``) and gloo the loopback
    interface, unless the environment sets them. Ctrl-C or SIGTERM stops every rank (torchrun
    passes the signal on); what was saved is kept for ``--resume``."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise ConfigError(
            "--nproc starts torchrun, but this process already runs under torchrun: drop --nproc"
        )
    env = dict(os.environ)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    env.setdefault("OMP_NUM_THREADS", str(max(1, (cores or 1) // nproc)))
    lo = loopback_interface()
    if lo is not None:
        env.setdefault("GLOO_SOCKET_IFNAME", lo)
    proc = subprocess.Popen(torchrun_command(nproc, argv, free_port()), env=env)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGTERM)
        proc.wait()
        raise
