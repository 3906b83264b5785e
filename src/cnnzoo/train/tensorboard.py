"""TensorBoard logging of a training run (``--tensorboard``): the epoch's scalars (loss,
accuracy, learning rate, images/s), the training loss of every window of steps, and at the end
the test metrics and the confusion matrix, as event files in the run directory, so that
``tensorboard --logdir runs/`` shows every run. Written with PyTorch's own ``SummaryWriter``,
which needs the ``tensorboard`` package (the ``cnnzoo[tensorboard]`` extra)."""

from __future__ import annotations

import math
from pathlib import Path

from cnnzoo.errors import ConfigError

__all__ = ["TensorBoardLog"]

#: an epoch's metric -> its TensorBoard tag (grouped by the part before the slash)
EPOCH_TAGS = {
    "train_loss": "loss/train",
    "val_loss": "loss/val",
    "test_loss": "loss/test",
    "train_acc": "accuracy/train",
    "val_acc": "accuracy/val",
    "test_acc": "accuracy/test",
    "ema_val_acc": "accuracy/val_ema",
    "ema_test_acc": "accuracy/test_ema",
    "lr": "optim/lr",
    "images_per_s": "speed/images_per_s",
    "epoch_time": "speed/epoch_seconds",
}


class TensorBoardLog:
    """Event files in ``out_dir``; the x axis is the optimiser step. A resumed run passes the
    step it resumes from: TensorBoard then drops what the interrupted process logged from that
    step on (so the curves have no duplicate stretch), and :meth:`resumed` logs again what the
    checkpoint holds at that very step."""

    def __init__(self, out_dir: str | Path, resume_step: int | None = None) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ConfigError(
                "--tensorboard needs the tensorboard package: pip install 'cnnzoo[tensorboard]' "
                "(or pip install tensorboard)"
            ) from None
        self.writer = SummaryWriter(log_dir=str(out_dir), purge_step=resume_step or None)

    def _scalar(self, tag: str, value: object, step: int) -> None:
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            self.writer.add_scalar(tag, value, step)

    def resumed(self, step: int, history: list[dict], curve: list) -> None:
        """Log again the epochs and windows of steps that ended at ``step`` (the resumed
        checkpoint's): their events were dropped with everything from ``step`` on."""
        for s, loss in curve:
            if s >= step:
                self.window(int(s), loss)
        for row in history:
            if row.get("step", -1) >= step:
                self.epoch(row)

    def window(self, step: int, loss: float) -> None:
        """The mean training loss of the window of steps ending at ``step``."""
        self._scalar("loss/train_steps", loss, step)

    def epoch(self, metrics: dict) -> None:
        """An epoch's metrics (the trainer's ``metrics.jsonl`` row), at its last step."""
        for key, tag in EPOCH_TAGS.items():
            if key in metrics:
                self._scalar(tag, metrics[key], metrics["step"])
        self.writer.flush()

    def finish(self, result: dict, step: int) -> None:
        """The run's end: test metrics and the confusion matrix (as a figure)."""
        self._scalar("final/test_acc", result.get("test_acc"), step)
        self._scalar("final/test_loss", result.get("test_loss"), step)
        if result.get("confusion"):
            from cnnzoo.report import confusion_figure

            title = f"{result['model']} on {result['data']}: test split"
            fig = confusion_figure(result["confusion"], result["classes"], title)
            self.writer.add_figure("confusion_matrix", fig, step)  # closes the figure
        status = result.get("status", "finished")
        self.writer.add_text("status", status + (f": {result['diagnosis']}"
                             if result.get("diagnosis") else ""), step)  # fmt: skip
        self.close()

    def close(self) -> None:
        self.writer.close()
