"""Helpers for the data tests: writers for the real on-disk formats (written here from the format
descriptions, independently of cnnzoo's readers), tiny catalogue entries, a local HTTP server and
isolated lookup roots."""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import http.server
import io
import struct
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from cnnzoo.data import lookup
from cnnzoo.data.entries import CifarEntry, IdxEntry, PublishedFile

_IDX_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D}


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file: 0, 0, type code, number of dimensions, big-endian dimension sizes, data."""
    code = _IDX_CODES[array.dtype.type]
    header = struct.pack(">BBBB", 0, 0, code, array.ndim) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write(path: Path, data: bytes, gz: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def images(n: int, c: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, c, h, w), dtype=np.uint8)


def labels(n: int, k: int, seed: int = 0) -> np.ndarray:
    """Every class at least once (when n >= k), then random."""
    rng = np.random.default_rng(seed + 1)
    y = np.concatenate([np.arange(min(n, k)), rng.integers(0, k, max(n - k, 0))])
    return rng.permutation(y).astype(np.uint8)


IDX_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def tiny_idx(
    folder: Path,
    *,
    sizes: dict[str, int] | None = None,
    num_classes: int = 4,
    mirrors: tuple[str, ...] = (),
    name: str = "tiny",
) -> tuple[IdxEntry, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Write a small MNIST-style data set (gzipped IDX files, 28x28) into ``folder`` and return
    its catalogue entry (checksums of the files written) and the arrays per split."""
    sizes = sizes or {"train": 36, "test": 12}
    arrays, files = {}, {}
    for i, (split, n) in enumerate(sizes.items()):
        x = images(n, 1, 28, 28, seed=i)[:, 0]
        y = labels(n, num_classes, seed=i)
        arrays[split] = (x, y)
        specs = []
        for fname, arr in zip(IDX_FILES[split], (x, y), strict=True):
            raw = idx_bytes(arr)
            data = write(folder / fname, raw, gz=True).read_bytes()
            specs.append(PublishedFile(fname, md5(data), len(data), md5(raw)))
        files[split] = tuple(specs)
    spec = IdxEntry(
        name=name,
        title="Tiny",
        homepage="",
        classes=tuple(f"class{i}" for i in range(num_classes)),
        mean=(0.5,),
        std=(0.25,),
        image_shape=(1, 28, 28),
        split_sizes=dict(sizes),
        mirrors=mirrors,
        files=files,
    )
    return spec, arrays


def cifar_records(x: np.ndarray, *label_rows: np.ndarray) -> bytes:
    """CIFAR binary records: the label byte(s), then 1024 R, 1024 G, 1024 B values."""
    n = len(x)
    cols = [np.asarray(r, np.uint8).reshape(n, 1) for r in label_rows]
    return np.concatenate([*cols, x.reshape(n, 3072)], axis=1).tobytes()


def tar_gz(path: Path, members: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def tiny_cifar(
    folder: Path, *, hundred: bool = False, extracted: bool = False, mirrors: tuple[str, ...] = ()
) -> tuple[CifarEntry, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """A small CIFAR-10 (two train batches of 10, a test batch of 8) or CIFAR-100 (train.bin of
    20, test.bin of 8, coarse + fine labels) in the binary release's layout."""
    k = 100 if hundred else 10
    member_dir = "cifar-100-binary" if hundred else "cifar-10-batches-bin"
    layout = (
        {"train": {"train.bin": 20}, "test": {"test.bin": 8}}
        if hundred
        else {
            "train": {"data_batch_1.bin": 10, "data_batch_2.bin": 10},
            "test": {"test_batch.bin": 8},
        }
    )
    members, specs, arrays, seed = {}, {}, {}, 0
    for split, batches in layout.items():
        xs, ys, specs[split] = [], [], []
        for fname, n in batches.items():
            seed += 1
            x = images(n, 3, 32, 32, seed)
            y = labels(n, k, seed)
            data = cifar_records(x, y // 5, y) if hundred else cifar_records(x, y)
            members[f"{member_dir}/{fname}"] = data
            specs[split].append(PublishedFile(fname, md5(data), len(data)))
            xs.append(x)
            ys.append(y)
        arrays[split] = (np.concatenate(xs), np.concatenate(ys))
    members[f"{member_dir}/readme.html"] = b"<html></html>"
    name = "cifar-100-binary.tar.gz" if hundred else "cifar-10-binary.tar.gz"
    if extracted:
        for m, data in members.items():
            write(folder / m, data)
        archive = PublishedFile(name, "0" * 32)
    else:
        data = tar_gz(folder / name, members).read_bytes()
        archive = PublishedFile(name, md5(data), len(data))
    spec = CifarEntry(
        name="tiny100" if hundred else "tiny10",
        title="Tiny CIFAR",
        homepage="",
        classes=tuple(f"c{i}" for i in range(k)),
        mean=(0.5, 0.5, 0.5),
        std=(0.25, 0.25, 0.25),
        image_shape=(3, 32, 32),
        split_sizes={s: len(a[1]) for s, a in arrays.items()},
        mirrors=mirrors,
        archive=archive,
        member_dir=member_dir,
        members={s: tuple(v) for s, v in specs.items()},
        label_bytes=2 if hundred else 1,
        label_index=1 if hundred else 0,
    )
    return spec, arrays


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def http_server(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 (an ephemeral port) and yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def isolate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Path]:
    """Point every lookup root at empty folders under ``tmp_path``: $HOME (so the cache),
    $CNNZOO_DATA unset, the system root. Returns them."""
    home, system = tmp_path / "home", tmp_path / "system"
    home.mkdir(exist_ok=True)
    system.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("CNNZOO_DATA", raising=False)
    monkeypatch.setattr(lookup, "SYSTEM_ROOTS", (str(system),))
    return {"home": home, "cache": home / ".cache" / "cnnzoo", "system": system}


def all_files(root: Path) -> list[str]:
    """Every file under ``root`` (hidden ones too), relative."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
