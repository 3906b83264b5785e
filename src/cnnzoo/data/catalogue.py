"""The data-set catalogue: what each known data set is, where to find it, how to fetch it.

Every entry lists its files with their published checksums and sizes, class names, the
training split's per-channel mean/std, and the mirrors it can be downloaded from. A data set is
looked for, in this order, under

1. the ``data_dir`` argument (``--data-dir``): ``DIR/<name>/`` or ``DIR`` itself,
2. ``$CNNZOO_DATA/<name>/`` (several roots may be given, separated by ``:``),
3. ``~/.cache/cnnzoo/<name>/`` (where downloads go by default),
4. ``/usr/share/datasets/<name>/`` (Debian's ``dataset-fashion-mnist`` installs
   ``/usr/share/datasets/fashion-mnist/*.gz``).

When it is nowhere, :func:`load_dataset` downloads it (progress bar, checksum, atomic rename)
to the first writable of 1–3; when that fails it raises a :class:`DataError` that says exactly
which files to put where.

Checksums: the MNIST-family entries carry the md5 of each published ``.gz`` file and the md5 of
its decompressed content, so a re-compressed copy (Debian's package stores the same deflate
stream without the gzip file-name field, hence other bytes) or an uncompressed copy is
recognised as the same data. CIFAR entries carry the md5 of the binary archive and of each
``.bin`` file in it.
"""

from __future__ import annotations

import difflib
import hashlib
import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np
import torch

from cnnzoo.data.dataset import ImageDataset
from cnnzoo.data.download import DownloadError, fetch
from cnnzoo.data.errors import DataError
from cnnzoo.data.formats import (
    decompress_idx,
    load_image_folder,
    parse_cifar,
    parse_idx,
    read_bytes,
    read_idx_pair,
    read_tar_members,
)

__all__ = [
    "CATALOGUE",
    "CheckReport",
    "CifarSpec",
    "DatasetSpec",
    "DatasetStatus",
    "FileSpec",
    "IdxSpec",
    "Location",
    "cache_dir",
    "check_dataset",
    "dataset_status",
    "download_dataset",
    "get_spec",
    "list_datasets",
    "load_dataset",
    "locate",
    "search_roots",
]

SYSTEM_ROOTS: tuple[str, ...] = ("/usr/share/datasets",)
ENV_VAR = "CNNZOO_DATA"


def cache_dir() -> Path:
    """``~/.cache/cnnzoo``: where downloads go when neither ``data_dir`` nor ``$CNNZOO_DATA``
    is given."""
    return Path.home() / ".cache" / "cnnzoo"


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class FileSpec:
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


@dataclass(frozen=True)
class DatasetSpec(ABC):
    """A catalogue entry. Subclasses know their format (:class:`IdxSpec`, :class:`CifarSpec`)."""

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
    def downloads(self) -> tuple[FileSpec, ...]:
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


@dataclass(frozen=True)
class IdxSpec(DatasetSpec):
    """A data set in the MNIST family's IDX format: per split an image and a label file, each
    gzip-compressed (as published) or raw."""

    files: dict[str, tuple[FileSpec, FileSpec]] = field(default_factory=dict)  # split -> (x, y)

    @property
    def downloads(self) -> tuple[FileSpec, ...]:
        return tuple(f for pair in self.files.values() for f in pair)

    def _file_specs(self, split: str | None) -> list[FileSpec]:
        splits = [split] if split else list(self.files)
        return [f for s in splits for f in self.files[s]]

    @staticmethod
    def _candidates(folder: Path, fs: FileSpec) -> list[Path]:
        raw = fs.name[:-3] if fs.name.endswith(".gz") else fs.name
        return [folder / fs.name, folder / raw]

    def find(self, folder: Path, split: str | None = None) -> dict[str, Path] | None:
        paths = {}
        for fs in self._file_specs(split):
            path = next((p for p in self._candidates(folder, fs) if p.is_file()), None)
            if path is None:
                return None
            paths[fs.name] = path
        return paths

    def missing(self, folder: Path) -> list[str]:
        return [
            fs.name
            for fs in self._file_specs(None)
            if not any(p.is_file() for p in self._candidates(folder, fs))
        ]

    def _load_verified(self, path: Path, fs: FileSpec, verify: bool) -> tuple[np.ndarray, str]:
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
        key = (self.name, split, verify, _file_id(xpath), _file_id(ypath))
        if key not in _DECODED:  # a worker that trains many networks decodes the files once
            if len(_DECODED) >= 4:
                _DECODED.pop(next(iter(_DECODED)))
            _DECODED[key] = self._read(xpath, ypath, xs, ys, verify)
        x, y = _DECODED[key]
        return x.clone(), y.clone()  # the caller may change its copy

    def _read(
        self, xpath: Path, ypath: Path, xs: FileSpec, ys: FileSpec, verify: bool
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


#: decoded IDX splits of this process, by file identity (a changed file is read again)
_DECODED: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}


