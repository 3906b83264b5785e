"""Is the run learning? Divergence and stalls are told apart from success, with advice.

The trainer feeds the mean training loss of every window of steps to a :class:`HealthMonitor`.
Two failures are recognised, both measured against the *chance* loss, the cross-entropy of a
network that predicts the class frequencies (ln C for C balanced classes), which any network
reaches by learning nothing:

- **blew up**: every window over at least 100 steps (and three windows) has a loss at least
  three times the chance loss and three times the best window before them. The run stops at
  once. (A shorter stretch like that is a spike, which deep networks often show early in
  training, on small batches especially, and recover from.)
- **at chance**: an epoch's loss is no lower than 97% of the chance loss and not falling (less
  than 5% below the epoch before, or the first window of steps for the first epoch: a loss
  that starts far above chance, as He's init may give, and comes down is learning). The run
  stops after two epochs like that in a row (a sigmoid network may sit there for a while
  before it starts to learn), and a run that *ends* there is marked diverged (unless it is
  shorter than 50 steps, too short to tell).

A run so marked has status ``diverged`` (not ``finished``) in ``eval.json``, the runs store
(``cnnzoo runs``) and ``summary.md``, with the diagnosis and what to try.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cnnzoo.train.config import TrainConfig

__all__ = ["HealthMonitor", "advice_when_diverged", "advice_when_stalled", "chance_loss"]

BLOW_UP = 3.0  # a window's loss this many times the chance loss (and its best) blew up
AT_CHANCE = 0.97  # a loss above this fraction of the chance loss has learned nothing
FALLING = 0.95  # an epoch's loss this much below the one before is still falling
BLOW_UP_WINDOWS = 3  # windows in a row that far up before the run is stopped...
BLOW_UP_STEPS = 100  # ... spanning at least this many steps
STALL_EPOCHS = 2  # whole epochs at chance before the run is stopped...
STALL_STEPS = 200  # ... and at least this many steps (an epoch of tiny data is a few steps)
MIN_STEPS = 50  # a shorter run (a smoke test) is too short to be judged at its end


def chance_loss(class_counts: list[int]) -> float:
    """Cross-entropy of predicting the class frequencies: the entropy of the label prior."""
    total = sum(class_counts)
    return -sum(c / total * math.log(c / total) for c in class_counts if c > 0)


def _one_of(items: list[str]) -> str:
    """ "a, b or c"."""
    return ", ".join(items[:-1]) + " or " + items[-1] if len(items) > 1 else items[0]


def advice_when_diverged(cfg: TrainConfig) -> str:
    """What to try when a run with ``cfg`` blew up: a lower rate, and what it went without."""
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


def advice_when_stalled(cfg: TrainConfig) -> str:
    """What to try when a run with ``cfg`` never left chance: a higher rate, another init."""
    tips = [f"a higher learning rate (--lr {cfg.lr * 4:.3g}; it was {cfg.lr:.3g})"]
    if cfg.init is None:
        tips.append("an init that keeps the signal's scale (--init kaiming for ReLU "
                    "networks, --init xavier for sigmoids)")  # fmt: skip
    tips.append("more steps")
    return (
        f" Try {_one_of(tips)}, in a new run directory; and check that the labels fit the images."
    )


@dataclass
class HealthMonitor:
    """Keeps the windows' losses (``curve``: ``[step, mean loss]``) and says when to stop."""

    chance: float
    chance_acc: float = 0.0  # the accuracy of always answering the most frequent class
    advice: str = ""  # what to try when the loss blew up (a lower rate, ...)
    advice_stalled: str = ""  # what to try when it never left chance (a higher rate, ...)
    curve: list[list[float]] = field(default_factory=list)
    stalled_epochs: int = 0
    stalled_steps: int = 0
    high_windows: int = 0
    high_since: int | None = None  # the step before the first window of the current stretch
    last_epoch_loss: float | None = None
    diagnosis: str | None = None  # set once the run is judged diverged
    # False: a blow-up or a stall mid-run is only noted (``warning``) and the run goes on to
    # its end, where it is judged (experiments that measure what a whole budget gives)
    stop: bool = True
    warning: str | None = None

    @classmethod
    def for_run(cls, cfg: TrainConfig, class_counts: list[int]) -> HealthMonitor:
        """The monitor of a run with ``cfg`` on images of these class counts."""
        return cls(
            chance_loss(class_counts),
            chance_acc=max(class_counts) / max(1, sum(class_counts)),
            advice=advice_when_diverged(cfg),
            advice_stalled=advice_when_stalled(cfg),
            stop=cfg.stop_unhealthy,
        )

    def _judge(self, message: str) -> None:
        if self.stop:
            self.diagnosis = message
        else:
            self.warning = message

    def add_window(self, step: int, loss: float) -> str | None:
        """Record a window's mean loss; returns the diagnosis when the run blew up."""
        best = min((v for _, v in self.curve), default=math.inf)
        self.curve.append([step, loss])
        # the first window has nothing to be compared with (best is inf)
        high = not loss < BLOW_UP * max(self.chance, best) and math.isfinite(best)
        if high and not self.high_windows:
            self.high_since = int(self.curve[-2][0])
        self.high_windows = self.high_windows + 1 if high else 0
        span = step - (self.high_since or 0)
        if self.high_windows >= BLOW_UP_WINDOWS and span >= BLOW_UP_STEPS:
            self._judge(
                f"the training loss blew up to {loss:.3g} at step {step} (chance level is "
                f"{self.chance:.3g}, its best so far {best:.3g}): the network diverged."
                + self.advice
            )
        return self.diagnosis

    def _at_chance(self, loss: float) -> bool:
        return not math.isfinite(loss) or loss >= AT_CHANCE * self.chance

    def _stall_advice(self) -> str:
        """A run at chance that blew up on the way (its units died) needs a lower rate; one that
        never moved, a higher one."""
        peak = max((v for _, v in self.curve), default=0.0)
        if peak >= BLOW_UP * self.chance:
            return f" It blew up first (to {peak:.3g})." + self.advice
        return self.advice_stalled or self.advice

    def _guessing(self, acc: float | None) -> bool:
        """Training accuracy no better than half again the most frequent class's share (a
        network whose loss spiked may be over-confident, its loss above chance, and still
        right most of the time: it is learning)."""
        return acc is None or acc < min(1.0, 1.5 * self.chance_acc) or not self.chance_acc

    def end_epoch(
        self, epoch_loss: float, epoch: int, steps: int = 0, acc: float | None = None
    ) -> str | None:
        """Judge a whole epoch's mean training loss; returns the diagnosis once stalled."""
        prev = self.last_epoch_loss
        if prev is None:  # the first epoch is compared with the first window of steps
            prev = self.curve[0][1] if self.curve else math.inf
        self.last_epoch_loss = epoch_loss
        falling = epoch_loss < FALLING * prev
        stalled = self._at_chance(epoch_loss) and not falling and self._guessing(acc)
        self.stalled_epochs = self.stalled_epochs + 1 if stalled else 0
        self.stalled_steps = self.stalled_steps + steps if stalled else 0
        if self.stalled_epochs >= STALL_EPOCHS and self.stalled_steps >= STALL_STEPS:
            self._judge(
                f"the training loss stayed at or above chance level ({epoch_loss:.3f}, chance "
                f"{self.chance:.3f}) for {self.stalled_epochs} epochs up to epoch {epoch}: the "
                f"network is not learning." + self._stall_advice()
            )
        return self.diagnosis

    def end_run(self, acc: float | None = None) -> str | None:
        """At the end of the run: did it learn anything at all? (the last window's loss, and
        ``acc``, the last epoch's training accuracy)"""
        steps = self.curve[-1][0] if self.curve else 0
        last = self.curve[-1][1] if self.curve else 0.0
        if (
            self.diagnosis is None
            and steps >= MIN_STEPS
            and self._at_chance(last)
            and self._guessing(acc)
        ):
            self.diagnosis = (
                f"the training loss ended at or above chance level ({last:.3f}, chance "
                f"{self.chance:.3f}): the network did not learn." + self._stall_advice()
            )
        return self.diagnosis

    # the run's state; chance and advice come from the data and config each time
    _STATE = ("curve", "stalled_epochs", "stalled_steps", "high_windows", "high_since",
              "last_epoch_loss", "diagnosis", "warning")  # fmt: skip

    def state_dict(self) -> dict:
        return {k: getattr(self, k) for k in self._STATE}

    def load_state_dict(self, state: dict) -> None:
        for k in self._STATE:
            if k in state:
                setattr(self, k, state[k])
