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
import pickle
import re
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from cnnzoo.errors import CheckpointError

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "load_checkpoint",
    "load_weights",
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


_STEP_DIR = re.compile(r"step-\d{8}")


def _pointed(root: Path, which: str) -> Path | None:
    """The checkpoint directory ``which.json`` names (None when there is no such file). A
    damaged pointer, or one naming anything but a step directory of this run (e.g. a path
    outside it), is a :class:`CheckpointError`."""
    p = root / f"{which}.json"
    if not p.exists():
        return None
    try:
        name = json.loads(p.read_text())["dir"]
    except (ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"{p} is damaged ({type(e).__name__}: {e})") from None
    if not isinstance(name, str) or not _STEP_DIR.fullmatch(name):
        raise CheckpointError(
            f"{p} names {name!r}, which is not a checkpoint of this run (step-NNNNNNNN); refused"
        )
    return root / name


def _prune(root: Path) -> None:
    keep = set()
    for which in ("last", "best"):
        try:
            d = _pointed(root, which)
        except CheckpointError:
            continue  # a damaged pointer protects nothing: the new one is written already
        if d is not None:
            keep.add(d.name)
    for d in root.iterdir():
        if d.is_dir() and d.name not in keep and d.name.lstrip(".").startswith("step-"):
            shutil.rmtree(d, ignore_errors=True)


def _candidates(root: Path, which: str) -> tuple[list[Path], list[str]]:
    """The checkpoint directories to try, best first: the one ``which.json`` names, then
    ``last.json``'s, then every other step directory, newest first; and the problems with the
    pointers met on the way."""
    out: list[Path] = []
    problems: list[str] = []
    for w in dict.fromkeys((which, "last")):
        try:
            d = _pointed(root, w)
        except CheckpointError as e:
            problems.append(str(e))
            continue
        if d is not None and d not in out:
            out.append(d)
    steps = sorted((d for d in root.iterdir() if d.is_dir() and _STEP_DIR.fullmatch(d.name)),
                   key=lambda d: d.name, reverse=True)  # fmt: skip
    out += [d for d in steps if d not in out]
    return out, problems


def resolve_checkpoint(path: str | Path, which: str = "best") -> Path:
    """The checkpoint directory :func:`load_checkpoint` would load (without reading it)."""
    return load_checkpoint(path, which, state=False).path


def load_weights(model: torch.nn.Module, weights: dict[str, torch.Tensor], where: Path) -> None:
    """``model.load_state_dict(weights)``, or a CheckpointError that says which tensors do not
    fit: the network the run's settings build now is not the one that was saved (a model whose
    default shape changed since, or a checkpoint copied from another run)."""
    own = model.state_dict()
    missing = [k for k in own if k not in weights]
    extra = [k for k in weights if k not in own]
    shapes = [
        f"{k} {tuple(weights[k].shape)} saved, {tuple(own[k].shape)} built"
        for k in own
        if k in weights and weights[k].shape != own[k].shape
    ]
    if missing or extra or shapes:
        parts = [
            f"{label}: {', '.join(items[:3])}{' ...' if len(items) > 3 else ''}"
            for label, items in (("shapes differ", shapes), ("not saved", missing),
                                 ("not in the network", extra))
            if items
        ]  # fmt: skip
        name = type(model).__name__
        raise CheckpointError(
            f"the checkpoint in {where} does not fit the {name} its run's settings build now "
            f"({'; '.join(parts)}). Was the model's default shape changed since the run was "
            "saved? Then the run needs the cnnzoo version that trained it; nothing was changed "
            "in it. To train this network, start afresh with another --out."
        )
    model.load_state_dict(weights)


def load_checkpoint(path: str | Path, which: str = "best", state: bool = True) -> Checkpoint:
    """Load a checkpoint from a run directory, its ``checkpoints`` directory or a checkpoint
    directory itself. ``which`` picks ``best`` (falling back to ``last``) or ``last``.

    No code is executed: weights come from safetensors and the rest from
    ``torch.load(weights_only=True)``. When the checkpoint a pointer names is missing or
    damaged, the newest intact one is used instead, with a warning that says so (a run killed
    at the wrong moment, or a file damaged by hand, is never stuck while an intact step exists).
    """
    path = Path(path)
    if (path / "model.safetensors").exists():
        return _load_dir(path, state)
    root = path / "checkpoints" if (path / "checkpoints").is_dir() else path
    if not root.is_dir():
        raise CheckpointError(f"no checkpoint found at {path}: no such directory")
    dirs, problems = _candidates(root, which)
    for d in dirs:
        try:
            ckpt = _load_dir(d, state)
        except CheckpointError as e:
            problems.append(str(e))
            continue
        if problems:
            warnings.warn(
                f"{'; '.join(problems)}. Using {d.name}, the newest intact checkpoint.",
                stacklevel=2,
            )
        return ckpt
    if problems:
        raise CheckpointError(
            f"no intact checkpoint in {root}: {'; '.join(problems)}. Start the run afresh in "
            "another directory (or delete this one)"
        )
    raise CheckpointError(
        f"no checkpoint found at {path}: expected a run directory (with checkpoints/last.json) "
        f"or a checkpoint directory (with model.safetensors)"
    )


#: what meta.json must hold, and of which type
_META = {
    "model": str, "num_classes": int, "in_channels": int, "input_size": list, "classes": list,
    "mean": list, "std": list,
}  # fmt: skip


def _load_dir(d: Path, state: bool) -> Checkpoint:
    if not d.is_dir() or not (d / "model.safetensors").is_file():
        raise CheckpointError(f"checkpoint {d} is missing")
    try:
        model = load_file(str(d / "model.safetensors"))
        ema = load_file(str(d / "ema.safetensors")) if (d / "ema.safetensors").exists() else None
    except Exception as e:  # safetensors' own error for a truncated or foreign file
        raise CheckpointError(
            f"checkpoint {d}: the weights are unreadable ({type(e).__name__}: {e})"
        ) from None
    try:
        meta = json.loads((d / "meta.json").read_text())
    except (OSError, ValueError) as e:
        raise CheckpointError(f"checkpoint {d}: meta.json is unreadable ({e})") from None
    bad = [
        k
        for k, kind in _META.items()
        if not isinstance(meta.get(k) if isinstance(meta, dict) else None, kind)
    ]
    if bad:
        raise CheckpointError(
            f"checkpoint {d}: meta.json lacks or mangles {', '.join(bad)} (edited by hand?)"
        )
    st: dict = {}
    if state:
        try:
            st = torch.load(d / "state.pt", weights_only=True, map_location="cpu")
        except pickle.UnpicklingError:
            # never advise loading it anyway: that would run whatever code it holds
            raise CheckpointError(
                f"checkpoint {d}: state.pt holds Python objects other than tensors, numbers "
                "and strings; refused, since loading it could run code. It was not written by "
                "cnnzoo: use an intact checkpoint"
            ) from None
        except (OSError, ValueError, RuntimeError, EOFError) as e:
            raise CheckpointError(f"checkpoint {d}: state.pt is unreadable ({e})") from None
        if not isinstance(st, dict) or "step" not in st:
            raise CheckpointError(f"checkpoint {d}: state.pt is not a training state")
    return Checkpoint(d, model, ema, st, meta)
