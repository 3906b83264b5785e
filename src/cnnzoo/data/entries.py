"""What a data set's files are: :class:`DatasetEntry`, one per data set, in two formats.

:class:`IdxEntry` is the MNIST family (IDX files, gzipped as published or raw),
:class:`CifarEntry` the CIFAR binary release (one ``.tar.gz`` of ``.bin`` batches, read from the
archive or its extracted folder). An entry lists each :class:`PublishedFile` with its published
checksum and size, the class names, the training split's per-channel mean/std and the mirrors;
it knows how to find its files in one folder, read a split and verify every checksum. Where the
folder is, is :mod:`cnnzoo.data.lookup`'s business; the known entries are in
:mod:`cnnzoo.data.catalogue`.

Checksums: the MNIST-family entries carry the md5 of each published ``.gz`` file and the md5 of
its decompressed content, so a re-compressed copy (Debian's package stores the same deflate
stream without the gzip file-name field, hence other bytes) or an uncompressed copy is
recognised as the same data. CIFAR entries carry the md5 of the binary archive and of each
``.bin`` file in it.
"""

from __future__ import annotations

import functools
import hashlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from cnnzoo.data.errors import DataError
from cnnzoo.data.formats import (
    decompress_idx,
    parse_cifar,
    parse_idx,
    read_bytes,
    read_idx_pair,
    read_tar_members,
)

__all__ = ["CifarEntry", "DatasetEntry", "FileCheck", "IdxEntry", "Location", "PublishedFile"]


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class PublishedFile:
    """One file of a data set as its publisher distributes it."""

    name: str  # file name, e.g. "train-images-idx3-ubyte.gz"
    md5: str  # published md5 of that file
    size: int | None = None  # bytes of that file
    content_md5: str | None = None  # md5 of the decompressed content (gzip files)


@dataclass(frozen=True)
class Location:
    """Where a data set was found: the folder and the path of each file read from it."""

    folder: Path
    paths: dict[str, Path]  # logical file name -> path on disk
    root: str  # which lookup root ("--data-dir", "$CNNZOO_DATA", "cache", "system")


@dataclass(frozen=True)
class FileCheck:
    path: Path
    size: int
    status: str  # how it was verified


