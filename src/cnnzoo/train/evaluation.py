"""Evaluating a network on a loader: loss, accuracy, per-class accuracy, confusion matrix."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from cnnzoo.train.device import autocast_context

__all__ = ["EvalResult", "evaluate", "fixed_subset"]


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


def fixed_subset(ds, n: int):
    """The same ``n`` images of ``ds`` whatever the run's seed (so that runs, and `cnnzoo
    eval --test-subset`, compare on the same images)."""
    g = torch.Generator().manual_seed(12345)
    return ds.subset(torch.randperm(len(ds), generator=g)[:n])
