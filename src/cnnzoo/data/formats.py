"""Readers for the on-disk formats: IDX (the MNIST family), CIFAR binary records, image folders.

Every reader decodes whole arrays with ``numpy.frombuffer`` (no per-image Python work for IDX and
CIFAR), checks the structure before trusting it, and raises :class:`DataError` naming the file
and the problem. CIFAR is read from its *binary* release: nothing here unpickles, so loading a
data set never executes code.

A little over 450 lines: the three readers share the size caps and the decompression checks
(:data:`MAX_DECOMPRESSED`, :func:`decompress`) that keep a hostile file from exhausting memory,
and they are read best next to those.
"""

from __future__ import annotations

import io
import os
import struct
import tarfile
import zlib
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from cnnzoo.data.dataset import ImageDataset, channel_stats
from cnnzoo.data.errors import DataError

__all__ = [
    "IMAGE_EXTENSIONS",
    "MAX_DECOMPRESSED",
    "MAX_PIXELS",
    "decompress",
    "decompress_idx",
    "idx_size",
    "image_size",
    "load_image_folder",
    "parse_cifar",
    "parse_idx",
    "read_bytes",
    "read_cifar_file",
    "read_idx",
    "read_idx_pair",
    "read_image",
    "read_tar_members",
]

# IDX type codes -> numpy dtypes (big-endian for multi-byte types), as in LeCun's description.
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"

IMAGE_EXTENSIONS = (
    ".png",
    ".jpg",
    ".jpeg",
    ".bmp",
    ".gif",
    ".tif",
    ".tiff",
    ".webp",
    ".ppm",
    ".pgm",
)


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a file, or a :class:`DataError` saying why it cannot be read."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, expected a file") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None


#: the most a gzip file may expand to when nothing tells how much to expect (2 GiB: more than
#: any data set here unpacks to); an IDX file may expand only to what its header promises
MAX_DECOMPRESSED = 2 << 30


def decompress(data: bytes, source: str | os.PathLike[str], max_size: int | None = None) -> bytes:
    """``data`` gunzipped when it starts with the gzip magic, else unchanged. The output is
    capped at ``max_size`` bytes (default :data:`MAX_DECOMPRESSED`) while it is produced, so a
    small file that expands without end (a "zip bomb") is refused without using the memory."""
    if not data.startswith(_GZIP_MAGIC):
        return data
    limit = MAX_DECOMPRESSED if max_size is None else int(max_size)
    out = bytearray()
    rest = data
    try:
        while rest.startswith(_GZIP_MAGIC):  # one gzip member after another
            d = zlib.decompressobj(wbits=31)
            pending = rest
            while not d.eof:
                chunk = d.decompress(pending, limit + 1 - len(out))
                out += chunk
                if len(out) > limit:
                    raise DataError(
                        f"{source}: the gzip data expands beyond {limit:,} bytes, more than "
                        "this file can hold; refused (a corrupt file, or a decompression bomb)"
                    )
                pending = d.unconsumed_tail
                if not chunk and not pending:
                    raise DataError(
                        f"{source}: truncated gzip file (the compressed stream ends early)"
                    )
            rest = d.unused_data
    except zlib.error as e:
        raise DataError(f"{source}: corrupt gzip data ({e})") from None
    return bytes(out)


def idx_size(data: bytes) -> int | None:
    """How many bytes an IDX file (gzipped or not) says it holds, read from its header (None
    when the start is not an IDX header: :func:`parse_idx` then says what is wrong)."""
    head = data[:64]
    if data.startswith(_GZIP_MAGIC):
        try:
            head = zlib.decompressobj(wbits=31).decompress(data, 64)
        except zlib.error:
            return None
    if len(head) < 4:
        return None
    zero, code, ndim = struct.unpack(">HBB", head[:4])
    if zero != 0 or code not in _IDX_DTYPES or ndim == 0 or len(head) < 4 + 4 * ndim:
        return None
    dims = struct.unpack(f">{ndim}I", head[4 : 4 + 4 * ndim])
    return 4 + 4 * ndim + int(np.prod(dims, dtype=np.int64)) * _IDX_DTYPES[code].itemsize


# ----------------------------------------------------------------------------------------- IDX


