"""The training loop: readable top to bottom, resumable at any step, honest about failures.

:meth:`Trainer.fit` is the loop: each epoch is :meth:`~Trainer._train_epoch` (the steps, with
checkpoints on the way) then :meth:`~Trainer._end_epoch` (evaluate, judge the run's health,
record, checkpoint, log); :meth:`~Trainer._finish` ends the run (the test split, ``eval.json``,
the report). Beside it: ``run_dir`` (lock, resuming), ``run_data``, ``run_model``,
``bookkeeping`` (clock, running sums), ``results`` (the files written), ``device``, ``evaluation``,
``distributed`` (several processes under torchrun: rank 0 writes, evaluates and prints).

Over the ~450 lines a file keeps to: the loop is one class, with its hooks for several
processes and TensorBoard; what stands alone already lives in the modules named above.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from cnnzoo.errors import ConfigError, NonFiniteLossError
from cnnzoo.store import RunStore
from cnnzoo.train.bookkeeping import Clock, RunningSums
from cnnzoo.train.checkpoint import load_checkpoint, load_weights, save_checkpoint
from cnnzoo.train.config import TrainConfig
from cnnzoo.train.device import autocast_context, pick_channels_last, pick_precision
from cnnzoo.train.distributed import SilentStore, convert_sync_batchnorm, start_distributed
from cnnzoo.train.ema import ModelEMA
from cnnzoo.train.evaluation import EvalResult, evaluate
from cnnzoo.train.health import HealthMonitor
from cnnzoo.train.optim import Schedule, build_optimizer, set_lr
from cnnzoo.train.progress import Progress
from cnnzoo.train.results import (
    epoch_line,
    final_result,
    final_status,
    json_safe,
    recording_failures,
    write_eval,
    write_metrics,
)
from cnnzoo.train.run_data import prepare_data, train_resize
from cnnzoo.train.run_dir import default_out_dir, lock_run_dir, open_run, write_config
from cnnzoo.train.run_model import build_model
from cnnzoo.train.run_state import restore_trainer, trainer_state
from cnnzoo.train.tensorboard import TensorBoardLog

__all__ = ["Trainer", "train"]


class Trainer:
    """Trains one model on one data set; see :func:`train` for the one-call version.

    Everything the run produces goes to ``out_dir``: ``config.json``, ``checkpoints/``,
    ``metrics.jsonl`` and ``metrics.csv`` (one row per epoch), ``eval.json`` (test metrics),
    the plots and ``summary.md``. The run is also recorded in the SQLite store
    ``runs.sqlite`` next to ``out_dir`` (or ``store``).

    Each epoch is evaluated on the validation split when one is held out (``val_size``), which
    picks the best checkpoint; without one, on the test split, for the curves only (its
    metrics say ``test_``), and not at all with ``epoch_eval=False``.

    Started by torchrun (``WORLD_SIZE`` > 1), it trains with ``DistributedDataParallel``:
    ``batch_size`` is the global batch, each rank trains on its share of it; rank 0 alone
    takes the lock, writes, evaluates and prints, while the others wait for it.
    """

    def __init__(
        self,
        config: TrainConfig,
        out_dir: str | Path | None,
        *,
        resume: bool = False,
        quiet: bool = False,
        store: str | Path | None = None,
        plots: bool = True,
        epoch_eval: bool = True,
    ) -> None:
        self.dist = start_distributed(config.device)
        # rank 0's (None: runs/MODEL-DATA-TIME, whose time the ranks may not agree on)
        self.out_dir = Path(self.dist.share(out_dir or default_out_dir(config.model, config.data)))
        self.ckpt_dir = self.out_dir / "checkpoints"
        main = self.dist.is_main
        self.quiet, self.plots, self.epoch_eval = quiet or not main, plots, epoch_eval
        self._lock = contextlib.ExitStack()
        try:
            if main:  # one process per run directory (rank 0 for all the ranks) until fit() ends
                self._lock = lock_run_dir(self.out_dir)
            self.resume_from, config = open_run(self.out_dir, config, resume)
            self._write_config(config)
            db = store or self.out_dir.parent / "runs.sqlite"
            self.store = RunStore(db) if main else SilentStore()
            self.run_id = str(self.out_dir.resolve())
            self._build_data(config)
            self._build_model_and_optimizer()
            self._build_schedule_and_health()
            self._start_state()
            if self.resume_from is not None:
                restore_trainer(self, self.resume_from)
            self.tensorboard = None
            if self.config.tensorboard and self.dist.is_main:
                self.tensorboard = TensorBoardLog(self.out_dir, resume_step=self.step)
                self.tensorboard.resumed(self.step, self.history, self.health.curve)
        except BaseException:
            self._lock.close()
            self.dist.close()
            raise

    def _write_config(self, config: TrainConfig) -> None:
        if self.dist.is_main:
            write_config(self.out_dir, config)

    # ------------------------------------------------------------------ the steps of __init__

    def _build_data(self, config: TrainConfig) -> None:
        """The device and precision, the splits and their loaders; ``self.config`` gets the
        input size the network needs."""
        self.device = self.dist.device
        self.precision = pick_precision(self.device, config.precision)
        self.channels_last = pick_channels_last(self.precision, config.channels_last, self.device)
        with self.dist.main_first():  # rank 0 fetches a missing data set alone
            d = self.dist
            self.data = prepare_data(config, d.device, self.channels_last, d.rank, d.world_size)
        self.config = self.data.config
        self._write_config(self.config)
        self.train_loader, self.eval_loaders = self.data.train_loader, self.data.eval_loaders
        self.classes, self.num_classes = self.data.classes, len(self.data.classes)
        self.input_size = self.data.input_size

    def _build_model_and_optimizer(self) -> None:
        """The network (seeded, on the device), its optimiser, the EMA of its weights; with
        several ranks, its batch norms synchronised (``sync_bn``) and its DDP wrapper."""
        cfg = self.config
        # a resumed run takes its weights from its checkpoint, not from --init-from's file
        built = cfg.replace(init_from=None) if self.resume_from is not None else cfg
        self.model = build_model(
            built, self.num_classes, self.input_size[0], self.device, self.channels_last,
            log=self._log,
        )  # fmt: skip
        if cfg.sync_bn and self.dist.enabled:
            self.model = convert_sync_batchnorm(self.model, self.device)
        self.optimizer = build_optimizer(
            self.model, cfg.optimizer, cfg.lr, cfg.momentum, cfg.nesterov, cfg.weight_decay
        )
        self.ema = ModelEMA(self.model, cfg.ema_decay) if cfg.ema_decay else None
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.precision == "fp16")
        self.forward_model: nn.Module = self.dist.wrap(self.model)
        if cfg.compile:
            self.forward_model = torch.compile(self.forward_model)

    def _build_schedule_and_health(self) -> None:
        """The run's length in steps, the learning-rate schedule over it, and the health
        monitor: is it learning? (the mean loss of every window of steps, against chance)."""
        cfg = self.config
        self.steps_per_epoch = len(self.train_loader)
        if self.steps_per_epoch < 1:
            raise ConfigError(
                f"the training set has {self.data.train_size} images, fewer than one batch of "
                f"{cfg.batch_size}; lower the batch size"
            )
        self.total_steps = cfg.epochs * self.steps_per_epoch
        if cfg.max_steps is not None:
            self.total_steps = min(self.total_steps, cfg.max_steps)
        self.schedule = Schedule(
            cfg.schedule,
            total_steps=self.total_steps,
            warmup_steps=round(cfg.warmup_epochs * self.steps_per_epoch),
            step_size=max(1, cfg.step_epochs * self.steps_per_epoch),
        )
        self.window = max(5, min(50, self.total_steps // 20))
        self.health = HealthMonitor.for_run(cfg, self.data.class_counts)

    def _start_state(self) -> None:
        """Step 0 of a new run (a resumed run loads its own state over it)."""
        self.step = 0
        self.epoch = 0
        self.history: list[dict] = []
        self.best_acc = -1.0  # the best epoch evaluation's accuracy (validation, else test)
        self.clock = Clock()
        self.sums = RunningSums(self.device)
        self._last_test: tuple[int, EvalResult] | None = None  # (step, result) of the last one

    # ------------------------------------------------------------------ checkpoints

    def _save(self, best: bool = False) -> None:
        save_checkpoint(
            self.ckpt_dir,
            self.step,
            self.model.state_dict(),
            trainer_state(self),
            self.data.checkpoint_meta(),
            ema_state=self.ema.module.state_dict() if self.ema else None,
            best=best,
        )
        self.store.heartbeat(self.run_id)

    # ------------------------------------------------------------------ the loop

    def _log(self, msg: str) -> None:
        if not self.quiet:
            print(msg, flush=True)

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One optimiser step on a batch; returns its mean loss and number of correct
        predictions (tensors on the device: reading them waits for the step), over all the
        ranks' batches when there are several (so that every rank stops on a NaN together)."""
        cfg = self.config
        lr = set_lr(self.optimizer, cfg.lr, self.schedule(self.step))
        with autocast_context(self.device, self.precision):
            logits = self.forward_model(x)
        loss = F.cross_entropy(logits.float(), y, label_smoothing=cfg.label_smoothing)
        correct = (logits.detach().argmax(1) == y).sum()
        seen_loss = loss.detach()
        if self.dist.enabled:
            seen_loss, correct = self.dist.step_stats(seen_loss, correct)
        if not torch.isfinite(seen_loss):
            raise NonFiniteLossError(
                f"the loss became {seen_loss.item()} at step {self.step} (epoch {self.epoch + 1}, "
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
        return seen_loss, correct

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
                f"training {cfg.model} on {cfg.data} at {h}x{w}{self.data.input_note} "
                f"({self.device.type}, {self.precision}"
                f"{', channels_last' if self.channels_last else ''}) -> {self.out_dir}"
            )
        # the lock is released, and a run that raises is recorded as failed or interrupted
        with (
            self._lock,
            contextlib.closing(self.dist),
            recording_failures(self.store, self.run_id, lambda: self.clock.elapsed),
        ):
            try:
                self.clock.saved()
                while not self._run_over():
                    finished = self._train_epoch()
                    self._end_epoch(finished)
                return self._finish()
            finally:
                if self.tensorboard is not None:
                    self.tensorboard.close()  # what was logged stays readable, whatever ended it

    def _run_over(self) -> bool:
        return (
            self.step >= self.total_steps
            or self.epoch >= self.config.epochs
            or self.health.diagnosis is not None
        )

    def _train_epoch(self) -> bool:
        """The epoch's steps (the rest of them, in an epoch resumed midway), with checkpoints
        on the way. Returns False when the run's end, or its diagnosis, stopped it first."""
        loader, sums, clock = self.train_loader, self.sums, self.clock
        loader.set_epoch(self.epoch)  # keeps the position of a resumed epoch
        if self.config.progressive_epochs:
            size = train_resize(self.config, self.epoch, min(self.input_size[1:]))
            loader.augment = dataclasses.replace(loader.augment, resize=size)
        start = loader.state_dict()["position"]
        sums.start_epoch(fresh=start == 0)
        self.model.train()
        clock.start_epoch()
        n_batches = len(loader) - start
        bar = Progress(n_batches, f"epoch {self.epoch + 1}/{self.config.epochs}", not self.quiet)
        finished = True
        for done, (x, y) in enumerate(loader, start=1):
            loss, correct = self.train_step(x, y)
            sums.add(loss, correct, y.numel() * self.dist.world_size)  # the global batch
            if sums.window_steps == self.window:
                self._add_window()
            if bar.enabled:
                bar.update(done, sums.seen, loss=sums.loss(), acc=sums.accuracy())
            if self.dist.is_main and self._checkpoint_due():
                clock.stop()
                self._save()
                clock.restart()
            if self.step >= self.total_steps or self.health.diagnosis is not None:
                finished = done == n_batches
                break
        bar.close()
        clock.stop()
        return finished

    def _add_window(self) -> None:
        """A window of steps is over: its mean loss to the health monitor (and TensorBoard)."""
        loss = self.sums.take_window()
        self.health.add_window(self.step, loss)
        if self.tensorboard is not None:
            self.tensorboard.window(self.step, loss)

    def _checkpoint_due(self) -> bool:
        """Every ``checkpoint_every_steps`` steps when set, else every ``checkpoint_every``
        seconds."""
        every_steps = self.config.checkpoint_every_steps
        if every_steps:
            return self.step % every_steps == 0
        return self.clock.since_saved() > self.config.checkpoint_every

    def _end_epoch(self, finished: bool) -> None:
        """Evaluate, judge the run's health, record the epoch, checkpoint, log."""
        sums, clock = self.sums, self.clock
        metrics = {
            "epoch": self.epoch + 1,
            "step": self.step,
            "train_loss": sums.loss(),
            "train_acc": sums.accuracy(),
            "lr": self.optimizer.param_groups[0]["lr"],
            "images_per_s": sums.seen_here / clock.epoch_time if clock.epoch_time > 0 else 0.0,
            "epoch_time": clock.epoch_time,
            "elapsed": clock.elapsed,
        }
        if self.config.progressive_epochs:  # the size this epoch trained at
            metrics["image_size"] = "{}x{}".format(*self.train_loader.output_shape[1:])
        split, res = self._evaluate_epoch(metrics) if self.dist.is_main else ("", None)
        # Unix time once the epoch's evaluation is done: accuracy against the wall time of the
        # whole process, start-up included (benchmarks/time_to_accuracy.py)
        metrics["time"] = time.time()
        if finished or self.step >= self.total_steps:
            self.epoch += 1
        sums.new_epoch()
        self._judge_health(finished, metrics)
        self.history.append(json_safe(metrics))  # type: ignore[arg-type]
        best = res is not None and res.acc > self.best_acc
        if best:
            self.best_acc = res.acc
        if not self.dist.is_main:
            return  # rank 0 records the epoch
        self._save(best=best)
        clock.saved()
        write_metrics(self.out_dir, self.history)
        self.store.log_epoch(self.run_id, len(self.history) - 1, metrics)
        if self.tensorboard is not None:
            self.tensorboard.epoch(metrics)
        if self.health.diagnosis is not None:
            self._log(f"stopping: {self.health.diagnosis}")
        self._log(epoch_line(metrics, self.config.epochs, split, res))

    def _evaluate_epoch(self, metrics: dict) -> tuple[str, EvalResult | None]:
        """The epoch's evaluation, added to ``metrics`` under the split's name: the validation
        split, else the test split (unless ``epoch_eval`` is off: then none)."""
        split = "val" if "val" in self.eval_loaders else "test"
        if split == "test" and not self.epoch_eval:
            return split, None
        res = self._evaluate(split)
        metrics[f"{split}_loss"], metrics[f"{split}_acc"] = res.loss, res.acc
        if split == "test":
            self._last_test = (self.step, res)
        if self.ema is not None:
            metrics[f"ema_{split}_acc"] = self._evaluate(split, self.ema.module).acc
        return split, res

    def _judge_health(self, finished: bool, metrics: dict) -> None:
        """The health monitor judges a whole epoch and, at the run's end, its last (partial)
        window of steps and the run."""
        if finished:
            self.health.end_epoch(
                metrics["train_loss"], metrics["epoch"], self.steps_per_epoch,
                metrics["train_acc"],
            )  # fmt: skip
        if self.step >= self.total_steps or self.epoch >= self.config.epochs:
            if self.sums.window_steps:  # the last, partial window counts too
                self._add_window()
            self.health.end_run(metrics["train_acc"])

    def _evaluate(self, split: str, model: nn.Module | None = None) -> EvalResult:
        return evaluate(model or self.model, self.eval_loaders[split], self.num_classes,
                        self.device, self.precision, self.config.tta)  # fmt: skip

    # ------------------------------------------------------------------ the end

    def _finish(self) -> dict:
        """Evaluate on the test split the best checkpoint (by validation accuracy) when there
        is a validation split, else the last weights; write ``eval.json`` and the report.
        With several ranks, rank 0 does it and every rank returns its result."""
        return self.dist.share(self._finish_main() if self.dist.is_main else None)  # type: ignore[return-value]

    def _finish_main(self) -> dict:
        model = self.model
        if "val" in self.eval_loaders:  # the network with the best checkpoint's weights
            model = copy.deepcopy(self.model)
            best = load_checkpoint(self.out_dir, which="best", state=False)
            load_weights(model, best.model, best.path)
        if model is self.model and self._last_test and self._last_test[0] == self.step:
            test = self._last_test[1]  # the last epoch's evaluation, of these very weights
        else:
            test = self._evaluate("test", model)
        status, diagnosis = final_status(self.health.diagnosis, test, self.health.advice)
        result = write_eval(self.out_dir, self._result(status, diagnosis, test))
        if self.plots:
            from cnnzoo.report import write_run_report

            write_run_report(self.out_dir, self.history, result)
        if self.tensorboard is not None:
            self.tensorboard.finish(result, self.step)
        self.store.finish_run(
            self.run_id, status, test_acc=test.acc, wall_time=self.clock.elapsed, error=diagnosis
        )
        what = "done" if status == "finished" else f"{status.upper()}"
        self._log(
            f"{what}: test accuracy {test.acc:.4f} after {self.epoch} epochs, "
            f"{self.clock.elapsed:.1f}s of training; report in {self.out_dir / 'summary.md'}"
        )
        if diagnosis:
            self._log(f"{status}: {diagnosis}")
        return result

    def _result(self, status: str, diagnosis: str | None, test: EvalResult) -> dict:
        result = final_result(
            self.config.model, self.config.data, status, diagnosis, test, self.health,
            best_val_acc=self.best_acc if "val" in self.eval_loaders else None,
            epochs=self.epoch, steps=self.step, wall_time=self.clock.elapsed,
            images_per_s=self.history[-1]["images_per_s"] if self.history else 0.0,
            params=sum(p.numel() for p in self.model.parameters()),
            device=self.device.type, precision=self.precision,
            channels_last=self.channels_last, classes=self.classes,
        )  # fmt: skip
        if self.dist.enabled:
            result["processes"] = self.dist.world_size
        if self.ema is not None:
            result["ema_test_acc"] = self._evaluate("test", self.ema.module).acc
        return result


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
    ``out_dir`` defaults to ``runs/MODEL-DATA-TIME``.

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
        out_dir = default_out_dir(config.model, config.data)
    trainer = Trainer(
        config, out_dir, resume=resume, quiet=quiet, store=store, plots=plots,
        epoch_eval=epoch_eval,
    )  # fmt: skip
    return trainer.fit()