@dataclass(frozen=True, eq=False)
class DatasetEntry(ABC):
    """A catalogue entry: what one data set is and which files hold it. Subclasses know their
    format (:class:`IdxEntry`, :class:`CifarEntry`).

    Entries compare and hash by identity (``eq=False``), so that an entry can key the decoded
    splits' cache (:func:`_decoded_idx_split`) although it holds dicts."""

    name: str
    title: str
    homepage: str
    classes: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    image_shape: tuple[int, int, int]  # (C, H, W)
    split_sizes: dict[str, int]  # split -> number of images
    mirrors: tuple[str, ...]  # base URLs; a file's URL is mirror + file name
    folders: tuple[str, ...] = ()  # sub-folder names under a root; default (name,)
    apt_package: str | None = None  # a Debian package that installs it

    @property
    def splits(self) -> tuple[str, ...]:
        return tuple(self.split_sizes)

    @property
    def folder_names(self) -> tuple[str, ...]:
        return self.folders or (self.name,)

    @property
    def download_size(self) -> int | None:
        sizes = [f.size for f in self.downloads]
        return None if None in sizes else sum(sizes)  # type: ignore[arg-type]

    @property
    @abstractmethod
    def downloads(self) -> tuple[PublishedFile, ...]:
        """The files :func:`download_dataset` fetches."""

    @abstractmethod
    def find(self, folder: Path, split: str | None = None) -> dict[str, Path] | None:
        """The paths of the files needed for ``split`` (all splits when None) in ``folder``,
        or None when any is missing."""

    @abstractmethod
    def missing(self, folder: Path) -> list[str]:
        """Names of the files absent from ``folder``."""

    @abstractmethod
    def read(
        self, location: Location, split: str, verify: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Decode one split: uint8 images [N, C, H, W] and int64 labels [N]."""

    @abstractmethod
    def verify(self, location: Location) -> list[FileCheck]:
        """Check every file's checksum; a :class:`DataError` on the first bad one."""

    @abstractmethod
    def what_to_put(self) -> list[str]:
        """Lines describing the files a user must provide."""


# ------------------------------------------------------------------------------ IDX data sets


@dataclass(frozen=True, eq=False)
class IdxEntry(DatasetEntry):
    """A data set in the MNIST family's IDX format: per split an image and a label file, each
    gzip-compressed (as published) or raw."""

    # split -> (images, labels)
    files: dict[str, tuple[PublishedFile, PublishedFile]] = field(default_factory=dict)

    @property
    def downloads(self) -> tuple[PublishedFile, ...]:
        return tuple(f for pair in self.files.values() for f in pair)

    def _published(self, split: str | None) -> list[PublishedFile]:
        splits = [split] if split else list(self.files)
        return [f for s in splits for f in self.files[s]]

    @staticmethod
    def _candidates(folder: Path, fs: PublishedFile) -> list[Path]:
        raw = fs.name[:-3] if fs.name.endswith(".gz") else fs.name
        return [folder / fs.name, folder / raw]

    def find(self, folder: Path, split: str | None = None) -> dict[str, Path] | None:
        paths = {}
        for fs in self._published(split):
            path = next((p for p in self._candidates(folder, fs) if p.is_file()), None)
            if path is None:
                return None
            paths[fs.name] = path
        return paths

    def missing(self, folder: Path) -> list[str]:
        return [
            fs.name
            for fs in self._published(None)
            if not any(p.is_file() for p in self._candidates(folder, fs))
        ]

    def _load_verified(self, path: Path, fs: PublishedFile, verify: bool) -> tuple[np.ndarray, str]:
        data = read_bytes(path)
        content = decompress_idx(data, path)
        array = parse_idx(content, path)  # structural errors first: they say more than a checksum
        if not verify:
            return array, "not verified"
        got = _md5(data)
        if got == fs.md5:
            return array, f"md5 {got} (published file)"
        if fs.content_md5 and _md5(content) == fs.content_md5:
            return array, f"content md5 {fs.content_md5} (same data as the published file)"
        expected = f"md5 {fs.md5}" + (
            f", or content md5 {fs.content_md5} once decompressed" if fs.content_md5 else ""
        )
        raise DataError(
            f"{path}: checksum mismatch: md5 {got}, expected {expected}. The file is corrupt "
            f"or not the published {self.title}; delete it and fetch it again "
            f"(`cnnzoo data download {self.name}`)"
        )

    def read(
        self, location: Location, split: str, verify: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor]:
        xs, ys = self.files[split]
        xpath, ypath = location.paths[xs.name], location.paths[ys.name]
        # a worker that trains many networks decodes the files once
        x, y = _decoded_idx_split(
            self, split, verify, xpath, ypath, _file_id(xpath), _file_id(ypath)
        )
        return x.clone(), y.clone()  # the caller may change its copy

    def _read(
        self, xpath: Path, ypath: Path, xs: PublishedFile, ys: PublishedFile, verify: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        images, _ = self._load_verified(xpath, xs, verify)
        labels, _ = self._load_verified(ypath, ys, verify)
        x, y = read_idx_pair(images, labels, len(self.classes), xpath, ypath)
        if tuple(x.shape[1:]) != self.image_shape:
            raise DataError(
                f"{xpath}: images are {'x'.join(map(str, x.shape[1:]))}, "
                f"{self.title} has {'x'.join(map(str, self.image_shape))}"
            )
        return x, y

    def verify(self, location: Location) -> list[FileCheck]:
        checks = []
        for fs in self.downloads:
            path = location.paths[fs.name]
            _, status = self._load_verified(path, fs, True)
            checks.append(FileCheck(path, path.stat().st_size, status))
        return checks

    def what_to_put(self) -> list[str]:
        return [
            f"{fs.name}  ({fs.size:,} bytes, md5 {fs.md5})"
            if fs.size
            else f"{fs.name}  (md5 {fs.md5})"
            for fs in self.downloads
        ]


@functools.lru_cache(maxsize=4)
def _decoded_idx_split(
    entry: IdxEntry, split: str, verify: bool, xpath: Path, ypath: Path, xid: tuple, yid: tuple
) -> tuple[torch.Tensor, torch.Tensor]:
    """The decoded (and, with ``verify``, checked) images and labels of one IDX split: the
    process's cache of the last four splits read, a measured speed-up for a sweep worker that
    trains many networks on the same data. ``xid``/``yid`` (:func:`_file_id`) are part of the
    key, so a file changed on disk is read and checked again. Callers get these tensors
    themselves: clone before changing them. ``_decoded_idx_split.cache_clear()`` empties it."""
    xs, ys = entry.files[split]
    return entry._read(xpath, ypath, xs, ys, verify)


def _file_id(path: Path) -> tuple:
    """What identifies a file's content cheaply: resolved path, size, mtime, inode."""
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino)


# ---------------------------------------------------------------------------- CIFAR data sets


@dataclass(frozen=True, eq=False)
class CifarEntry(DatasetEntry):
    """CIFAR-10/100 in the binary release: one ``.tar.gz`` archive holding a folder of ``.bin``
    batch files of fixed-size records. Read from the archive directly (nothing is extracted) or
    from the extracted folder."""

    archive: PublishedFile = PublishedFile("", "")
    member_dir: str = ""  # folder inside the archive, e.g. "cifar-10-batches-bin"
    # split -> its .bin files
    members: dict[str, tuple[PublishedFile, ...]] = field(default_factory=dict)
    label_bytes: int = 1
    label_index: int = 0

    @property
    def downloads(self) -> tuple[PublishedFile, ...]:
        return (self.archive,)

    def _member_files(self, split: str | None) -> list[PublishedFile]:
        splits = [split] if split else list(self.members)
        return [f for s in splits for f in self.members[s]]

    def find(self, folder: Path, split: str | None = None) -> dict[str, Path] | None:
        if (folder / self.archive.name).is_file():
            return {self.archive.name: folder / self.archive.name}
        for base in (folder / self.member_dir, folder):
            specs = self._member_files(split)
            if all((base / fs.name).is_file() for fs in specs):
                return {fs.name: base / fs.name for fs in specs}
        return None

    def missing(self, folder: Path) -> list[str]:
        return [] if self.find(folder) else [self.archive.name]

    def _parse(self, data: bytes, source: str | Path) -> tuple[torch.Tensor, torch.Tensor]:
        return parse_cifar(
            data,
            label_bytes=self.label_bytes,
            label_index=self.label_index,
            num_classes=len(self.classes),
            source=source,
        )

    def _member_bytes(
        self, location: Location, specs: Sequence[PublishedFile]
    ) -> tuple[list[tuple[PublishedFile, bytes, str]], bytes | None]:
        """(spec, bytes, source name) of each member, and the archive's bytes when read from
        the archive."""
        archive = location.paths.get(self.archive.name)
        if archive is None:
            paths = [location.paths[fs.name] for fs in specs]
            return [(fs, read_bytes(p), str(p)) for fs, p in zip(specs, paths, strict=True)], None
        raw = read_bytes(archive)
        members = read_tar_members(archive, [fs.name for fs in specs], data=raw)
        out = [(fs, members[fs.name], f"{archive}:{self.member_dir}/{fs.name}") for fs in specs]
        return out, raw

    def _verify(
        self, location: Location, members: list[tuple[PublishedFile, bytes, str]], raw: bytes | None
    ) -> str:
        """Check the published archive's md5, or when the archive differs (or the files were
        extracted) every member's; a :class:`DataError` on the first mismatch."""
        archive = location.paths.get(self.archive.name)
        if raw is not None and _md5(raw) == self.archive.md5:
            return f"md5 {self.archive.md5} (published file)"
        for fs, data, source in members:
            got = _md5(data)
            if got != fs.md5:
                where = f"{archive}: archive md5 is not {self.archive.md5}, and " if archive else ""
                raise DataError(
                    f"{where}{source}: checksum mismatch: md5 {got}, expected {fs.md5}. The file "
                    f"is corrupt or not the published {self.title}; delete it and fetch it again "
                    f"(`cnnzoo data download {self.name}`)"
                )
        if archive is not None:
            return "every member's md5 matches (a repacked copy of the published archive)"
        return "md5 matches"

    def read(
        self, location: Location, split: str, verify: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor]:
        members, raw = self._member_bytes(location, self.members[split])
        parts = [self._parse(data, source) for _, data, source in members]  # structure first
        if verify:
            self._verify(location, members, raw)
        return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])

    def verify(self, location: Location) -> list[FileCheck]:
        members, raw = self._member_bytes(location, self._member_files(None))
        status = self._verify(location, members, raw)
        archive = location.paths.get(self.archive.name)
        if archive is not None:
            return [FileCheck(archive, len(raw or b""), status)]
        return [
            FileCheck(Path(source), len(data), f"md5 {_md5(data)}") for _, data, source in members
        ]

    def what_to_put(self) -> list[str]:
        a = self.archive
        size = f"{a.size:,} bytes, " if a.size else ""
        return [
            f"{a.name}  ({size}md5 {a.md5}), kept as it is (it is read without extracting),",
            f"or its extracted folder {self.member_dir}/ "
            f"({', '.join(fs.name for fs in self._member_files(None))})",
        ]
