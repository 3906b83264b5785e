"""What the training loop counts as it goes: its training time (checkpoint writing and
evaluation excluded) and its running sums (the epoch's loss and accuracy, the health monitor's
window of losses), kept on the device so that a step never waits for a sync."""

from __future__ import annotations

import time

import torch

__all__ = ["Clock", "RunningSums"]


class Clock:
    """Training time: ``elapsed``, the run's across resumes (saved with checkpoints), and
    ``epoch_time``, the current epoch's in this process; and the time since the last
    checkpoint. Stopped while a checkpoint is written, not running between epochs."""

    def __init__(self, elapsed: float = 0.0) -> None:
        self.elapsed = elapsed
        self.epoch_time = 0.0
        self._start = self._saved = time.perf_counter()

    def start_epoch(self) -> None:
        self.epoch_time = 0.0
        self._start = time.perf_counter()

    def stop(self) -> None:
        """Count the time since the clock (re)started."""
        lap = time.perf_counter() - self._start
        self.elapsed += lap
        self.epoch_time += lap

    def restart(self) -> None:
        """Go on after a checkpoint written mid-epoch."""
        self._start = self._saved = time.perf_counter()

    def saved(self) -> None:
        """A checkpoint was written (at the end of an epoch)."""
        self._saved = time.perf_counter()

    def since_saved(self) -> float:
        return time.perf_counter() - self._saved


class RunningSums:
    """The current epoch's training loss and accuracy sums, and the sum and length of the
    health monitor's current window of step losses. Checkpoints save them as numbers, so that
    a resumed epoch's metrics equal an uninterrupted run's."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.load_state_dict({"loss_sum": 0.0, "correct": 0, "seen": 0}, [0.0, 0])

    def load_state_dict(self, epoch: dict, window: list) -> None:
        dev = self.device
        self.loss_sum = torch.tensor(epoch["loss_sum"], dtype=torch.float64, device=dev)
        self.correct = torch.tensor(epoch["correct"], dtype=torch.int64, device=dev)
        self.seen = int(epoch["seen"])
        self.seen_here = 0  # images trained on in this process this epoch (for images/s)
        self.window_sum = torch.tensor(window[0], dtype=torch.float64, device=dev)
        self.window_steps = int(window[1])

    def epoch_state(self) -> dict:
        return {"loss_sum": float(self.loss_sum), "correct": int(self.correct), "seen": self.seen}

    def window_state(self) -> list:
        return [float(self.window_sum), self.window_steps]

    def start_epoch(self, fresh: bool) -> None:
        """An epoch starts: from zero when ``fresh``, else (resumed mid-epoch) from the sums
        loaded with the checkpoint."""
        self.seen_here = 0
        if fresh:
            self.new_epoch()

    def new_epoch(self) -> None:
        """Zero the epoch's sums (the window of steps goes on across epochs)."""
        self.loss_sum.zero_()
        self.correct.zero_()
        self.seen = 0

    def add(self, loss: torch.Tensor, correct: torch.Tensor, n: int) -> None:
        """One step: its mean loss and number of correct predictions over ``n`` images."""
        self.loss_sum += loss.double() * n
        self.correct += correct
        self.seen += n
        self.seen_here += n
        self.window_sum += loss.double()
        self.window_steps += 1

    def take_window(self) -> float:
        """The window's mean step loss; the next window starts empty."""
        mean = float(self.window_sum) / self.window_steps
        self.window_sum.zero_()
        self.window_steps = 0
        return mean

    def loss(self) -> float:
        return float(self.loss_sum) / max(1, self.seen)

    def accuracy(self) -> float:
        return float(self.correct) / max(1, self.seen)
