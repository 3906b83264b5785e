"""Loading a data set by name into memory (:func:`load_dataset`) and checking it fully
(:func:`check_dataset`): a catalogue name (found or fetched by :mod:`cnnzoo.data.lookup`) or
the path of an image folder."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import torch

from cnnzoo.data.catalogue import get_entry, is_catalogue_name
from cnnzoo.data.dataset import ImageDataset
from cnnzoo.data.entries import DatasetEntry, FileCheck
from cnnzoo.data.errors import DataError
from cnnzoo.data.formats import load_image_folder
from cnnzoo.data.lookup import download_dataset, locate, missing_message

__all__ = ["CheckReport", "check_dataset", "load_dataset", "looks_like_path"]


def load_dataset(
    name: str | os.PathLike[str] | DatasetEntry,
    split: str = "train",
    data_dir: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    verify: bool = True,
    progress: bool | TextIO = True,
    size: int | tuple[int, int] | None = None,
    grayscale: bool | None = None,
) -> ImageDataset:
    """Load one split (``"train"`` or ``"test"``) of a catalogue data set into memory.

    ``name`` is a catalogue name (``fashion-mnist``, ``mnist``, ``kmnist``, ``cifar10``,
    ``cifar100``), a :class:`DatasetEntry`, or the path of an image folder: ``PATH/<split>/``
    when it exists, else ``PATH`` itself for the train split (``size`` and ``grayscale`` go to
    :func:`load_image_folder`). Missing files are downloaded when ``download`` (else, or when
    that fails, a :class:`DataError` says which files to put where); ``verify`` checks the
    published checksums. For a validation set use :func:`train_val_split` on the train split.
    """
    if not isinstance(name, DatasetEntry) and looks_like_path(name):
        return _load_folder(Path(name).expanduser(), split, size=size, grayscale=grayscale)
    entry = get_entry(name)  # type: ignore[arg-type]
    if split not in entry.splits:
        hint = " (carve it from train with train_val_split)" if split in ("val", "valid") else ""
        raise DataError(
            f"{entry.name} has no split {split!r}{hint}; choose one of {', '.join(entry.splits)}"
        )
    location = locate(entry, split, data_dir)
    if location is None:
        if not download:
            raise DataError(missing_message(entry, data_dir))
        download_dataset(entry, data_dir, progress=progress)
        location = locate(entry, split, data_dir)
        if location is None:  # pragma: no cover - the download succeeded but files vanished
            raise DataError(missing_message(entry, data_dir))
    images, labels = entry.read(location, split, verify=verify)
    return ImageDataset(
        images=images,
        labels=labels,
        classes=list(entry.classes),
        mean=entry.mean,
        std=entry.std,
        name=entry.name,
        split=split,
        source=str(location.folder),
    )


def looks_like_path(name: object) -> bool:
    """An image folder rather than a catalogue name? A catalogue name wins over a folder of
    the same name in the working directory."""
    if isinstance(name, os.PathLike):
        return True
    text = str(name)
    if is_catalogue_name(text):
        return False
    return os.sep in text or text.startswith((".", "~")) or Path(text).is_dir()


def _load_folder(
    path: Path, split: str, size: int | tuple[int, int] | None, grayscale: bool | None
) -> ImageDataset:
    if not path.is_dir():
        raise DataError(f"{path}: image folder not found")
    if (path / split).is_dir():
        folder = path / split
    elif split == "train":
        folder = path
    else:
        raise DataError(f"{path}: no {split}/ sub-folder (expected {path}/{split}/<class>/...)")
    classes = None
    if split != "train" and (path / "train").is_dir():  # the training folder fixes the labels
        classes = sorted(
            d.name for d in (path / "train").iterdir() if d.is_dir() and not d.name.startswith(".")
        )
    return load_image_folder(
        folder, size=size, grayscale=grayscale, name=path.name, split=split, classes=classes
    )


@dataclass
class CheckReport:
    """What :func:`check_dataset` found: where, each file's verification, and the number of
    images per split and class."""

    name: str
    title: str
    folder: Path
    files: list[FileCheck]
    classes: list[str]
    counts: dict[str, list[int]]  # split -> images per class

    @property
    def totals(self) -> dict[str, int]:
        return {split: sum(c) for split, c in self.counts.items()}


def check_dataset(
    name: str | os.PathLike[str] | DatasetEntry, data_dir: str | os.PathLike[str] | None = None
) -> CheckReport:
    """Find a data set, verify every file's checksum, read every split fully and check the
    number of images per split. A :class:`DataError` on the first problem. ``name`` may also be
    an image folder (every image is decoded; its train/ and test/ sub-folders when it has them)."""
    if not isinstance(name, DatasetEntry) and looks_like_path(name):
        root = Path(name).expanduser()
        splits = [s for s in ("train", "val", "test") if (root / s).is_dir()] or ["train"]
        parts = {s: _load_folder(root, s, size=None, grayscale=None) for s in splits}
        classes = parts[splits[0]].classes  # the other splits use train's (see _load_folder)
        return CheckReport(
            name=root.name,
            title="Image folder",
            folder=root,
            files=[],
            classes=classes,
            counts={s: ds.class_counts() for s, ds in parts.items()},
        )
    entry = get_entry(name)  # type: ignore[arg-type]
    location = locate(entry, None, data_dir)
    if location is None:
        raise DataError(missing_message(entry, data_dir))
    files = entry.verify(location)
    counts = {}
    for split in entry.splits:
        _, labels = entry.read(location, split, verify=False)
        expected = entry.split_sizes[split]
        if len(labels) != expected:
            raise DataError(
                f"{location.folder}: the {split} split has {len(labels):,} images, "
                f"{entry.title} has {expected:,}"
            )
        counts[split] = torch.bincount(labels, minlength=len(entry.classes)).tolist()
    return CheckReport(entry.name, entry.title, location.folder, files, list(entry.classes), counts)
