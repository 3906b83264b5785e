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
    # data
    # images carved from the training split for validation: a count, or a fraction below 1
    # (0: none, evaluate on the test split every epoch as the book does)
    val_size: float = 0
    train_subset: int | None = None  # train on a seeded subset of this many images
    # evaluate on a fixed subset of this many test images (the same for every seed and run, so
    # that runs compare on the same images; for budgets where evaluating is the cost)
    test_subset: int | None = None
    resize: int | None = None
    crop_padding: int = 0  # random crop with this padding (0: no crop)
    pad_mode: str = "zero"
    hflip: bool = False
    erase_prob: float = 0.0
    tta: bool = False  # evaluate with horizontal-flip test-time augmentation
    # machine
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    precision: str = "auto"  # auto | bf16 | fp16 | fp32
    channels_last: bool | None = None  # None: on whenever mixed precision is
    compile: bool = False
    seed: int = 0
    checkpoint_every: float = 120.0  # seconds between mid-epoch checkpoints
    checkpoint_every_steps: int | None = None
    recipe: str | None = None
    # stop a run whose loss blows up or sits at chance (see train/health.py); False runs the
    # whole budget and judges the run only at its end (experiments, where a late start counts)
    stop_unhealthy: bool = True

    def __post_init__(self) -> None:
        errors = []
        if self.epochs < 1:
            errors.append(f"epochs must be >= 1 (got {self.epochs})")
        if self.batch_size < 1:
            errors.append(f"batch size must be >= 1 (got {self.batch_size})")
        if not self.lr > 0:
            errors.append(f"learning rate must be > 0 (got {self.lr})")
        if self.max_steps is not None and self.max_steps < 1:
            errors.append(f"max_steps must be >= 1 (got {self.max_steps})")
        if self.precision not in ("auto", "bf16", "fp16", "fp32"):
            errors.append(f"precision must be auto, bf16, fp16 or fp32 (got {self.precision!r})")
        if not 0.0 <= self.label_smoothing < 1.0:
            errors.append(f"label smoothing must be in [0, 1) (got {self.label_smoothing})")
        if self.ema_decay is not None and not 0.0 < self.ema_decay < 1.0:
            errors.append(f"EMA decay must be in (0, 1) (got {self.ema_decay})")
        if self.init not in (None, "xavier", "kaiming"):
            errors.append(f"init must be None, 'xavier' or 'kaiming' (got {self.init!r})")
        if self.train_subset is not None and self.train_subset < 1:
            errors.append(f"train_subset must be >= 1 (got {self.train_subset})")
        if self.test_subset is not None and self.test_subset < 1:
            errors.append(f"test_subset must be >= 1 (got {self.test_subset})")
        if self.val_size < 0:
            errors.append(f"val_size must be >= 0 (got {self.val_size})")
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
