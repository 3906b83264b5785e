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


# The files that take longest, longest first (measured with --durations; make test runs
# `--dist loadfile --no-loadscope-reorder`, so each worker takes the next file from this order
# as it finishes one and the workers finish close together instead of one idling while the
# other runs a long file it took last). The rest follow in their usual order.
LONGEST_FIRST = (
    "test_train_health.py",
    "test_claims.py",
    "test_zoo.py",
    "test_distributed.py",
    "test_designspace_sweep.py",
    "test_readme.py",
    "test_torchvision_equivalence.py",
    "test_reset_classifier.py",
    "test_claims_anynet.py",
    "test_train.py",
    "test_recipes.py",
)


def pytest_collection_modifyitems(items: list) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: keeps the rest