def _file_id(path: Path) -> tuple:
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino)


# ---------------------------------------------------------------------------- CIFAR data sets


@dataclass(frozen=True)
class CifarSpec(DatasetSpec):
    """CIFAR-10/100 in the binary release: one ``.tar.gz`` archive holding a folder of ``.bin``
    batch files of fixed-size records. Read from the archive directly (nothing is extracted) or
    from the extracted folder."""

    archive: FileSpec = FileSpec("", "")
    member_dir: str = ""  # folder inside the archive, e.g. "cifar-10-batches-bin"
    members: dict[str, tuple[FileSpec, ...]] = field(default_factory=dict)  # split -> .bin files
    label_bytes: int = 1
    label_index: int = 0

    @property
    def downloads(self) -> tuple[FileSpec, ...]:
        return (self.archive,)

    def _member_specs(self, split: str | None) -> list[FileSpec]:
        splits = [split] if split else list(self.members)
        return [f for s in splits for f in self.members[s]]

    def find(self, folder: Path, split: str | None = None) -> dict[str, Path] | None:
        if (folder / self.archive.name).is_file():
            return {self.archive.name: folder / self.archive.name}
        for base in (folder / self.member_dir, folder):
            specs = self._member_specs(split)
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
        self, location: Location, specs: Sequence[FileSpec]
    ) -> tuple[list[tuple[FileSpec, bytes, str]], bytes | None]:
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
        self, location: Location, members: list[tuple[FileSpec, bytes, str]], raw: bytes | None
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
        members, raw = self._member_bytes(location, self._member_specs(None))
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
            f"({', '.join(fs.name for fs in self._member_specs(None))})",
        ]


# ----------------------------------------------------------------------------------- catalogue

_IDX_NAMES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def _idx_files(
    md5: dict[str, str], sizes: dict[str, int] | None = None, content: dict[str, str] | None = None
) -> dict[str, tuple[FileSpec, FileSpec]]:
    def spec(name: str) -> FileSpec:
        return FileSpec(name, md5[name], (sizes or {}).get(name), (content or {}).get(name))

    return {split: (spec(x), spec(y)) for split, (x, y) in _IDX_NAMES.items()}


_CIFAR100_NAMES = """
apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus
butterfly camel can castle caterpillar cattle chair chimpanzee clock cloud cockroach couch
crab crocodile cup dinosaur dolphin elephant flatfish forest fox girl hamster house kangaroo
keyboard lamp lawn_mower leopard lion lizard lobster man maple_tree motorcycle mountain
mouse mushroom oak_tree orange orchid otter palm_tree pear pickup_truck pine_tree plain
plate poppy porcupine possum rabbit raccoon ray road rocket rose sea seal shark shrew skunk
skyscraper snail snake spider squirrel streetcar sunflower sweet_pepper table tank telephone
television tiger tractor train trout tulip turtle wardrobe whale willow_tree wolf woman worm
"""
# The fine labels, alphabetical as in fine_label_names.txt.
CIFAR100_CLASSES: tuple[str, ...] = tuple(_CIFAR100_NAMES.split())

