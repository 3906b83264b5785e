"""The training loop: readable top to bottom, resumable at any step, honest about failures."""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from cnnzoo.errors import ConfigError, NonFiniteLossError, StateError
from cnnzoo.locking import directory_lock
from cnnzoo.models import create_model
from cnnzoo.store import RunStore
from cnnzoo.train.checkpoint import load_checkpoint, save_checkpoint
from cnnzoo.train.config import TrainConfig
from cnnzoo.train.ema import ModelEMA
from cnnzoo.train.health import HealthMonitor, chance_loss
from cnnzoo.train.optim import Schedule, build_optimizer, set_lr
from cnnzoo.train.progress import Progress

__all__ = [
    "EvalResult",
    "NonFiniteLossError",
    "Trainer",
    "autocast_context",
    "pick_device",
    "pick_precision",
    "train",
]


# --------------------------------------------------------------------------- device and precision


def pick_device(device: str = "auto") -> torch.device:
    """``auto``: the first CUDA GPU when there is one, else the CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            f"device {device!r} asked for, but no CUDA GPU is available; use --device cpu"
        )
    return dev


def cpu_supports_bf16() -> bool:
    """True on CPUs with native bfloat16 arithmetic (AVX-512 BF16 or AMX)."""
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:  # pragma: no cover - older torch
        return False


def pick_precision(device: torch.device, precision: str = "auto") -> str:
    """``auto``: bf16 on CPUs that have it and on GPUs that support it, fp16 on older GPUs,
    fp32 otherwise."""
    if precision != "auto":
        if precision == "bf16" and device.type == "cpu" and not cpu_supports_bf16():
            raise ConfigError("this CPU has no bfloat16 support; use --precision fp32")
        if precision == "fp16" and device.type == "cpu":
            raise ConfigError("fp16 autocast is for GPUs; use bf16 or fp32 on a CPU")
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if device.type == "cpu":
        return "bf16" if cpu_supports_bf16() else "fp32"
    return "fp32"


def autocast_context(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


# --------------------------------------------------------------------------- evaluation


@dataclass
class EvalResult:
    loss: float
    acc: float
    per_class_acc: list[float]
    confusion: list[list[int]]  # rows: true class, columns: predicted
    count: int

    def to_dict(self) -> dict:
        return {
            "loss": self.loss,
            "acc": self.acc,
            "per_class_acc": self.per_class_acc,
            "confusion": self.confusion,
            "count": self.count,
        }


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader,
    num_classes: int,
    device: torch.device,
    precision: str = "fp32",
    tta: bool = False,
) -> EvalResult:
    """Top-1 accuracy, mean cross-entropy, per-class accuracy and the confusion matrix.
    With ``tta`` the softmax of each image and its mirror image are averaged."""
    model.eval()
    total_loss = torch.zeros((), dtype=torch.float64, device=device)
    confusion = torch.zeros(num_classes * num_classes, dtype=torch.int64, device=device)
    n = 0
    for x, y in loader:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with autocast_context(device, precision):
            logits = model(x).float()
            if tta:
                flipped = model(torch.flip(x, dims=[3])).float()
                probs = (logits.softmax(1) + flipped.softmax(1)) / 2
                logits = probs.clamp_min(1e-12).log()
        total_loss += F.cross_entropy(logits, y, reduction="sum").double()
        pred = logits.argmax(1)
        confusion += torch.bincount(y * num_classes + pred, minlength=num_classes**2)
        n += y.numel()
    cm = confusion.view(num_classes, num_classes).cpu()
    per_class = (cm.diag().double() / cm.sum(1).clamp_min(1).double()).tolist()
    acc = float(cm.diag().sum()) / max(1, n)
    return EvalResult(float(total_loss) / max(1, n), acc, per_class, cm.tolist(), n)


# --------------------------------------------------------------------------- the trainer


def init_weights(model: nn.Module, scheme: str) -> None:
    """Re-initialise convolutions and linear layers: ``xavier`` (uniform, the book's
    ``init_cnn``) or ``kaiming`` (He et al. 2015: normal, fan-in, ReLU gain, zero biases)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            if scheme == "xavier":
                nn.init.xavier_uniform_(m.weight)
            else:
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)


