"""Seeds derived from a base seed and a few coordinates (epoch, rank, batch, purpose).

Every random draw in the data package comes from a ``torch.Generator`` seeded this way, never
from global state, so a draw is a pure function of its coordinates: the same in every process,
after a resume, and on every DDP rank that asks for it.
"""

from __future__ import annotations

import hashlib

import torch

__all__ = ["generator", "mix_seed"]


def mix_seed(*parts: int | str) -> int:
    """A 63-bit seed from ``parts`` (ints and strings), stable across processes and machines
    (Python's ``hash`` of strings is not)."""
    text = "/".join(str(int(p)) if not isinstance(p, str) else p for p in parts)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little") >> 1


def generator(*parts: int | str) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``mix_seed(*parts)``."""
    return torch.Generator().manual_seed(mix_seed(*parts))
