"""Shared test set-up: under pytest-xdist (``make test`` runs ``-n 2``), each worker gets its
share of the cores for PyTorch's intra-op threads, so that two workers do not fight over them
(the suite's networks are small: two single-threaded workers do about twice the work of one
worker with two threads)."""

from __future__ import annotations

import os

_workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _workers > 1:
    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 1) // _workers))
