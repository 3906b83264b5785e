"""The format readers on small files written in each real format: IDX (raw and gzip), CIFAR-10
and CIFAR-100 binary records (loose and in a tar.gz), PNG/JPEG image folders; and every kind
of bad input, each a clear error naming the file and the problem."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from _data_util import cifar_records, idx_bytes, images, labels, tar_gz, write
from cnnzoo.data import DataError, ImageDataset, load_dataset, load_image_folder, read_idx
from cnnzoo.data.formats import parse_cifar, read_cifar_file, read_idx_pair, read_tar_members

# ---------------------------------------------------------------------------------------- IDX


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gzip"])
def test_idx_round_trip(tmp_path: Path, gz: bool) -> None:
    x = images(30, 1, 28, 28)[:, 0]
    y = labels(30, 10)
    xp = write(tmp_path / "x-idx3-ubyte", idx_bytes(x), gz=gz)
    yp = write(tmp_path / "y-idx1-ubyte", idx_bytes(y), gz=gz)
    got_x, got_y = read_idx(xp), read_idx(yp)
    assert got_x.shape == (30, 28, 28) and got_x.dtype == np.uint8
    np.testing.assert_array_equal(got_x, x)
    np.testing.assert_array_equal(got_y, y)
    tx, ty = read_idx_pair(got_x, got_y, 10, xp, yp)
    assert tx.shape == (30, 1, 28, 28) and tx.dtype == torch.uint8 and ty.dtype == torch.int64
    assert torch.equal(tx[:, 0], torch.from_numpy(x)) and torch.equal(
        ty, torch.from_numpy(y).long()
    )


def test_idx_other_types_are_big_endian(tmp_path: Path) -> None:
    for arr in (
        np.arange(-6, 6, dtype=np.int16).reshape(3, 4),
        np.linspace(0, 1, 8, dtype=np.float32),
    ):
        got = read_idx(write(tmp_path / "a.idx", idx_bytes(arr)))
        np.testing.assert_array_equal(got, arr)


def test_idx_gzip_detected_by_content_not_name(tmp_path: Path) -> None:
    y = labels(12, 3)
    path = write(tmp_path / "labels-without-gz-suffix", idx_bytes(y), gz=True)
    np.testing.assert_array_equal(read_idx(path), y)


def _expect(match: str, fn, *args, **kw) -> str:
    with pytest.raises(DataError, match=match) as e:
        fn(*args, **kw)
    return str(e.value)


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gzip"])
def test_idx_truncated(tmp_path: Path, gz: bool) -> None:
    data = idx_bytes(images(10, 1, 28, 28)[:, 0])[:-100]
    path = write(tmp_path / "t-idx3-ubyte", data, gz=gz)
    msg = _expect("truncated IDX data", read_idx, path)
    assert str(path) in msg and "10x28x28" in msg


def test_idx_extra_bytes(tmp_path: Path) -> None:
    path = write(tmp_path / "x.idx", idx_bytes(labels(5, 2)) + b"\0\0")
    assert str(path) in _expect("2 bytes after", read_idx, path)


def test_idx_header_only_partly_there(tmp_path: Path) -> None:
    path = write(tmp_path / "x.idx", idx_bytes(images(2, 1, 4, 4)[:, 0])[:9])
    _expect("truncated IDX header", read_idx, path)
    _expect("truncated IDX file", read_idx, write(tmp_path / "y.idx", b"\0\0"))


def test_idx_wrong_magic(tmp_path: Path) -> None:
    path = write(tmp_path / "x.idx", b"PK\x03\x04" + bytes(100))  # e.g. a zip file
    msg = _expect("wrong magic number 0x504b0304", read_idx, path)
    assert str(path) in msg and "0x00000803" in msg


def test_gzip_truncated_and_corrupt(tmp_path: Path) -> None:
    good = gzip.compress(idx_bytes(images(20, 1, 28, 28)[:, 0]))
    cut = write(tmp_path / "cut.gz", good[: len(good) // 2])
    assert str(cut) in _expect("truncated gzip", read_idx, cut)
    bad = bytearray(good)
    bad[len(bad) // 2 : len(bad) // 2 + 16] = bytes(16)
    corrupt = write(tmp_path / "corrupt.gz", bytes(bad))
    assert str(corrupt) in _expect("corrupt gzip", read_idx, corrupt)


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    _expect("file not found", read_idx, tmp_path / "nope.gz")
    _expect("is a folder", read_idx, tmp_path)


def test_count_mismatch_and_labels_out_of_range(tmp_path: Path) -> None:
    x, y = images(10, 1, 28, 28)[:, 0], labels(9, 4)
    msg = _expect("count mismatch", read_idx_pair, x, y, 4, "imgs.gz", "lbls.gz")
    assert "imgs.gz holds 10 images" in msg and "lbls.gz holds 9 labels" in msg
    y = labels(10, 4)
    y[7] = 11
    msg = _expect(
        "label 11 at index 7 is out of range for 4 classes", read_idx_pair, x, y, 4, "i", "l.gz"
    )
    assert msg.startswith("l.gz")
    _expect("expected uint8 images", read_idx_pair, x.astype(np.int16), labels(10, 4), 4, "i", "l")


# -------------------------------------------------------------------------------------- CIFAR


def test_cifar10_records(tmp_path: Path) -> None:
    x, y = images(12, 3, 32, 32), labels(12, 10)
    path = write(tmp_path / "data_batch_1.bin", cifar_records(x, y))
    got_x, got_y = read_cifar_file(path, label_bytes=1, label_index=0, num_classes=10)
    assert got_x.shape == (12, 3, 32, 32) and got_x.dtype == torch.uint8
    assert torch.equal(got_x, torch.from_numpy(x)) and got_y.tolist() == y.tolist()


def test_cifar100_records_fine_labels(tmp_path: Path) -> None:
    x, fine = images(9, 3, 32, 32), labels(9, 100)
    data = cifar_records(x, fine // 5, fine)
    got_x, got_y = parse_cifar(data, label_bytes=2, label_index=1, num_classes=100)
    assert torch.equal(got_x, torch.from_numpy(x)) and got_y.tolist() == fine.tolist()
    _, coarse = parse_cifar(data, label_bytes=2, label_index=0, num_classes=20)
    assert coarse.tolist() == (fine // 5).tolist()


def test_cifar_truncated_empty_and_bad_label(tmp_path: Path) -> None:
    x, y = images(4, 3, 32, 32), labels(4, 10)
    kw = {"label_bytes": 1, "label_index": 0, "num_classes": 10}
    path = write(tmp_path / "test_batch.bin", cifar_records(x, y)[:-5])
    msg = _expect("not a whole number of 3073-byte records", read_cifar_file, path, **kw)
    assert str(path) in msg
    _expect("empty CIFAR file", read_cifar_file, write(tmp_path / "e.bin", b""), **kw)
    y[2] = 10
    path = write(tmp_path / "b.bin", cifar_records(x, y))
    assert str(path) in _expect("label 10 at index 2 is out of range", read_cifar_file, path, **kw)


def test_tar_members_read_without_extracting(tmp_path: Path) -> None:
    archive = tar_gz(
        tmp_path / "a.tar.gz", {"d/one.bin": b"1", "d/two.bin": b"22", "../evil": b"x"}
    )
    got = read_tar_members(archive, ["one.bin", "two.bin"])
    assert got == {"one.bin": b"1", "two.bin": b"22"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tar.gz"]
    assert str(archive) in _expect("lacks three.bin", read_tar_members, archive, ["three.bin"])
    data = archive.read_bytes()
    cut = write(tmp_path / "cut.tar.gz", data[: len(data) // 2])
    _expect("truncated|corrupt", read_tar_members, cut, ["two.bin"])
    _expect(
        "corrupt or truncated archive",
        read_tar_members,
        write(tmp_path / "n.tgz", b"junk" * 200),
        ["x"],
    )


# ------------------------------------------------------------------------------ image folders


def _save(path: Path, array: np.ndarray, fmt: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, format=fmt)


def test_png_folder_grayscale_and_rgb(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    expect = {}
    for cls, n in (("cat", 3), ("dog", 4), ("emu", 2)):
        for i in range(n):
            a = rng.integers(0, 256, (10, 12), dtype=np.uint8)
            _save(tmp_path / "gray" / cls / f"{i}.png", a)
            expect[(cls, i)] = a
    (tmp_path / "gray" / "dog" / "notes.txt").write_text("not an image")
    (tmp_path / "gray" / ".hidden").mkdir()
    ds = load_image_folder(tmp_path / "gray")
    assert isinstance(ds, ImageDataset)
    assert ds.classes == ["cat", "dog", "emu"] and ds.image_shape == (1, 10, 12)
    assert ds.class_counts() == [3, 4, 2] and ds.labels.tolist() == [0] * 3 + [1] * 4 + [2] * 2
    assert np.array_equal(ds.images[3, 0].numpy(), expect[("dog", 0)])
    ref = torch.from_numpy(np.stack(list(expect.values()))).double() / 255
    assert ds.mean[0] == pytest.approx(ref.mean().item(), abs=1e-6)
    assert ds.std[0] == pytest.approx(ref.std(unbiased=False).item(), abs=1e-6)
    rgb = load_image_folder(tmp_path / "gray", grayscale=False)
    assert rgb.image_shape == (3, 10, 12) and torch.equal(rgb.images[:, 0], rgb.images[:, 2])

    colour = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    _save(tmp_path / "rgb" / "a" / "0.png", colour)
    _save(tmp_path / "rgb" / "b" / "0.png", colour[:, :, 0])  # grayscale among colour: as RGB
    ds = load_image_folder(tmp_path / "rgb")
    assert ds.image_shape == (3, 8, 8)
    assert np.array_equal(ds.images[0].permute(1, 2, 0).numpy(), colour)
    assert torch.equal(ds.images[1, 1], ds.images[1, 0])
    gray = load_image_folder(tmp_path / "rgb", grayscale=True)
    want = np.asarray(Image.fromarray(colour).convert("L"))
    assert gray.image_shape == (1, 8, 8) and np.array_equal(gray.images[0, 0].numpy(), want)


def test_jpeg_folder_and_resize(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    for cls in ("x", "y"):
        for i, hw in enumerate([(20, 30), (31, 17)]):
            _save(
                tmp_path / cls / f"{i}.jpg", rng.integers(0, 256, (*hw, 3), dtype=np.uint8), "JPEG"
            )
    with pytest.raises(DataError, match=r"different sizes.*pass size"):
        load_image_folder(tmp_path)
    ds = load_image_folder(tmp_path, size=(16, 24))
    assert ds.image_shape == (3, 16, 24) and len(ds) == 4
    with Image.open(tmp_path / "x" / "1.jpg") as im:  # compare with Pillow's own decode + resize
        want = np.asarray(im.convert("RGB").resize((24, 16), Image.Resampling.BILINEAR))
    assert np.array_equal(ds.images[1].permute(1, 2, 0).numpy(), want)
    assert load_image_folder(tmp_path, size=8, grayscale=True).image_shape == (1, 8, 8)


def test_folder_errors(tmp_path: Path) -> None:
    _expect("image folder not found", load_image_folder, tmp_path / "none")
    (tmp_path / "flat").mkdir()
    _save(tmp_path / "flat" / "0.png", np.zeros((4, 4), np.uint8))
    _expect("no class folders", load_image_folder, tmp_path / "flat")
    _save(tmp_path / "ok" / "a" / "0.png", np.zeros((4, 4), np.uint8))
    (tmp_path / "ok" / "b").mkdir()
    (tmp_path / "ok" / "b" / "readme.txt").write_text("x")
    msg = _expect("empty class folder", load_image_folder, tmp_path / "ok")
    assert str(tmp_path / "ok" / "b") in msg
    (tmp_path / "ok" / "b" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    msg = _expect("cannot read image", load_image_folder, tmp_path / "ok")
    assert str(tmp_path / "ok" / "b" / "broken.png") in msg
    _expect("not among the 1 classes", load_image_folder, tmp_path / "ok", classes=["a"])


def test_image_folder_splits_share_the_training_labels(tmp_path: Path) -> None:
    for split, classes in (("train", "abc"), ("test", "ac")):  # test lacks class b
        for c in classes:
            _save(tmp_path / split / c / "0.png", np.full((4, 4), ord(c), np.uint8))
    train = load_dataset(tmp_path, split="train")
    test = load_dataset(str(tmp_path), split="test")
    assert train.classes == test.classes == ["a", "b", "c"]
    assert test.labels.tolist() == [0, 2] and test.images[1, 0, 0, 0] == ord("c")
    assert train.name == test.name == tmp_path.name and test.split == "test"
    with pytest.raises(DataError, match="no val/ sub-folder"):
        load_dataset(tmp_path, split="val")


def test_sixteen_bit_png_is_scaled_to_eight_bits(tmp_path: Path) -> None:
    deep = (np.arange(64).reshape(8, 8) * 1000).astype(np.uint16)
    _save(tmp_path / "a" / "0.png", deep)
    _save(tmp_path / "b" / "0.png", np.zeros((8, 8), np.uint8))
    ds = load_image_folder(tmp_path)
    assert ds.image_shape == (1, 8, 8)
    assert ds.images[0, 0].tolist() == (deep / 257).round().astype(np.uint8).tolist()