_SPECS: tuple[DatasetSpec, ...] = (
    IdxSpec(
        name="fashion-mnist",
        title="Fashion-MNIST",
        homepage="https://github.com/zalandoresearch/fashion-mnist",
        classes=(
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
        # Computed from the 60,000 training images.
        mean=(0.2860,),
        std=(0.3530,),
        image_shape=(1, 28, 28),
        split_sizes={"train": 60_000, "test": 10_000},
        mirrors=(
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
        ),
        folders=("fashion-mnist", "FashionMNIST/raw"),
        apt_package="dataset-fashion-mnist",
        # md5 of the .gz files as published in the data set's README; content md5 computed
        # from Debian's dataset-fashion-mnist files, which hold the same deflate streams
        # (24/23 bytes shorter: no file name in the gzip header).
        files=_idx_files(
            md5={
                "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
                "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
                "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
            },
            sizes={
                "train-images-idx3-ubyte.gz": 26_421_880,
                "train-labels-idx1-ubyte.gz": 29_515,
                "t10k-images-idx3-ubyte.gz": 4_422_102,
                "t10k-labels-idx1-ubyte.gz": 5_148,
            },
            content={
                "train-images-idx3-ubyte.gz": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
                "train-labels-idx1-ubyte.gz": "9018921c3c673c538a1fc5bad174d6f9",
                "t10k-images-idx3-ubyte.gz": "8181f5470baa50b63fa0f6fddb340f0a",
                "t10k-labels-idx1-ubyte.gz": "15d484375f8d13e6eb1aabb0c3f46965",
            },
        ),
    ),
    IdxSpec(
        name="mnist",
        title="MNIST",
        homepage="http://yann.lecun.com/exdb/mnist/",
        classes=tuple(str(i) for i in range(10)),
        mean=(0.1307,),
        std=(0.3081,),
        image_shape=(1, 28, 28),
        split_sizes={"train": 60_000, "test": 10_000},
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        folders=("mnist", "MNIST/raw"),
        files=_idx_files(
            md5={
                "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
                "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
                "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
            },
            sizes={
                "train-images-idx3-ubyte.gz": 9_912_422,
                "train-labels-idx1-ubyte.gz": 28_881,
                "t10k-images-idx3-ubyte.gz": 1_648_877,
                "t10k-labels-idx1-ubyte.gz": 4_542,
            },
            content={
                "train-images-idx3-ubyte.gz": "6bbc9ace898e44ae57da46a324031adb",
                "train-labels-idx1-ubyte.gz": "a25bea736e30d166cdddb491f175f624",
                "t10k-images-idx3-ubyte.gz": "2646ac647ad5339dbf082846283269ea",
                "t10k-labels-idx1-ubyte.gz": "27ae3e4e09519cfbb04c329615203637",
            },
        ),
    ),
    IdxSpec(
        name="kmnist",
        title="Kuzushiji-MNIST",
        homepage="https://github.com/rois-codh/kmnist",
        classes=("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
        mean=(0.1918,),
        std=(0.3483,),
        image_shape=(1, 28, 28),
        split_sizes={"train": 60_000, "test": 10_000},
        mirrors=("http://codh.rois.ac.jp/kmnist/dataset/kmnist/",),
        folders=("kmnist", "KMNIST/raw"),
        files=_idx_files(
            md5={
                "train-images-idx3-ubyte.gz": "bdb82020997e1d708af4cf47b453dcf7",
                "train-labels-idx1-ubyte.gz": "e144d726b3acfaa3e44228e80efcd344",
                "t10k-images-idx3-ubyte.gz": "5c965bf0a639b31b8f53240b1b52f4d7",
                "t10k-labels-idx1-ubyte.gz": "7320c461ea6c1c855c0b718fb2a4b134",
            }
        ),
    ),
    CifarSpec(
        name="cifar10",
        title="CIFAR-10",
        homepage="https://www.cs.toronto.edu/~kriz/cifar.html",
        classes=(
            "airplane",
            "automobile",
            "bird",
            "cat",
            "deer",
            "dog",
            "frog",
            "horse",
            "ship",
            "truck",
        ),
        mean=(0.4914, 0.4822, 0.4465),
        std=(0.2470, 0.2435, 0.2616),
        image_shape=(3, 32, 32),
        split_sizes={"train": 50_000, "test": 10_000},
        mirrors=("https://www.cs.toronto.edu/~kriz/",),
        folders=("cifar10", "cifar-10"),
        archive=FileSpec("cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530", 170_052_171),
        member_dir="cifar-10-batches-bin",
        members={
            "train": (
                FileSpec("data_batch_1.bin", "5dd7e06a14cb22eb9f671a540d1b7c25", 30_730_000),
                FileSpec("data_batch_2.bin", "5ea93a67294ea407fff1d09f752e9692", 30_730_000),
                FileSpec("data_batch_3.bin", "942cd6a4bcdd0dd3c604fbe906cb4421", 30_730_000),
                FileSpec("data_batch_4.bin", "ae636b3ba5c66a11e91e8cb52e771fcb", 30_730_000),
                FileSpec("data_batch_5.bin", "53f37980c15c3d472c316c40844f3f0d", 30_730_000),
            ),
            "test": (FileSpec("test_batch.bin", "803d5f7f4d78ea53de84dbe85f74fb6d", 30_730_000),),
        },
        label_bytes=1,
        label_index=0,
    ),
    CifarSpec(
        name="cifar100",
        title="CIFAR-100",
        homepage="https://www.cs.toronto.edu/~kriz/cifar.html",
        classes=tuple(CIFAR100_CLASSES),
        mean=(0.5071, 0.4865, 0.4409),
        std=(0.2673, 0.2564, 0.2762),
        image_shape=(3, 32, 32),
        split_sizes={"train": 50_000, "test": 10_000},
        mirrors=("https://www.cs.toronto.edu/~kriz/",),
        folders=("cifar100", "cifar-100"),
        archive=FileSpec(
            "cifar-100-binary.tar.gz", "03b5dce01913d631647c71ecec9e9cb8", 168_513_733
        ),
        member_dir="cifar-100-binary",
        members={
            "train": (FileSpec("train.bin", "6172c7755cfe09b2fe270c85cebc1b15", 153_700_000),),
            "test": (FileSpec("test.bin", "4499cfba6c016c1be1438163640a0898", 30_740_000),),
        },
        label_bytes=2,  # coarse label, then fine label
        label_index=1,  # the 100 fine classes
    ),
)

CATALOGUE: dict[str, DatasetSpec] = {s.name: s for s in _SPECS}
_ALIASES = {
    "fashionmnist": "fashion-mnist",
    "fmnist": "fashion-mnist",
    "cifar-10": "cifar10",
    "cifar-100": "cifar100",
    "kuzushiji-mnist": "kmnist",
}


def list_datasets() -> list[str]:
    """Names of the catalogue's data sets."""
    return list(CATALOGUE)


def _key(name: object) -> str:
    key = str(name).strip().lower().replace("_", "-")
    return _ALIASES.get(key, key)


def get_spec(name: str | DatasetSpec) -> DatasetSpec:
    """The catalogue entry for ``name`` (case and ``_``/``-`` insensitive)."""
    if isinstance(name, DatasetSpec):
        return name
    key = _key(name)
    if key in CATALOGUE:
        return CATALOGUE[key]
    close = difflib.get_close_matches(key, list(CATALOGUE) + list(_ALIASES), n=3, cutoff=0.5)
    close = list(dict.fromkeys(_ALIASES.get(c, c) for c in close))
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise DataError(
        f"unknown data set {name!r}.{hint} Known: {', '.join(CATALOGUE)}; or give the path "
        "of an image folder (one sub-folder per class)"
    )


# ------------------------------------------------------------------------------------- lookup


def search_roots(data_dir: str | os.PathLike[str] | None = None) -> list[tuple[Path, str]]:
    """The roots searched, in order, each with the reason it is searched."""
    roots: list[tuple[Path, str]] = []
    if data_dir is not None:
        roots.append((Path(data_dir).expanduser(), "--data-dir"))
    for part in os.environ.get(ENV_VAR, "").split(os.pathsep):
        if part.strip():
            roots.append((Path(part).expanduser(), f"${ENV_VAR}"))
    roots.append((cache_dir(), "cache"))
    roots += [(Path(r), "system") for r in SYSTEM_ROOTS]
    return roots


def _candidate_folders(spec: DatasetSpec, data_dir: str | os.PathLike[str] | None):
    for root, why in search_roots(data_dir):
        for sub in spec.folder_names:
            yield root / sub, why
        if why == "--data-dir":  # --data-dir may name the data set's own folder
            yield root, why


def locate(
    name: str | DatasetSpec,
    split: str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> Location | None:
    """Where the files of ``split`` (every split when None) are, searching the roots in order;
    None when they are nowhere. Presence only: checksums are verified when the files are read."""
    spec = get_spec(name)
    for folder, why in _candidate_folders(spec, data_dir):
        paths = spec.find(folder, split)
        if paths is not None:
            return Location(folder, paths, why)
    return None


def download_target(spec: DatasetSpec, data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder a download goes to: ``data_dir``, else the first ``$CNNZOO_DATA`` root, else
    ``~/.cache/cnnzoo``; then the data set's own sub-folder."""
    roots = [r for r, why in search_roots(data_dir) if why != "system"]
    return roots[0] / spec.folder_names[0]


def missing_message(
    spec: DatasetSpec,
    data_dir: str | os.PathLike[str] | None = None,
    reason: str | None = None,
) -> str:
    """The error text for a data set that is not on this machine: which files to put where."""
    lines = [
        f"{spec.title} ({spec.name}) is not on this machine" + (f": {reason}" if reason else ".")
    ]
    lines.append("Put these files:")
    lines += [f"    {line}" for line in spec.what_to_put()]
    lines.append("into one of these folders (searched in this order):")
    note = {"--data-dir": "--data-dir", f"${ENV_VAR}": f"${ENV_VAR}", "cache": "the cache"}
    for root, why in search_roots(data_dir):
        folder = root / spec.folder_names[0]
        have = ""
        for f in (folder, root) if why == "--data-dir" else (folder,):
            lacks = spec.missing(f) if f.is_dir() else spec.downloads
            if len(lacks) < len(spec.downloads):  # some files are there: say which are not
                have = f"; {f} lacks {', '.join(lacks)}"
                break
        lines.append(f"    {folder}/  ({note.get(why, 'system-wide')}{have})")
    if not os.environ.get(ENV_VAR):
        lines.append(f"    (or set ${ENV_VAR} to a folder of your choice)")
    urls = ", ".join(f"{m}{spec.downloads[0].name}" for m in spec.mirrors[:1])
    lines.append(
        f"Download from {spec.mirrors[0]} (e.g. {urls}), or run "
        f"`cnnzoo data download {spec.name}` where the network allows."
    )
    if spec.apt_package:
        lines.append(
            f"On Debian/Ubuntu, `apt-get install {spec.apt_package}` (as root) provides "
            f"{spec.title} in {SYSTEM_ROOTS[0]}/{spec.folder_names[0]}/."
        )
    return "\n".join(lines)


def download_dataset(
    name: str | DatasetSpec,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    progress: bool | TextIO = True,
    timeout: float = 30.0,
) -> Path:
    """Fetch the files of ``name`` that the download folder lacks (see :func:`download_target`),
    each from the first mirror that serves it with the right checksum. Returns the folder.
    On failure a :class:`DataError` with :func:`missing_message`; nothing half-written is left."""
    spec = get_spec(name)
    target = download_target(spec, data_dir)
    created = not target.exists()
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(
            missing_message(spec, data_dir, f"cannot create {target} ({e.strerror or e})")
        ) from None
    failures: list[str] = []
    try:
        for fs in spec.downloads:
            if (target / fs.name).is_file():
                continue
            errors = []
            for mirror in spec.mirrors:
                try:
                    fetch(
                        mirror + fs.name,
                        target / fs.name,
                        md5=fs.md5,
                        progress=progress,
                        timeout=timeout,
                    )
                    break
                except DownloadError as e:
                    errors.append(str(e))
                except OSError as e:
                    errors.append(f"{mirror + fs.name}: {e.strerror or e}")
            else:
                failures.append("; ".join(errors))
                break  # the network is down or the mirrors are wrong: do not try every file
    finally:
        if created and target.is_dir() and not any(target.iterdir()):
            target.rmdir()
    if failures:
        raise DataError(missing_message(spec, data_dir, f"downloading failed ({failures[0]})"))
    return target


# --------------------------------------------------------------------------------- load/check


def load_dataset(
    name: str | os.PathLike[str] | DatasetSpec,
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
    ``cifar100``), a :class:`DatasetSpec`, or the path of an image folder: ``PATH/<split>/``
    when it exists, else ``PATH`` itself for the train split (``size`` and ``grayscale`` go to
    :func:`load_image_folder`). Missing files are downloaded when ``download`` (else, or when
    that fails, a :class:`DataError` says which files to put where); ``verify`` checks the
    published checksums. For a validation set use :func:`train_val_split` on the train split.
    """
    if not isinstance(name, DatasetSpec) and _looks_like_path(name):
        return _load_folder(Path(name).expanduser(), split, size=size, grayscale=grayscale)
    spec = get_spec(name)  # type: ignore[arg-type]
    if split not in spec.splits:
        hint = " (carve it from train with train_val_split)" if split in ("val", "valid") else ""
        raise DataError(
            f"{spec.name} has no split {split!r}{hint}; choose one of {', '.join(spec.splits)}"
        )
    location = locate(spec, split, data_dir)
    if location is None:
        if not download:
            raise DataError(missing_message(spec, data_dir))
        download_dataset(spec, data_dir, progress=progress)
        location = locate(spec, split, data_dir)
        if location is None:  # pragma: no cover - the download succeeded but files vanished
            raise DataError(missing_message(spec, data_dir))
    images, labels = spec.read(location, split, verify=verify)
    return ImageDataset(
        images=images,
        labels=labels,
        classes=list(spec.classes),
        mean=spec.mean,
        std=spec.std,
        name=spec.name,
        split=split,
        source=str(location.folder),
    )


def _looks_like_path(name: object) -> bool:
    """An image folder rather than a catalogue name? A catalogue name wins over a folder of
    the same name in the working directory."""
    if isinstance(name, os.PathLike):
        return True
    text = str(name)
    if _key(text) in CATALOGUE:
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
class DatasetStatus:
    """What :func:`dataset_status` reports for one data set."""

    spec: DatasetSpec
    location: Location | None
    download_to: Path


def dataset_status(data_dir: str | os.PathLike[str] | None = None) -> list[DatasetStatus]:
    """For each catalogue entry, where its files are (presence only, no checksums)."""
    return [
        DatasetStatus(spec, locate(spec, None, data_dir), download_target(spec, data_dir))
        for spec in CATALOGUE.values()
    ]


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
    name: str | os.PathLike[str] | DatasetSpec, data_dir: str | os.PathLike[str] | None = None
) -> CheckReport:
    """Find a data set, verify every file's checksum, read every split fully and check the
    number of images per split. A :class:`DataError` on the first problem. ``name`` may also be
    an image folder (every image is decoded; its train/ and test/ sub-folders when it has them)."""
    if not isinstance(name, DatasetSpec) and _looks_like_path(name):
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
    spec = get_spec(name)  # type: ignore[arg-type]
    location = locate(spec, None, data_dir)
    if location is None:
        raise DataError(missing_message(spec, data_dir))
    files = spec.verify(location)
    counts = {}
    for split in spec.splits:
        _, labels = spec.read(location, split, verify=False)
        expected = spec.split_sizes[split]
        if len(labels) != expected:
            raise DataError(
                f"{location.folder}: the {split} split has {len(labels):,} images, "
                f"{spec.title} has {expected:,}"
            )
        counts[split] = torch.bincount(labels, minlength=len(spec.classes)).tolist()
    return CheckReport(spec.name, spec.title, location.folder, files, list(spec.classes), counts)
