"""``ImageDataset``: a whole labelled image set in memory, and ``train_val_split``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from cnnzoo.data.errors import DataError
from cnnzoo.data.seeding import mix_seed

__all__ = ["ImageDataset", "channel_stats", "train_val_split"]


@dataclass(eq=False)
class ImageDataset:
    """A labelled image set held in memory.

    ``images`` is a uint8 tensor ``[N, C, H, W]``, ``labels`` int64 ``[N]`` with values in
    ``[0, len(classes))``. ``mean`` and ``std`` are per-channel statistics in [0, 1] units, the
    ones the loader normalises with (for catalogue data sets: those of the training split).
    """

    images: torch.Tensor
    labels: torch.Tensor
    classes: list[str]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    name: str = "unnamed"
    split: str = "train"
    source: str | None = field(default=None, compare=False)  # where it was read from

    def __post_init__(self) -> None:
        x, y = self.images, self.labels
        if not isinstance(x, torch.Tensor) or x.dtype != torch.uint8 or x.dim() != 4:
            raise DataError(
                f"{self.name}: images must be a uint8 tensor [N, C, H, W], got "
                f"{getattr(x, 'dtype', type(x).__name__)} {tuple(getattr(x, 'shape', ()))}"
            )
        if not isinstance(y, torch.Tensor) or y.dim() != 1:
            raise DataError(f"{self.name}: labels must be a 1-D tensor")
        if y.dtype != torch.int64:
            self.labels = y = y.long()
        if len(x) != len(y):
            raise DataError(f"{self.name}: {len(x)} images but {len(y)} labels")
        self.classes = list(self.classes)
        if not self.classes:
            raise DataError(f"{self.name}: no classes")
        if len(y) and (int(y.min()) < 0 or int(y.max()) >= len(self.classes)):
            bad = y[(y < 0) | (y >= len(self.classes))][0].item()
            raise DataError(
                f"{self.name}: label {bad} out of range for {len(self.classes)} classes"
            )
        channels = x.shape[1]
        self.mean = tuple(float(m) for m in self.mean)
        self.std = tuple(float(s) for s in self.std)
        if len(self.mean) != channels or len(self.std) != channels:
            raise DataError(
                f"{self.name}: mean/std need one value per channel ({channels}), "
                f"got {len(self.mean)}/{len(self.std)}"
            )
        if any(s <= 0 for s in self.std):
            raise DataError(f"{self.name}: std must be positive, got {self.std}")

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.images[index], int(self.labels[index])

    def __repr__(self) -> str:
        c, h, w = self.image_shape
        return (
            f"ImageDataset({self.name!r}, split={self.split!r}, {len(self)} images {c}x{h}x{w}, "
            f"{self.num_classes} classes)"
        )

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of every image."""
        c, h, w = self.images.shape[1:]
        return int(c), int(h), int(w)

    @property
    def in_channels(self) -> int:
        return self.image_shape[0]

    def class_counts(self) -> list[int]:
        """Number of images of each class, in class order."""
        return torch.bincount(self.labels, minlength=self.num_classes).tolist()

    def with_labels(self, labels: torch.Tensor, classes: Sequence[str]) -> ImageDataset:
        """The same images with other labels and class list (e.g. classes put in another
        order)."""
        return ImageDataset(
            images=self.images, labels=labels, classes=list(classes), mean=self.mean,
            std=self.std, name=self.name, split=self.split, source=self.source,
        )  # fmt: skip

    def subset(
        self, indices: torch.Tensor | Sequence[int], split: str | None = None
    ) -> ImageDataset:
        """The images at ``indices`` (copied), keeping classes and normalisation statistics."""
        idx = torch.as_tensor(indices, dtype=torch.long)
        return ImageDataset(
            images=self.images[idx],
            labels=self.labels[idx],
            classes=self.classes,
            mean=self.mean,
            std=self.std,
            name=self.name,
            split=split or self.split,
            source=self.source,
        )


def channel_stats(
    images: torch.Tensor, chunk: int = 4096
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and standard deviation of uint8 images ``[N, C, H, W]`` in [0, 1] units,
    computed in float64 over chunks (no full float copy of the data set)."""
    if images.dim() != 4 or len(images) == 0:
        raise DataError("channel_stats needs a non-empty [N, C, H, W] tensor")
    c = images.shape[1]
    s = torch.zeros(c, dtype=torch.float64)
    s2 = torch.zeros(c, dtype=torch.float64)
    for start in range(0, len(images), chunk):
        x = images[start : start + chunk].to(torch.float64).transpose(0, 1).reshape(c, -1)
        s += x.sum(1)
        s2 += (x * x).sum(1)
    n = images.numel() // c
    mean = s / n
    var = (s2 / n - mean * mean).clamp_min(0)
    std = var.sqrt().clamp_min(1e-3 * 255)  # a constant image set must not divide by zero
    return tuple((mean / 255).tolist()), tuple((std / 255).tolist())


def train_val_split(
    dataset: ImageDataset, val_size: int | float = 5000, seed: int = 0
) -> tuple[ImageDataset, ImageDataset]:
    """Split a training set into (train, val), seeded: the same seed gives the same split on
    every machine. ``val_size`` is a count or a fraction in (0, 1). The test split is refused:
    validation is carved from the training data so that the test set stays untouched.
    Both parts keep the full training set's classes and normalisation statistics."""
    if dataset.split == "test":
        raise DataError(
            f"{dataset.name}: carve the validation set from the training split, not the test split"
        )
    n = len(dataset)
    if isinstance(val_size, float):
        if not 0 < val_size < 1:
            raise DataError(f"val_size as a fraction must be in (0, 1), got {val_size}")
        k = round(n * val_size)
    else:
        k = int(val_size)
    if not 0 < k < n:
        raise DataError(
            f"{dataset.name}: val_size {val_size} must leave both parts non-empty (n={n})"
        )
    g = torch.Generator().manual_seed(mix_seed(seed, "train_val_split"))
    perm = torch.randperm(n, generator=g)
    val_idx, _ = perm[:k].sort()
    train_idx, _ = perm[k:].sort()
    return dataset.subset(train_idx, split="train"), dataset.subset(val_idx, split="val")
