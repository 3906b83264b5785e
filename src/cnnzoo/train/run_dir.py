"""A training run's directory: its default name, its lock, its ``config.json``, and whether a
run already there may be resumed with the config given (only its length, and where and how
often it computes and saves, may change)."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

from cnnzoo.errors import ConfigError, StateError
from cnnzoo.locking import directory_lock
from cnnzoo.train.checkpoint import Checkpoint, load_checkpoint
from cnnzoo.train.config import TrainConfig

__all__ = [
    "RESUME_MAY_CHANGE",
    "default_out_dir",
    "lock_run_dir",
    "open_run",
    "resume_differences",
    "write_config",
]

#: what may differ between a run and the command that resumes it: its length, and where and
#: how often it computes and saves (none of them changes what is learned)
RESUME_MAY_CHANGE = (
    "epochs", "max_steps", "device", "eval_batch_size", "checkpoint_every",
    "checkpoint_every_steps", "compile", "tensorboard",
)  # fmt: skip


def default_out_dir(model: str, data: str) -> Path:
    """``runs/MODEL-DATA-TIME``: where a run goes when no directory is given."""
    return Path("runs") / f"{model}-{data}-{time.strftime('%Y%m%d-%H%M%S')}"


def lock_run_dir(out_dir: Path) -> contextlib.ExitStack:
    """Hold the run directory's lock until the returned stack is closed: one process per run
    directory (a second one would overwrite the first one's checkpoints)."""
    lock = contextlib.ExitStack()
    lock.enter_context(directory_lock(out_dir, "training"))
    return lock


def open_run(
    out_dir: Path, config: TrainConfig, resume: bool
) -> tuple[Checkpoint | None, TrainConfig]:
    """The last checkpoint of the run in ``out_dir`` (None when there is none) and the config
    to train with: ``config`` for a new run; for a resumed one, the run's own config with only
    the settings in :data:`RESUME_MAY_CHANGE` taken from ``config``. A run there without
    ``resume``, or one with other settings, is refused."""
    has_run = (out_dir / "checkpoints" / "last.json").exists()
    if has_run and not resume:
        raise StateError(
            f"{out_dir} already holds a run; pass resume=True (--resume) to continue "
            f"it, or choose another output directory"
        )
    config = with_data_resolved(config)
    if not has_run:
        return None, config
    last = load_checkpoint(out_dir, which="last")
    saved = TrainConfig.from_dict(json.loads(last.state["config_json"]))
    diff = resume_differences(saved, config)
    if diff:
        raise ConfigError(
            f"{out_dir} holds a run with other settings ({'; '.join(diff)}). "
            "Only its length (--epochs, --max-steps) may change when it resumes: rerun "
            f"with the run's settings (in {out_dir / 'config.json'}) or choose "
            "another --out"
        )
    return last, saved.replace(**{k: getattr(config, k) for k in RESUME_MAY_CHANGE})


def write_config(out_dir: Path, config: TrainConfig) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "config.json").write_text(json.dumps(config.to_dict(), indent=2))


def resume_differences(saved: TrainConfig, new: TrainConfig) -> list[str]:
    """The settings in which ``new`` differs from the run's ``saved`` config, as
    "name: saved in the run, new now" (empty when ``new`` may resume the run). A setting left
    to the trainer (``resize`` None), and ``init_from`` left out (the checkpoint holds the
    weights now), take the run's value."""
    a, b = saved.to_dict(), with_data_resolved(new).to_dict()
    out = []
    for key, was in a.items():
        now = b.get(key)
        if key in RESUME_MAY_CHANGE or (key in ("resize", "init_from") and now is None):
            continue
        if not same_setting(was, now):
            out.append(f"{key}: {was!r} in the run, {now!r} now")
    return out


def same_setting(a: object, b: object) -> bool:
    """Whether two values of a setting are equal as settings: 16 and 16.0 are the same
    number."""
    numbers = (int, float)
    if (
        isinstance(a, numbers)
        and isinstance(b, numbers)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    ):
        return float(a) == float(b)
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def with_data_resolved(config: TrainConfig) -> TrainConfig:
    """An image folder's path made absolute, so that the run (its config and metadata) finds
    its data from any working directory; a catalogue name stays a name."""
    from cnnzoo.data.load import looks_like_path

    if config.data and looks_like_path(config.data):
        path = Path(config.data).expanduser()
        if path.exists():
            return config.replace(data=str(path.resolve()))
    return config