def parse_idx(data: bytes, source: str | os.PathLike[str] = "<bytes>") -> np.ndarray:
    """Decode one IDX file's (uncompressed) bytes into an array of the shape its header gives.

    The header is two zero bytes, a type code, the number of dimensions, then one big-endian
    uint32 per dimension. The payload must be exactly as long as the header says.
    """
    if len(data) < 4:
        raise DataError(f"{source}: truncated IDX file ({len(data)} bytes, no complete header)")
    zero, code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or code not in _IDX_DTYPES or ndim == 0:
        raise DataError(
            f"{source}: wrong magic number 0x{data[:4].hex()} for an IDX file (expected "
            "0x00000801 for labels or 0x00000803 for images); not an IDX file, or still "
            "compressed in a format other than gzip"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{source}: truncated IDX header ({len(data)} of {header} bytes)")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    dtype = _IDX_DTYPES[code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    got = len(data) - header
    shape = "x".join(map(str, dims))
    if got < expected:
        raise DataError(
            f"{source}: truncated IDX data: the header promises {shape} values "
            f"({expected:,} bytes) but the file holds {got:,}"
        )
    if got > expected:
        raise DataError(
            f"{source}: corrupt IDX file: {got - expected:,} bytes after the {shape} values "
            "the header describes"
        )
    array = np.frombuffer(data, dtype=dtype, count=int(np.prod(dims)), offset=header)
    return array.reshape(dims)


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file, gzip-compressed or raw (detected from the content, not the name)."""
    return parse_idx(decompress_idx(read_bytes(path), path), path)


def decompress_idx(data: bytes, source: str | os.PathLike[str]) -> bytes:
    """An IDX file's bytes, gunzipped no further than one byte past what its header promises
    (so that :func:`parse_idx` still sees, and names, data after the values)."""
    promised = idx_size(data)
    return decompress(data, source, None if promised is None else promised + 1)


def read_idx_pair(
    images: np.ndarray,
    labels: np.ndarray,
    num_classes: int,
    image_source: str | os.PathLike[str],
    label_source: str | os.PathLike[str],
) -> tuple[torch.Tensor, torch.Tensor]:
    """Check a decoded IDX image array ``[N, H, W]`` and label array ``[N]`` against each other
    and return them as tensors ``uint8 [N, 1, H, W]`` and ``int64 [N]``."""
    if images.dtype != np.uint8 or images.ndim not in (3, 4):
        raise DataError(
            f"{image_source}: expected uint8 images [N, H, W], got {images.dtype} "
            f"with {images.ndim} dimensions"
        )
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise DataError(
            f"{label_source}: expected a 1-D integer label file, got {labels.dtype} "
            f"with {labels.ndim} dimensions"
        )
    if len(images) != len(labels):
        raise DataError(
            f"image/label count mismatch: {image_source} holds {len(images):,} images but "
            f"{label_source} holds {len(labels):,} labels"
        )
    _check_labels(labels, num_classes, label_source)
    x = torch.from_numpy(images.copy())  # frombuffer arrays are read-only
    x = x.unsqueeze(1) if x.dim() == 3 else x.permute(0, 3, 1, 2).contiguous()
    return x, torch.from_numpy(labels.astype(np.int64))


def _check_labels(labels: np.ndarray, num_classes: int, source: str | os.PathLike[str]) -> None:
    if len(labels) == 0:
        return
    bad = np.flatnonzero((labels < 0) | (labels >= num_classes))
    if len(bad):
        raise DataError(
            f"{source}: label {int(labels[bad[0]])} at index {int(bad[0])} is out of range "
            f"for {num_classes} classes ({len(bad):,} bad labels)"
        )


# --------------------------------------------------------------------------------------- CIFAR


def parse_cifar(
    data: bytes,
    *,
    label_bytes: int,
    label_index: int,
    num_classes: int,
    source: str | os.PathLike[str] = "<bytes>",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode CIFAR binary records: each is ``label_bytes`` label bytes (CIFAR-10: 1; CIFAR-100:
    2, coarse then fine) followed by 3072 pixel bytes, the 1024 red, then green, then blue
    values of a 32x32 image in row-major order. ``label_index`` picks which label byte to use.
    Returns ``uint8 [N, 3, 32, 32]`` and ``int64 [N]``."""
    record = label_bytes + 3 * 32 * 32
    if not data:
        raise DataError(f"{source}: empty CIFAR file")
    if len(data) % record:
        raise DataError(
            f"{source}: truncated or corrupt CIFAR file: {len(data):,} bytes is not a whole "
            f"number of {record}-byte records ({len(data) // record:,} records and "
            f"{len(data) % record:,} bytes left over)"
        )
    rows = np.frombuffer(data, dtype=np.uint8).reshape(-1, record)
    labels = rows[:, label_index]
    _check_labels(labels, num_classes, source)
    images = torch.from_numpy(rows[:, label_bytes:].reshape(-1, 3, 32, 32).copy())
    return images, torch.from_numpy(labels.astype(np.int64))


def read_cifar_file(
    path: str | os.PathLike[str], *, label_bytes: int, label_index: int, num_classes: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Read one CIFAR binary batch file (``data_batch_1.bin``, ``train.bin``...)."""
    return parse_cifar(
        read_bytes(path),
        label_bytes=label_bytes,
        label_index=label_index,
        num_classes=num_classes,
        source=path,
    )


def read_tar_members(
    path: str | os.PathLike[str], names: Iterable[str], data: bytes | None = None
) -> dict[str, bytes]:
    """Read the regular-file members whose base name is in ``names`` from a (gzipped) tar
    archive, streaming, without extracting anything to disk (so no member can land outside a
    folder). ``data``: the archive's bytes when already read, else ``path`` is read. Missing
    members, a truncated or corrupt archive: :class:`DataError` naming ``path``."""
    wanted = set(names)
    found: dict[str, bytes] = {}
    try:
        fileobj = io.BytesIO(data) if data is not None else open(path, "rb")  # noqa: SIM115
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None
    try:
        with fileobj, tarfile.open(fileobj=fileobj, mode="r|*") as tar:
            for member in tar:
                base = member.name.rsplit("/", 1)[-1]
                if base in wanted and base not in found and member.isfile():
                    if member.size > MAX_DECOMPRESSED:
                        raise DataError(
                            f"{path}: member {member.name} claims {member.size:,} bytes, more "
                            "than any data set holds; refused"
                        )
                    f = tar.extractfile(member)
                    if f is not None:
                        found[base] = f.read()
                        if len(found[base]) != member.size:
                            raise DataError(f"{path}: truncated archive (member {member.name})")
                if len(found) == len(wanted):
                    break
    except EOFError:
        raise DataError(f"{path}: truncated archive (it ends early)") from None
    except (tarfile.TarError, OSError, zlib.error) as e:
        raise DataError(f"{path}: corrupt or truncated archive ({e})") from None
    missing = sorted(wanted - set(found))
    if missing:
        raise DataError(f"{path}: the archive lacks {', '.join(missing)}")
    return found


# -------------------------------------------------------------------------------- image files

#: the largest image read (from its header, before decoding): larger ones are refused
MAX_PIXELS = 64_000_000
# Pillow reports a broken file with any of these, a decompression bomb with its own
_BROKEN = (OSError, ValueError, SyntaxError, EOFError, struct.error)


def image_size(path: str | os.PathLike[str]) -> tuple[int, int]:
    """``(height, width)`` of an image file, from its header (nothing is decoded)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            w, h = im.size
    except (*_BROKEN, Image.DecompressionBombError) as e:
        raise DataError(f"{path}: cannot read image ({e})") from None
    return h, w


def read_image(
    path: str | os.PathLike[str],
    grayscale: bool | None = None,
    size: tuple[int, int] | None = None,
) -> np.ndarray:
    """One image file as ``uint8`` (height, width, channels): the one path every image takes,
    in training folders, evaluation and ``predict`` alike. 16-bit images are scaled to 8 bits
    (÷257), float images clipped to 0–255; ``grayscale`` True gives 1 channel, False 3 (RGB,
    alpha dropped), None 1 for a grayscale file and 3 otherwise; ``size`` (height, width)
    resizes (bilinear). An image of more than :data:`MAX_PIXELS` is refused from its header,
    before anything is decoded."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            w, h = im.size
            if w * h > MAX_PIXELS:
                raise DataError(
                    f"{path}: {w}x{h} pixels is more than cnnzoo reads "
                    f"({MAX_PIXELS // 1_000_000} megapixels); shrink the image first"
                )
            im.load()
            if im.mode.startswith("I") or im.mode == "F":  # 16/32-bit integer or float
                arr = np.asarray(im, dtype=np.float64)
                arr = arr / 257.0 if im.mode.startswith("I") else arr  # 0..65535 -> 0..255
                im = Image.fromarray(arr.clip(0, 255).round().astype(np.uint8))
            gray = im.mode in ("1", "L", "LA")
            mode = "L" if (grayscale or (grayscale is None and gray)) else "RGB"
            im = im.convert(mode)
            if size is not None and im.size != (size[1], size[0]):
                im = im.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            a = np.asarray(im, dtype=np.uint8)
    except FileNotFoundError:
        raise DataError(f"image {path} does not exist") from None
    except (*_BROKEN, Image.DecompressionBombError) as e:
        raise DataError(f"{path}: cannot read image ({e})") from None
    return a[:, :, None] if a.ndim == 2 else a


# -------------------------------------------------------------------------------- image folders


def load_image_folder(
    path: str | os.PathLike[str],
    *,
    size: int | tuple[int, int] | None = None,
    grayscale: bool | None = None,
    name: str | None = None,
    split: str = "train",
    classes: Sequence[str] | None = None,
    extensions: Sequence[str] = IMAGE_EXTENSIONS,
    workers: int | None = None,
) -> ImageDataset:
    """Load a folder with one sub-folder per class (``path/cat/001.png``...) into memory.

    Classes are the sub-folder names, sorted. ``size`` (an int or ``(height, width)``) resizes
    every image (bilinear, antialiased); without it all images must share one size.
    ``grayscale=True`` gives 1 channel, ``False`` 3 (RGB; alpha is dropped), ``None`` 1 when
    every image is grayscale, else 3; 16-bit images are scaled to 8 bits. Files whose extension
    is not an image's are skipped; hidden files and folders too. Mean and std are computed from
    the images loaded.
    ``classes`` fixes the class list (and so the labels), e.g. a test folder read with the
    training folder's classes: every sub-folder must be one of them, and some may be absent.
    """

    root = Path(path)
    if not root.is_dir():
        raise DataError(f"{root}: image folder not found")
    exts = tuple(e.lower() for e in extensions)
    class_dirs = sorted(
        (d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")),
        key=lambda d: d.name,
    )
    if classes is not None:
        unknown = [d.name for d in class_dirs if d.name not in classes]
        if unknown:
            raise DataError(
                f"{root}: class folder(s) {', '.join(unknown)} not among the "
                f"{len(classes)} classes expected ({', '.join(list(classes)[:5])}...)"
            )
    if not class_dirs:
        raise DataError(
            f"{root}: no class folders; expected one sub-folder per class, e.g. {root}/cat/001.png"
        )
    files: list[Path] = []
    labels: list[int] = []
    class_names = list(classes) if classes is not None else [d.name for d in class_dirs]
    for d in class_dirs:
        label = class_names.index(d.name)
        images = sorted(
            f
            for f in d.iterdir()
            if f.is_file() and not f.name.startswith(".") and f.suffix.lower() in exts
        )
        if not images:
            raise DataError(
                f"{d}: empty class folder (no {'/'.join(e.lstrip('.') for e in exts[:4])}... "
                "images); remove it or add images"
            )
        files += images
        labels += [label] * len(images)
    hw = (size, size) if isinstance(size, int) else tuple(size) if size is not None else None
    if hw is not None and (len(hw) != 2 or min(hw) < 1):
        raise DataError(f"size must be a positive int or (height, width), got {size!r}")

    if hw is None:  # one size for all: refuse a stray size from the headers, before decoding
        sizes: dict[tuple[int, int], Path] = {}
        for f in files:
            sizes.setdefault(image_size(f), f)
            if len(sizes) > 1:
                examples = ", ".join(f"{f} is {h}x{w}" for (h, w), f in list(sizes.items())[:2])
                raise DataError(
                    f"{root}: images have different sizes ({examples}); pass size=(height, width)"
                )

    def decode(f: Path) -> np.ndarray:
        return read_image(f, grayscale, hw)

    with ThreadPoolExecutor(max_workers=workers or min(8, os.cpu_count() or 1)) as pool:
        arrays = list(pool.map(decode, files))
    channels = {a.shape[2] for a in arrays}
    if len(channels) > 1:  # auto mode, mixed grayscale and colour: make them all RGB
        arrays = [np.repeat(a, 3, axis=2) if a.shape[2] == 1 else a for a in arrays]
    images = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()
    mean, std = channel_stats(images)
    return ImageDataset(
        images=images,
        labels=torch.tensor(labels, dtype=torch.int64),
        classes=class_names,
        mean=mean,
        std=std,
        name=name or root.name,
        split=split,
        source=str(root),
    )