def _one_of(items: list[str]) -> str:
    """ "a, b or c"."""
    return ", ".join(items[:-1]) + " or " + items[-1] if len(items) > 1 else items[0]


def _json_safe(value: object) -> object:
    """``value`` with every non-finite float replaced by None (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


class Trainer:
    """Trains one model on one data set; see :func:`train` for the one-call version.

    Everything the run produces goes to ``out_dir``: ``config.json``, ``checkpoints/``,
    ``metrics.jsonl`` and ``metrics.csv`` (one row per epoch), ``eval.json`` (test metrics),
    the plots and ``summary.md``. The run is also recorded in the SQLite store
    ``runs.sqlite`` next to ``out_dir`` (or ``store``).
    """

    def __init__(
        self,
        config: TrainConfig,
        out_dir: str | Path,
        *,
        resume: bool = False,
        quiet: bool = False,
        store: str | Path | None = None,
        plots: bool = True,
        epoch_eval: bool = True,
    ) -> None:

        self.out_dir = Path(out_dir)
        self.ckpt_dir = self.out_dir / "checkpoints"
        self.quiet, self.plots = quiet, plots
        # one process per run directory, from here until fit() ends (a second one would
        # overwrite the first one's checkpoints)
        self._lock = contextlib.ExitStack()
        self._lock.enter_context(directory_lock(self.out_dir, "training"))
        try:
            self._setup(config, resume, store, epoch_eval)
        except BaseException:
            self._lock.close()
            raise

    def _setup(
        self, config: TrainConfig, resume: bool, store: str | Path | None, epoch_eval: bool
    ) -> None:
        from cnnzoo.data import Augment, BatchLoader, load_dataset, train_val_split

        # without a validation split, the per-epoch evaluation is on the test split: only for
        # the curves, and skipped (the test split is evaluated once, at the end) when False
        self.epoch_eval = epoch_eval
        self._last_test: tuple[int, EvalResult] | None = None  # (step, result) of the last one
        has_run = (self.ckpt_dir / "last.json").exists()
        if has_run and not resume:
            raise StateError(
                f"{self.out_dir} already holds a run; pass resume=True (--resume) to continue "
                f"it, or choose another output directory"
            )
        self.resume_from = load_checkpoint(self.out_dir, which="last") if has_run else None
        config = _with_data_resolved(config)
        if self.resume_from is not None:
            saved = TrainConfig.from_dict(json.loads(self.resume_from.state["config_json"]))
            # Only the length of the run (and where it runs) may change on resume.
            diff = resume_differences(saved, config)
            if diff:
                raise ConfigError(
                    f"{self.out_dir} holds a run with other settings ({'; '.join(diff)}). "
                    "Only its length (--epochs, --max-steps) may change when it resumes: rerun "
                    f"with the run's settings (in {self.out_dir / 'config.json'}) or choose "
                    "another --out"
                )
            config = saved.replace(**{k: getattr(config, k) for k in RESUME_MAY_CHANGE})
        self.config = cfg = config
        self.out_dir.mkdir(parents=True, exist_ok=True)
        (self.out_dir / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2))
        self.store = RunStore(store or self.out_dir.parent / "runs.sqlite")
        self.run_id = str(self.out_dir.resolve())

        # ---- data
        self.device = pick_device(cfg.device)
        self.precision = pick_precision(self.device, cfg.precision)
        self.channels_last = (
            cfg.channels_last if cfg.channels_last is not None else self.precision != "fp32"
        )
        train_full = load_dataset(cfg.data, split="train", data_dir=cfg.data_dir)
        test = load_dataset(cfg.data, split="test", data_dir=cfg.data_dir)
        if cfg.val_size:
            n_val = cfg.val_size if cfg.val_size >= 1 else round(cfg.val_size * len(train_full))
            train_ds, val_ds = train_val_split(train_full, val_size=int(n_val), seed=cfg.seed)
        else:
            train_ds, val_ds = train_full, None
        if cfg.train_subset is not None and cfg.train_subset < len(train_ds):
            g = torch.Generator().manual_seed(cfg.seed + 1)
            idx = torch.randperm(len(train_ds), generator=g)[: cfg.train_subset]
            train_ds = train_ds.subset(idx)
        if cfg.test_subset is not None and cfg.test_subset < len(test):
            test = fixed_subset(test, cfg.test_subset)
        c, h, w = train_full.images.shape[1:]
        _check_splits_match(cfg, train_full, test)
        self.input_note = ""
        if cfg.resize is None:
            # the input the network needs: its fixed size, or at least its minimum size and
            # its total downsampling (see auto_input_size)
            from cnnzoo.train.recipes import auto_input_size, network_traits

            traits = network_traits(cfg.model, cfg.model_options)
            size = auto_input_size(traits, min(h, w))
            if size != h or size != w:
                cfg = cfg.replace(resize=size)
                why = (
                    "it takes exactly that size"
                    if traits.fixed_input_size
                    else f"it needs at least {max(traits.min_input_size, traits.stride)}"
                )
                self.input_note = f", resized automatically from {h}x{w}: {why}"
        self.config = cfg
        (self.out_dir / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2))
        self.classes = list(train_full.classes)
        self.num_classes = len(self.classes)
        self.mean, self.std = train_full.mean, train_full.std
        self.input_size = (c, cfg.resize or h, cfg.resize or w)
        augment = Augment(
            crop=None,  # with padding: crop back to the input size, before any resize
            padding=cfg.crop_padding,
            pad_mode=cfg.pad_mode,
            hflip=cfg.hflip,
            erase_prob=cfg.erase_prob,
            resize=cfg.resize,
        )
        plain = Augment(resize=cfg.resize)
        # one normalisation everywhere: the training split's statistics (also what the
        # checkpoint's metadata gives `predict`), never a test folder's own
        common = {
            "device": self.device,
            "channels_last": self.channels_last,
            "normalize": (self.mean, self.std),
        }
        self.train_loader = BatchLoader(
            train_ds, batch_size=cfg.batch_size, shuffle=True, seed=cfg.seed, augment=augment,
            drop_last=len(train_ds) >= cfg.batch_size, **common,
        )  # fmt: skip
        self.eval_loaders = {
            name: BatchLoader(
                ds,
                batch_size=cfg.eval_batch_size,
                shuffle=False,
                seed=cfg.seed,
                augment=plain,
                drop_last=False,
                **common,
            )
            for name, ds in (("val", val_ds), ("test", test))
            if ds is not None
        }

        # ---- model, optimizer, schedule
        torch.manual_seed(cfg.seed)
        self.model = create_model(
            cfg.model, num_classes=self.num_classes, in_channels=c, **cfg.model_options
        )
        if cfg.init is not None:
            init_weights(self.model, cfg.init)
        self.model.to(self.device)
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.optimizer = build_optimizer(
            self.model, cfg.optimizer, cfg.lr, cfg.momentum, cfg.nesterov, cfg.weight_decay
        )
        steps_per_epoch = len(self.train_loader)
        if steps_per_epoch < 1:
            raise ConfigError(
                f"the training set has {len(train_ds)} images, fewer than one batch of "
                f"{cfg.batch_size}; lower the batch size"
            )
        self.steps_per_epoch = steps_per_epoch
        self.total_steps = cfg.epochs * steps_per_epoch
        if cfg.max_steps is not None:
            self.total_steps = min(self.total_steps, cfg.max_steps)
        self.schedule = Schedule(
            cfg.schedule,
            total_steps=self.total_steps,
            warmup_steps=round(cfg.warmup_epochs * steps_per_epoch),
            step_size=max(1, cfg.step_epochs * steps_per_epoch),
        )
        # is it learning? the mean loss of every window of steps, against the chance loss
        self.window = max(5, min(50, self.total_steps // 20))
        self._window = [0.0, 0]  # the current window's loss sum and steps (saved for resume)
        counts = train_ds.class_counts()
        self.health = HealthMonitor(
            chance_loss(counts),
            chance_acc=max(counts) / max(1, sum(counts)),
            advice=self._advice(cfg),
            advice_stalled=self._advice_stalled(cfg),
            stop=cfg.stop_unhealthy,
        )
        self.ema = ModelEMA(self.model, cfg.ema_decay) if cfg.ema_decay else None
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.precision == "fp16")
        self.forward_model: nn.Module = self.model
        if cfg.compile:
            self.forward_model = torch.compile(self.model)
        self.step = 0
        self.epoch = 0
        self.history: list[dict] = []
        self.best_acc = -1.0
        self.elapsed = 0.0  # training wall time across resumes
        self._acc = {"loss_sum": 0.0, "correct": 0, "seen": 0}  # the current epoch's sums
        if self.resume_from is not None:
            self._restore(self.resume_from)

    @staticmethod
    def _advice(cfg: TrainConfig) -> str:
        tips = [f"a lower learning rate (--lr {cfg.lr / 4:.3g}; it was {cfg.lr:.3g})"]
        if not cfg.warmup_epochs:
            tips.append("a warm-up (--warmup-epochs 1)")
        if not cfg.grad_clip:
            tips.append("gradient clipping (--grad-clip 1.0)")
        if cfg.init is None:
            tips.append("the book's init (--init xavier)")
        if cfg.precision != "fp32":
            tips.append("--precision fp32")
        return f" Try {_one_of(tips)}, in a new run directory."

    @staticmethod
    def _advice_stalled(cfg: TrainConfig) -> str:
        tips = [f"a higher learning rate (--lr {cfg.lr * 4:.3g}; it was {cfg.lr:.3g})"]
        if cfg.init is None:
            tips.append("an init that keeps the signal's scale (--init kaiming for ReLU "
                        "networks, --init xavier for sigmoids)")  # fmt: skip
        tips.append("more steps")
        return (
            f" Try {_one_of(tips)}, in a new run directory; and check that the labels fit the "
            f"images."
        )

    # ------------------------------------------------------------------ state

    def _meta(self) -> dict:
        cfg = self.config
        return {
            "model": cfg.model,
            "model_options": cfg.model_options,
            "num_classes": self.num_classes,
            "in_channels": self.input_size[0],
            "input_size": list(self.input_size),
            "classes": self.classes,
            "mean": list(self.mean),
            "std": list(self.std),
            "data": cfg.data,
            "resize": cfg.resize,
        }

    def _state(self) -> dict:
        state = {
            "step": self.step,
            "epoch": self.epoch,
            "best_acc": self.best_acc,
            "elapsed": self.elapsed,
            "optimizer": self.optimizer.state_dict(),
            "loader": self.train_loader.state_dict(),
            "rng_cpu": torch.get_rng_state(),
            "history_json": json.dumps(self.history),
            "epoch_sums_json": json.dumps(self._acc),
            "health_json": json.dumps(self.health.state_dict() | {"window": self._window}),
            "config_json": json.dumps(self.config.to_dict()),
        }
        if self.device.type == "cuda":
            state["rng_cuda"] = torch.cuda.get_rng_state(self.device)
        if self.ema is not None:
            state["ema"] = self.ema.state_dict()
        if self.scaler.is_enabled():
            state["scaler"] = self.scaler.state_dict()
        return state

    def _save(self, best: bool = False) -> None:
        save_checkpoint(
            self.ckpt_dir,
            self.step,
            self.model.state_dict(),
            self._state(),
            self._meta(),
            ema_state=self.ema.module.state_dict() if self.ema else None,
            best=best,
        )
        self.store.heartbeat(self.run_id)

    def _restore(self, ckpt) -> None:
        st = ckpt.state
        self.model.load_state_dict(ckpt.model)
        if self.ema is not None and ckpt.ema is not None:
            self.ema.module.load_state_dict(ckpt.ema)
            self.ema.load_state_dict(st["ema"])
        self.optimizer.load_state_dict(st["optimizer"])
        self.train_loader.load_state_dict(st["loader"])
        torch.set_rng_state(st["rng_cpu"])
        if "rng_cuda" in st and self.device.type == "cuda":
            torch.cuda.set_rng_state(st["rng_cuda"], self.device)
        if "scaler" in st:
            self.scaler.load_state_dict(st["scaler"])
        self.step, self.epoch = int(st["step"]), int(st["epoch"])
        self.best_acc, self.elapsed = float(st["best_acc"]), float(st["elapsed"])
        self.history = json.loads(st["history_json"])
        self._acc = json.loads(st["epoch_sums_json"])
        if "health_json" in st:
            health = json.loads(st["health_json"])
            self.health.load_state_dict(health)
            self._window = list(health.get("window", [0.0, 0]))

    # ------------------------------------------------------------------ loop

    def _log(self, msg: str) -> None:
        if not self.quiet:
            print(msg, flush=True)

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        cfg = self.config
        lr = set_lr(self.optimizer, cfg.lr, self.schedule(self.step))
        with autocast_context(self.device, self.precision):
            logits = self.forward_model(x)
        loss = F.cross_entropy(logits.float(), y, label_smoothing=cfg.label_smoothing)
        if not torch.isfinite(loss):
            raise NonFiniteLossError(
                f"the loss became {loss.item()} at step {self.step} (epoch {self.epoch + 1}, "
                f"learning rate {lr:.4g}). Training stopped; the last good checkpoint in "
                f"{self.ckpt_dir} is intact. Try a lower --lr, gradient clipping "
                f"(--grad-clip 1.0) or --precision fp32."
            )
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if cfg.grad_clip:
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if self.ema is not None:
            self.ema.update(self.model)
        self.step += 1
        correct = (logits.detach().argmax(1) == y).sum()
        return loss.detach(), correct

    def fit(self) -> dict:
        """Train to the end (or ``max_steps``), evaluate on the test split, write the report.
        Returns the final metrics."""
        cfg = self.config
        self.store.start_run(
            self.run_id, cfg.model, cfg.data, cfg.to_dict(), str(self.out_dir.resolve())
        )
        if self.resume_from is not None:
            self._log(f"resuming {self.out_dir} at step {self.step} (epoch {self.epoch + 1})")
        else:
            _, h, w = self.input_size
            self._log(
                f"training {cfg.model} on {cfg.data} at {h}x{w}{self.input_note} "
                f"({self.device.type}, {self.precision}"
                f"{', channels_last' if self.channels_last else ''}) -> {self.out_dir}"
            )
        try:
            self._fit_loop()
            return self._finish()
        except NonFiniteLossError as e:
            self.store.finish_run(self.run_id, "failed", wall_time=self.elapsed, error=str(e))
            raise
        except KeyboardInterrupt:
            self.store.finish_run(
                self.run_id, "interrupted", wall_time=self.elapsed, error="interrupted"
            )
            raise
        except Exception as e:
            self.store.finish_run(self.run_id, "failed", wall_time=self.elapsed, error=repr(e))
            raise
        finally:
            self._lock.close()

    def _fit_loop(self) -> None:
        cfg = self.config
        last_save = time.perf_counter()
        health = self.health
        while self.step < self.total_steps and self.epoch < cfg.epochs and health.diagnosis is None:
            self.train_loader.set_epoch(self.epoch)  # keeps the position of a resumed epoch
            start_pos = self.train_loader.state_dict()["position"]
            if start_pos == 0:
                self._acc = {"loss_sum": 0.0, "correct": 0, "seen": 0}
            self.model.train()
            t0 = time.perf_counter()
            train_time = 0.0  # this epoch's training time in this process, checkpoints excluded
            seen_here = 0
            # running sums stay on the device (no sync per step); a resumed epoch starts from
            # the sums saved with the checkpoint, so its metrics equal an uninterrupted run's
            loss_sum = torch.tensor(self._acc["loss_sum"], dtype=torch.float64, device=self.device)
            correct = torch.tensor(self._acc["correct"], dtype=torch.int64, device=self.device)
            seen = int(self._acc["seen"])
            win_sum = torch.tensor(self._window[0], dtype=torch.float64, device=self.device)
            win_n = int(self._window[1])
            n_batches = len(self.train_loader) - start_pos
            bar = Progress(n_batches, f"epoch {self.epoch + 1}/{cfg.epochs}", not self.quiet)
            finished_epoch = True
            for done, (x, y) in enumerate(self.train_loader, start=1):
                loss, corr = self.train_step(x, y)
                loss_sum += loss.double() * y.numel()
                correct += corr
                seen += y.numel()
                seen_here += y.numel()
                win_sum += loss.double()
                win_n += 1
                if win_n == self.window:
                    health.add_window(self.step, float(win_sum) / win_n)
                    win_sum.zero_()
                    win_n = 0
                if bar.enabled:
                    bar.update(done, seen, loss=float(loss_sum) / seen, acc=float(correct) / seen)
                now = time.perf_counter()
                every_steps = cfg.checkpoint_every_steps
                if (every_steps and self.step % every_steps == 0) or (
                    not every_steps and now - last_save > cfg.checkpoint_every
                ):
                    self.elapsed += now - t0
                    train_time += now - t0
                    self._acc = {
                        "loss_sum": float(loss_sum), "correct": int(correct), "seen": seen
                    }  # fmt: skip
                    self._window = [float(win_sum), win_n]
                    self._save()
                    last_save = t0 = time.perf_counter()
                if self.step >= self.total_steps or health.diagnosis is not None:
                    finished_epoch = done == n_batches
                    break
            bar.close()
            self._window = [float(win_sum), win_n]
            tail = time.perf_counter() - t0
            self.elapsed += tail
            train_time += tail
            metrics = {
                "epoch": self.epoch + 1,
                "step": self.step,
                "train_loss": float(loss_sum) / max(1, seen),
                "train_acc": float(correct) / max(1, seen),
                "lr": self.optimizer.param_groups[0]["lr"],
                "images_per_s": seen_here / train_time if train_time > 0 else 0.0,
                "epoch_time": train_time,
                "elapsed": self.elapsed,
            }
            select = "val" if "val" in self.eval_loaders else "test"
            res = None
            if select == "val" or self.epoch_eval:
                res = self._evaluate(select)
                metrics[f"{select}_loss"], metrics[f"{select}_acc"] = res.loss, res.acc
                if select == "test":
                    self._last_test = (self.step, res)
                if self.ema is not None:
                    ema_res = self._evaluate(select, self.ema.module)
                    metrics[f"ema_{select}_acc"] = ema_res.acc
            if finished_epoch or self.step >= self.total_steps:
                self.epoch += 1
            self._acc = {"loss_sum": 0.0, "correct": 0, "seen": 0}
            if finished_epoch:
                health.end_epoch(
                    metrics["train_loss"], metrics["epoch"], self.steps_per_epoch,
                    metrics["train_acc"],
                )  # fmt: skip
            if self.step >= self.total_steps or self.epoch >= cfg.epochs:
                if self._window[1]:  # the last, partial window counts too
                    health.add_window(self.step, self._window[0] / self._window[1])
                    self._window = [0.0, 0]
                health.end_run(metrics["train_acc"])
            self.history.append(_json_safe(metrics))
            best = res is not None and res.acc > self.best_acc
            if best:
                self.best_acc = res.acc
            self._save(best=best)
            last_save = time.perf_counter()
            self._write_metrics()
            self.store.log_epoch(
                self.run_id, len(self.history) - 1,
                metrics | {"val_acc": res.acc if res is not None else None},
            )  # fmt: skip
            if health.diagnosis is not None:
                self._log(f"stopping: {health.diagnosis}")
            evaluated = ""
            if res is not None:
                evaluated = f"  {select} loss {res.loss:.4f}  acc {res.acc:.4f}" + (
                    f"  (ema {metrics[f'ema_{select}_acc']:.4f})" if self.ema else ""
                )
            self._log(
                f"epoch {metrics['epoch']:>3}/{cfg.epochs}  train loss {metrics['train_loss']:.4f}"
                f"  acc {metrics['train_acc']:.4f}{evaluated}"
                f"  {metrics['images_per_s']:,.0f} img/s  {train_time:.1f}s"
            )

    def _evaluate(self, split: str, model: nn.Module | None = None) -> EvalResult:
        return evaluate(
            model or self.model,
            self.eval_loaders[split],
            self.num_classes,
            self.device,
            self.precision,
            self.config.tta,
        )

    def _write_metrics(self) -> None:
        keys: list[str] = []
        for row in self.history:
            keys += [k for k in row if k not in keys]
        tmp = self.out_dir / ".metrics.jsonl.tmp"
        tmp.write_text("".join(json.dumps(r) + "\n" for r in self.history))
        os.replace(tmp, self.out_dir / "metrics.jsonl")
        tmp = self.out_dir / ".metrics.csv.tmp"
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=keys)
            w.writeheader()
            w.writerows(self.history)
        os.replace(tmp, self.out_dir / "metrics.csv")

    def _finish(self) -> dict:
        # Evaluate the best checkpoint (by validation accuracy when there is a validation split,
        # else the last weights) on the test split.
        model = self.model
        if "val" in self.eval_loaders:
            from cnnzoo.train.inference import load_trained_model

            model, _ = load_trained_model(self.out_dir, which="best", device=str(self.device))
            if self.channels_last:
                model.to(memory_format=torch.channels_last)
        if model is self.model and self._last_test and self._last_test[0] == self.step:
            test = self._last_test[1]  # the last epoch's evaluation, of these very weights
        else:
            test = self._evaluate("test", model)
        status, diagnosis = "finished", self.health.diagnosis
        if diagnosis is not None:
            status = "diverged"
        elif not math.isfinite(test.loss):
            status = "failed"
            diagnosis = (
                f"the test loss is {test.loss} (the network's outputs overflow on the test "
                f"images) although training ended normally." + self._advice(self.config)
            )
        result = {
            "model": self.config.model,
            "data": self.config.data,
            "status": status,
            "diagnosis": diagnosis,
            "test_acc": test.acc,
            "test_loss": test.loss,
            "best_val_acc": self.best_acc if "val" in self.eval_loaders else None,
            "epochs": self.epoch,
            "steps": self.step,
            "wall_time": self.elapsed,
            "images_per_s": (self.history[-1]["images_per_s"] if self.history else 0.0),
            "params": sum(p.numel() for p in self.model.parameters()),
            "device": self.device.type,
            "precision": self.precision,
            "channels_last": self.channels_last,
            "machine": platform.processor() or platform.machine(),
            "threads": torch.get_num_threads(),
            "classes": self.classes,
            "per_class_acc": test.per_class_acc,
            "confusion": test.confusion,
            "train_loss_curve": self.health.curve,
            "health_warning": self.health.warning,
            "chance_loss": self.health.chance,
        }
        if self.ema is not None:
            result["ema_test_acc"] = self._evaluate("test", self.ema.module).acc
        result = _json_safe(result)
        tmp = self.out_dir / ".eval.json.tmp"
        tmp.write_text(json.dumps(result, indent=2, allow_nan=False))
        os.replace(tmp, self.out_dir / "eval.json")
        if self.plots:
            from cnnzoo.report import write_run_report

            write_run_report(self.out_dir, self.history, result)
        self.store.finish_run(
            self.run_id, status, test_acc=test.acc, wall_time=self.elapsed, error=diagnosis
        )
        what = "done" if status == "finished" else f"{status.upper()}"
        self._log(
            f"{what}: test accuracy {test.acc:.4f} after {self.epoch} epochs, "
            f"{self.elapsed:.1f}s of training; report in {self.out_dir / 'summary.md'}"
        )
        if diagnosis:
            self._log(f"{status}: {diagnosis}")
        return result


def fixed_subset(ds, n: int):
    """The same ``n`` images of ``ds`` whatever the run's seed (so that runs, and `cnnzoo
    eval --test-subset`, compare on the same images)."""
    g = torch.Generator().manual_seed(12345)
    return ds.subset(torch.randperm(len(ds), generator=g)[:n])


def _check_splits_match(cfg: TrainConfig, train_ds, test_ds) -> None:
    """Refuse, before the first step, a test split the network could not take after training
    on the training split (another number of channels; another size with nothing resizing)."""
    from cnnzoo.errors import DataError

    c, h, w = train_ds.images.shape[1:]
    tc, th, tw = test_ds.images.shape[1:]
    if tc != c:
        raise DataError(
            f"{cfg.data}: the training images have {c} channel(s) but the test images have {tc} "
            "(e.g. one colour or RGBA image among grayscale ones): make them all grayscale or "
            "all colour"
        )
    if cfg.resize is None and (th, tw) != (h, w):
        raise DataError(
            f"{cfg.data}: the training images are {h}x{w} but the test images {th}x{tw}: "
            "resize them alike (--resize N)"
        )


#: what may differ between a run and the command that resumes it: its length, and where and
#: how often it computes and saves (none of them changes what is learned)
RESUME_MAY_CHANGE = (
    "epochs", "max_steps", "device", "eval_batch_size", "checkpoint_every",
    "checkpoint_every_steps", "compile",
)  # fmt: skip


def resume_differences(saved: TrainConfig, new: TrainConfig) -> list[str]:
    """The settings in which ``new`` differs from the run's ``saved`` config, as
    "name: saved in the run, new now" (empty when ``new`` may resume the run). A setting left
    to the trainer (``resize`` None) takes the run's value."""
    a, b = saved.to_dict(), _with_data_resolved(new).to_dict()
    out = []
    for key, was in a.items():
        now = b.get(key)
        if key in RESUME_MAY_CHANGE or (key == "resize" and now is None):
            continue
        if not _same_setting(was, now):
            out.append(f"{key}: {was!r} in the run, {now!r} now")
    return out


def _same_setting(a: object, b: object) -> bool:
    """Equal as settings: 16 and 16.0 are the same number."""
    numbers = (int, float)
    if (
        isinstance(a, numbers)
        and isinstance(b, numbers)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    ):
        return float(a) == float(b)
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def _with_data_resolved(config: TrainConfig) -> TrainConfig:
    """An image folder's path made absolute, so that the run (its config and metadata) finds
    its data from any working directory; a catalogue name stays a name."""
    from cnnzoo.data.catalogue import _looks_like_path

    if config.data and _looks_like_path(config.data):
        path = Path(config.data).expanduser()
        if path.exists():
            return config.replace(data=str(path.resolve()))
    return config


def train(
    config: TrainConfig | None = None,
    out_dir: str | Path | None = None,
    *,
    resume: bool = False,
    quiet: bool = False,
    store: str | Path | None = None,
    plots: bool = True,
    epoch_eval: bool = True,
    **config_fields: object,
) -> dict:
    """Train a model in one call: ``cnnzoo.train(model="lenet5", epochs=2, out_dir="runs/x")``
    or with a :class:`TrainConfig`. Returns the final metrics (see ``eval.json``).

    ``epoch_eval=False`` skips the per-epoch evaluation on the test split when no validation
    split is held out (the test split is then evaluated once, at the end): the same final
    result, without the curves, and faster when the test split is large."""
    if config is None:
        recipe = config_fields.pop("recipe", None)
        if recipe:
            from cnnzoo.train.recipes import recipe_config

            config = recipe_config(str(recipe), str(config_fields.pop("model")), **config_fields)
        else:
            config = TrainConfig(**config_fields)  # type: ignore[arg-type]
    elif config_fields:
        config = config.replace(**config_fields)
    if out_dir is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        out_dir = Path("runs") / f"{config.model}-{config.data}-{stamp}"
    trainer = Trainer(
        config, out_dir, resume=resume, quiet=quiet, store=store, plots=plots,
        epoch_eval=epoch_eval,
    )  # fmt: skip
    return trainer.fit()
