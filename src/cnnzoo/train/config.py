"""Training configuration: every setting of a run, saved as JSON with it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace

from cnnzoo.errors import ConfigError

__all__ = ["TrainConfig"]


@dataclass(frozen=True)
class TrainConfig:
    """Everything a run needs; saved as JSON in the run directory.

    Epoch-based settings (``warmup_epochs``) are converted to steps by the trainer.
    """

    model: str
    data: str = "fashion-mnist"
    data_dir: str | None = None
    model_options: dict = field(default_factory=dict)
    epochs: int = 10
    max_steps: int | None = None  # stop after this many optimizer steps (smoke runs)
    batch_size: int = 128
    eval_batch_size: int = 512
    optimizer: str = "sgd"  # sgd | adamw
    lr: float = 0.1
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0
    schedule: str = "constant"  # constant | step | cosine | onecycle
    warmup_epochs: float = 0.0
    step_epochs: int = 30  # for schedule="step": decay every this many epochs
    label_smoothing: float = 0.0
    grad_clip: float | None = None
    ema_decay: float | None = None
    # None: the model's own; "xavier": the book's init_cnn; "kaiming": He et al. 2015's, which
    # keeps the signal's scale through deep ReLU networks without normalisation
    init: str | None = None
    # start from the weights in this file (a state dict in torchvision's, timm's, pycls's or
    # cnnzoo's layout) or cnnzoo run directory; a classifier for other classes is started afresh
    init_from: str | None = None
    # data
    # images carved from the training split for validation: a count, or a fraction below 1
    # (0: none, evaluate on the test split every epoch as the book does)
    val_size: float = 0
    train_subset: int | None = None  # train on a seeded subset of this many images
    # evaluate on a fixed subset of this many test images (the same for every seed and run, so
    # that runs compare on the same images; for budgets where evaluating is the cost)
    test_subset: int | None = None
    resize: int | None = None
    # progressive resizing (fast.ai's DAWNBench runs): the first epochs train on smaller images,
    # from this size (square) growing linearly to the full size over ``progressive_epochs``
    # epochs (both or neither); evaluation is always at the full size
    progressive_size: int | None = None
    progressive_epochs: float = 0.0
    crop_padding: int = 0  # random crop with this padding (0: no crop)
    pad_mode: str = "zero"
    hflip: bool = False
    erase_prob: float = 0.0
    tta: bool = False  # evaluate with horizontal-flip test-time augmentation
    # machine
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    precision: str = "auto"  # auto | bf16 | fp16 | fp32
    channels_last: bool | None = None  # None: on a CPU, and on a GPU under autocast
    compile: bool = False
    # several processes (torchrun): batch norm over the global batch (SyncBatchNorm) rather
    # than each process's share of it
    sync_bn: bool = False
    seed: int = 0
    checkpoint_every: float = 120.0  # seconds between mid-epoch checkpoints
    checkpoint_every_steps: int | None = None
    tensorboard: bool = False  # event files in the run directory (tensorboard --logdir runs/)
    recipe: str | None = None
    # stop a run whose loss blows up or sits at chance (see train/health.py); False runs the
    # whole budget and judges the run only at its end (experiments, where a late start counts)
    stop_unhealthy: bool = True

    def __post_init__(self) -> None:
        errors = [e for name in _LIMITS if (e := _check_number(name, getattr(self, name)))]
        for name, allowed in _CHOICES.items():
            if getattr(self, name) not in allowed:
                shown = ", ".join("none" if a is None else repr(a) for a in allowed)
                errors.append(
                    f"{_label(name)} must be one of {shown} (got {getattr(self, name)!r})"
                )
        if self.init_from is not None and not (isinstance(self.init_from, str) and self.init_from):
            errors.append(f"init_from (--init-from) must be a path (got {self.init_from!r})")
        if not isinstance(self.model_options, dict):
            errors.append(f"model_options must be a dict (got {self.model_options!r})")
        if (self.progressive_size is None) != (not self.progressive_epochs):
            errors.append(
                "progressive resizing needs both the size it starts from (--progressive-size) "
                "and the epochs it grows over (--progressive-epochs > 0); --progressive-epochs 0 "
                "alone turns it off"
            )
        if self.nesterov and not (isinstance(self.momentum, (int, float)) and self.momentum > 0):
            errors.append("Nesterov momentum needs momentum > 0 (--momentum)")
        if errors:
            raise ConfigError("bad training config: " + "; ".join(errors))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ConfigError(f"unknown training config keys: {', '.join(sorted(unknown))}")
        return cls(**d)

    def replace(self, **changes: object) -> TrainConfig:
        return replace(self, **changes)


#: every numeric setting: (integer?, lowest, lowest allowed?, highest, highest allowed?);
#: None as the value is allowed for the settings whose default is None
_LIMITS: dict[str, tuple[bool, float, bool, float | None, bool]] = {
    "epochs": (True, 1, True, None, False),
    "max_steps": (True, 1, True, None, False),
    "batch_size": (True, 1, True, None, False),
    "eval_batch_size": (True, 1, True, None, False),
    "lr": (False, 0, False, None, False),
    "momentum": (False, 0, True, 1, False),
    "weight_decay": (False, 0, True, None, False),
    "warmup_epochs": (False, 0, True, None, False),
    "step_epochs": (True, 1, True, None, False),
    "label_smoothing": (False, 0, True, 1, False),
    "grad_clip": (False, 0, False, None, False),
    "ema_decay": (False, 0, False, 1, False),
    "val_size": (False, 0, True, None, False),
    "train_subset": (True, 1, True, None, False),
    "test_subset": (True, 1, True, None, False),
    "resize": (True, 1, True, None, False),
    "progressive_size": (True, 1, True, None, False),
    "progressive_epochs": (False, 0, True, None, False),
    "crop_padding": (True, 0, True, None, False),
    "erase_prob": (False, 0, True, 1, True),
    "seed": (True, 0, True, None, False),
    "checkpoint_every": (False, 0, False, None, False),
    "checkpoint_every_steps": (True, 1, True, None, False),
}
_CHOICES: dict[str, tuple] = {
    "optimizer": ("sgd", "adamw"),
    "schedule": ("constant", "step", "cosine", "onecycle"),
    "pad_mode": ("zero", "reflect"),
    "precision": ("auto", "bf16", "fp16", "fp32"),
    "init": (None, "xavier", "kaiming"),
}


def _label(name: str) -> str:
    """The setting as the API and the command line name it."""
    flag = {"ema_decay": "--ema"}.get(name, "--" + name.replace("_", "-"))
    return f"{name} ({flag})"


def _check_number(name: str, value: object) -> str | None:
    """What is wrong with ``value`` for the numeric setting ``name``, or None."""
    import math

    integer, lo, lo_ok, hi, hi_ok = _LIMITS[name]
    if value is None and name in _NONE_OK:
        return None
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{_label(name)} must be {kind} (got {value!r})"
    if not math.isfinite(value):
        return f"{_label(name)} must be a finite number (got {value})"
    if integer and value != int(value):
        return f"{_label(name)} must be a whole number (got {value})"
    low = value > lo or (lo_ok and value == lo)
    high = hi is None or value < hi or (hi_ok and value == hi)
    if not (low and high):
        left = f"{'>=' if lo_ok else '>'} {lo:g}"
        right = "" if hi is None else f" and {'<=' if hi_ok else '<'} {hi:g}"
        return f"{_label(name)} must be {left}{right} (got {value})"
    return None


_NONE_OK = {
    "max_steps", "grad_clip", "ema_decay", "train_subset", "test_subset", "resize",
    "progressive_size",
    "checkpoint_every_steps",
}  # fmt: skip
