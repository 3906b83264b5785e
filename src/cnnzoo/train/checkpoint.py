"""Checkpoints that survive a kill at any moment and load without executing code.

A checkpoint is a directory ``checkpoints/step-00001234/`` holding

- ``model.safetensors`` (and ``ema.safetensors``): the weights, in safetensors;
- ``state.pt``: optimizer, step, epoch, loader and RNG state, metrics — tensors, numbers and
  strings only, read back with ``torch.load(weights_only=True)``;
- ``meta.json``: what is needed to rebuild the model and use it (name, options, classes,
  normalisation, input size).

It is written under a temporary name and renamed into place, then the small pointer files
``last.json`` and ``best.json`` are replaced atomically. A crash leaves either the old pointer
or the new one, each naming a complete directory. Directories no pointer names are pruned.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from cnnzoo.errors import CheckpointError

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "load_checkpoint",
    "resolve_checkpoint",
    "save_checkpoint",
]


@dataclass
class Checkpoint:
    path: Path
    model: dict[str, torch.Tensor]
    ema: dict[str, torch.Tensor] | None
    state: dict
    meta: dict


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _plain(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    # safetensors wants contiguous, unshared CPU tensors.
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}


def save_checkpoint(
    root: Path,
    step: int,
    model_state: dict[str, torch.Tensor],
    state: dict,
    meta: dict,
    ema_state: dict[str, torch.Tensor] | None = None,
    best: bool = False,
) -> Path:
    """Write checkpoint ``step`` under ``root`` and point ``last.json`` (and ``best.json`` when
    ``best``) at it. Returns the checkpoint directory."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    name = f"step-{step:08d}"
    final = root / name
    if not final.exists():
        tmp = root / f".{name}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        save_file(_plain(model_state), str(tmp / "model.safetensors"))
        if ema_state is not None:
            save_file(_plain(ema_state), str(tmp / "ema.safetensors"))
        torch.save(state, tmp / "state.pt")
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2, default=str))
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, final)
    pointer = json.dumps({"dir": name, "step": step})
    _atomic_write_text(root / "last.json", pointer)
    if best:
        _atomic_write_text(root / "best.json", pointer)
    _prune(root)
    return final


def _pointed(root: Path, which: str) -> Path | None:
    p = root / f"{which}.json"
    if not p.exists():
        return None
    try:
        return root / json.loads(p.read_text())["dir"]
    except (ValueError, KeyError) as e:
        raise CheckpointError(f"{p} is corrupt ({e}); delete it to start over") from None


def _prune(root: Path) -> None:
    keep = {p.name for p in (_pointed(root, "last"), _pointed(root, "best")) if p is not None}
    for d in root.iterdir():
        if d.is_dir() and d.name not in keep and d.name.lstrip(".").startswith("step-"):
            shutil.rmtree(d, ignore_errors=True)


def resolve_checkpoint(path: str | Path, which: str = "best") -> Path:
    """Find a checkpoint directory from a run directory, a ``checkpoints`` directory or the
    checkpoint directory itself. ``which`` picks ``best`` (falling back to ``last``) or ``last``."""
    path = Path(path)
    if (path / "model.safetensors").exists():
        return path
    for root in (path / "checkpoints", path):
        for w in (which, "last"):
            d = _pointed(root, w) if root.is_dir() else None
            if d is not None:
                if not (d / "model.safetensors").exists():
                    raise CheckpointError(f"{root / (w + '.json')} points at {d}, which is missing")
                return d
    raise CheckpointError(
        f"no checkpoint found at {path}: expected a run directory (with checkpoints/last.json) "
        f"or a checkpoint directory (with model.safetensors)"
    )


def load_checkpoint(path: str | Path, which: str = "best", state: bool = True) -> Checkpoint:
    """Load a checkpoint (see :func:`resolve_checkpoint` for ``path``). No code is executed:
    weights come from safetensors and the rest from ``torch.load(weights_only=True)``."""
    d = resolve_checkpoint(path, which)
    try:
        model = load_file(str(d / "model.safetensors"))
        ema = load_file(str(d / "ema.safetensors")) if (d / "ema.safetensors").exists() else None
        meta = json.loads((d / "meta.json").read_text())
        st = torch.load(d / "state.pt", weights_only=True, map_location="cpu") if state else {}
    except (OSError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"checkpoint {d} is unreadable: {e}") from None
    return Checkpoint(d, model, ema, st, meta)
