"""Is the run learning? Divergence and stalls are told apart from success, with advice.

The trainer feeds the mean training loss of every window of steps to a :class:`HealthMonitor`.
Two failures are recognised, both measured against the *chance* loss, the cross-entropy of a
network that predicts the class frequencies (ln C for C balanced classes), which any network
reaches by learning nothing:

- **blew up**: a window's loss is at least three times the chance loss and three times the best
  window so far. The run stops at once (the weights are not going to come back).
- **at chance**: the loss stays within 3% of the chance loss. The run stops after two whole
  epochs like that (a sigmoid network may sit there for a while before it starts to learn), and
  a run that *ends* there is marked diverged (unless it is shorter than 50 steps, too
  short to tell).

A run so marked has status ``diverged`` (not ``finished``) in ``eval.json``, the runs store
(``cnnzoo runs``) and ``summary.md``, with the diagnosis and what to try.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["HealthMonitor", "chance_loss"]

BLOW_UP = 3.0  # a window's loss this many times the chance loss (and its best) blew up
AT_CHANCE = 0.97  # a loss above this fraction of the chance loss has learned nothing
STALL_EPOCHS = 2  # whole epochs at chance before the run is stopped
MIN_STEPS = 50  # a shorter run (a smoke test) is too short to be judged at its end


def chance_loss(class_counts: list[int]) -> float:
    """Cross-entropy of predicting the class frequencies: the entropy of the label prior."""
    total = sum(class_counts)
    return -sum(c / total * math.log(c / total) for c in class_counts if c > 0)


@dataclass
class HealthMonitor:
    """Keeps the windows' losses (``curve``: ``[step, mean loss]``) and says when to stop."""

    chance: float
    advice: str = ""
    curve: list[list[float]] = field(default_factory=list)
    stalled_epochs: int = 0
    diagnosis: str | None = None  # set once the run is judged diverged

    def add_window(self, step: int, loss: float) -> str | None:
        """Record a window's mean loss; returns the diagnosis when the run blew up."""
        self.curve.append([step, loss])
        best = min(v for _, v in self.curve)
        if loss >= BLOW_UP * max(self.chance, best) and self.chance > 0:
            self.diagnosis = (
                f"the training loss blew up to {loss:.3g} at step {step} (chance level is "
                f"{self.chance:.3g}, its best so far {best:.3g}): the network diverged."
                + self.advice
            )
        return self.diagnosis

    def _at_chance(self, loss: float) -> bool:
        return not math.isfinite(loss) or loss >= AT_CHANCE * self.chance

    def end_epoch(self, epoch_loss: float, epoch: int) -> str | None:
        """Judge a whole epoch's mean training loss; returns the diagnosis once stalled."""
        self.stalled_epochs = self.stalled_epochs + 1 if self._at_chance(epoch_loss) else 0
        if self.stalled_epochs >= STALL_EPOCHS:
            self.diagnosis = (
                f"the training loss stayed at or above chance level ({epoch_loss:.3f}, chance "
                f"{self.chance:.3f}) for {self.stalled_epochs} epochs up to epoch {epoch}: the "
                f"network is not learning." + self.advice
            )
        return self.diagnosis

    def end_run(self) -> str | None:
        """At the end of the run: did it learn anything at all? (the last window's loss)"""
        steps = self.curve[-1][0] if self.curve else 0
        last = self.curve[-1][1] if self.curve else 0.0
        if self.diagnosis is None and steps >= MIN_STEPS and self._at_chance(last):
            self.diagnosis = (
                f"the training loss ended at or above chance level ({last:.3f}, chance "
                f"{self.chance:.3f}): the network did not learn." + self.advice
            )
        return self.diagnosis

    def state_dict(self) -> dict:
        return {
            "curve": self.curve,
            "stalled_epochs": self.stalled_epochs,
            "diagnosis": self.diagnosis,
        }

    def load_state_dict(self, state: dict) -> None:
        self.curve = [list(p) for p in state.get("curve", [])]
        self.stalled_epochs = int(state.get("stalled_epochs", 0))
        self.diagnosis = state.get("diagnosis")
