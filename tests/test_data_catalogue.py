"""The data-set catalogue: lookup order, checksum verification, reading through catalogue entries
(IDX and CIFAR, archive and extracted), downloads from a local HTTP server (success, fallback to
a second mirror, checksum mismatch, no network: nothing half-written left behind), the
"missing" error, and the real Fashion-MNIST when it is installed."""

from __future__ import annotations

import gzip
import io
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from _data_util import (
    all_files,
    closed_port_url,
    http_server,
    idx_bytes,
    isolate,
    tar_gz,
    tiny_cifar,
    tiny_idx,
    write,
)
from cnnzoo.data import (
    CATALOGUE,
    DataError,
    check_dataset,
    download_dataset,
    get_entry,
    load_dataset,
    locate,
    train_val_split,
)
from cnnzoo.data.lookup import missing_message

FMNIST_DIR = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture
def roots(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Path]:
    return isolate(monkeypatch, tmp_path)


def _same(ds, arrays) -> None:
    x, y = arrays
    assert torch.equal(ds.images.reshape(len(x), -1), torch.from_numpy(x.reshape(len(x), -1)))
    assert ds.labels.tolist() == y.tolist()


# ---------------------------------------------------------------------------------- catalogue


def test_catalogue_entries_are_complete() -> None:
    assert list(CATALOGUE) == ["fashion-mnist", "mnist", "kmnist", "cifar10", "cifar100"]
    for spec in CATALOGUE.values():
        c = spec.image_shape[0]
        assert len(spec.mean) == len(spec.std) == c
        assert len(spec.classes) == len(set(spec.classes)) in (10, 100)
        assert spec.mirrors and all(m.endswith("/") for m in spec.mirrors)
        assert all(len(f.md5) == 32 for f in spec.downloads)
    fm = get_entry("Fashion_MNIST")
    assert fm.name == "fashion-mnist" and fm.apt_package == "dataset-fashion-mnist"
    assert fm.files["train"][0].md5 == "8d4fb7e6c68d591d4c3dfef9ec88bf0d"
    assert get_entry("cifar-100").classes[:2] == ("apple", "aquarium_fish")
    with pytest.raises(DataError, match=r"unknown data set 'mnst'.*Did you mean mnist"):
        get_entry("mnst")
    # the former names still work
    import cnnzoo.data as data

    assert data.get_spec is get_entry and data.DatasetSpec is data.DatasetEntry
    assert (data.IdxSpec, data.CifarSpec, data.FileSpec) == (
        data.IdxEntry,
        data.CifarEntry,
        data.PublishedFile,
    )


def test_lookup_order(
    roots: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env, arg = tmp_path / "env", tmp_path / "arg"
    for folder in (roots["system"] / "tiny", roots["cache"] / "tiny", env / "tiny", arg / "tiny"):
        spec, _ = tiny_idx(folder)
    assert locate(spec).folder == roots["cache"] / "tiny"
    monkeypatch.setenv("CNNZOO_DATA", f"{tmp_path / 'nothing'}{os.pathsep}{env}")
    assert locate(spec).folder == env / "tiny"
    assert locate(spec, data_dir=arg).folder == arg / "tiny"
    assert locate(spec, data_dir=arg / "tiny").folder == arg / "tiny"  # the data set's own folder
    monkeypatch.delenv("CNNZOO_DATA")
    for folder in (roots["cache"] / "tiny", env / "tiny", arg / "tiny"):
        for f in folder.iterdir():
            f.unlink()
    assert locate(spec, data_dir=arg).folder == roots["system"] / "tiny"
    assert locate(spec, split="test").root == "system"


def test_a_catalogue_name_wins_over_a_folder_of_that_name(
    roots: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mnist").mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match=r"MNIST \(mnist\) is not on this machine"):
        load_dataset("mnist", download=False)


def test_load_through_a_catalogue_entry(roots: dict[str, Path]) -> None:
    spec, arrays = tiny_idx(roots["cache"] / "tiny")
    train = load_dataset(spec, "train", download=False)
    test = load_dataset(spec, split="test", download=False)
    _same(train, arrays["train"])
    _same(test, arrays["test"])
    assert train.classes == list(spec.classes) and train.mean == (0.5,) and test.split == "test"
    with pytest.raises(DataError, match=r"no split 'val'.*train_val_split"):
        load_dataset(spec, "val")
    tr, va = train_val_split(train, val_size=6, seed=0)
    assert (len(tr), len(va)) == (30, 6)
    with pytest.raises(DataError, match="not the test split"):
        train_val_split(test, val_size=2)


def test_recompressed_and_uncompressed_copies_are_recognised(roots: dict[str, Path]) -> None:
    """Debian's dataset-fashion-mnist holds the same data in differently compressed files: the
    content checksum recognises them, and raw (gunzipped) files as well."""
    spec, arrays = tiny_idx(roots["cache"] / "tiny")
    folder = roots["cache"] / "tiny"
    x = folder / "train-images-idx3-ubyte.gz"
    content = gzip.decompress(x.read_bytes())
    x.write_bytes(gzip.compress(content, compresslevel=1, mtime=12345))
    y = folder / "train-labels-idx1-ubyte.gz"
    y.with_suffix("").write_bytes(gzip.decompress(y.read_bytes()))
    y.unlink()
    _same(load_dataset(spec, "train", download=False), arrays["train"])
    statuses = [c.status for c in check_dataset(spec).files]
    assert statuses[0].startswith("content md5") and statuses[1].startswith("content md5")
    assert statuses[2].startswith("md5") and "published file" in statuses[2]


def test_checksum_mismatch_names_the_file(roots: dict[str, Path]) -> None:
    spec, _ = tiny_idx(roots["cache"] / "tiny")
    path = roots["cache"] / "tiny" / "t10k-labels-idx1-ubyte.gz"
    y = np.frombuffer(gzip.decompress(path.read_bytes()), np.uint8, offset=8).copy()
    y[0] = (y[0] + 1) % 4  # a valid file, but not the published one
    write(path, idx_bytes(y), gz=True)
    with pytest.raises(DataError, match="checksum mismatch") as e:
        load_dataset(spec, "test", download=False)
    assert str(path) in str(e.value)
    load_dataset(spec, "test", download=False, verify=False)  # the escape hatch
    with pytest.raises(DataError, match="checksum mismatch"):
        check_dataset(spec)


def test_check_reports_counts_per_split_and_class(roots: dict[str, Path]) -> None:
    spec, arrays = tiny_idx(roots["cache"] / "tiny")
    report = check_dataset(spec)
    assert report.totals == {"train": 36, "test": 12}
    assert report.counts["train"] == np.bincount(arrays["train"][1], minlength=4).tolist()
    bad = type(spec)(**{**spec.__dict__, "split_sizes": {"train": 37, "test": 12}})
    with pytest.raises(DataError, match="train split has 36 images, Tiny has 37"):
        check_dataset(bad)


# -------------------------------------------------------------------------------------- CIFAR


@pytest.mark.parametrize("hundred", [False, True], ids=["cifar10", "cifar100"])
def test_cifar_from_the_archive(roots: dict[str, Path], hundred: bool) -> None:
    spec, arrays = tiny_cifar(roots["cache"] / "c", hundred=hundred)
    spec = type(spec)(**{**spec.__dict__, "folders": ("c",)})
    for split in ("train", "test"):
        ds = load_dataset(spec, split, download=False)
        assert ds.image_shape == (3, 32, 32) and ds.num_classes == (100 if hundred else 10)
        _same(ds, arrays[split])
    assert check_dataset(spec).totals == {"train": 20, "test": 8}
    assert all_files(roots["cache"] / "c") == [spec.archive.name]  # nothing was extracted


def test_cifar_extracted_and_repacked(roots: dict[str, Path]) -> None:
    spec, arrays = tiny_cifar(roots["cache"] / "tiny10", extracted=True)
    _same(load_dataset(spec, "train", download=False), arrays["train"])
    assert [c.path.name for c in check_dataset(spec).files][-1] == "test_batch.bin"
    # A tar.gz with the right members but other bytes (repacked) is accepted member by member.
    folder = roots["cache"] / "tiny10"
    members = {
        f"cifar-10-batches-bin/{p.name}": p.read_bytes()
        for p in (folder / "cifar-10-batches-bin").iterdir()
    }
    tar_gz(folder / spec.archive.name, members)
    assert "repacked" in check_dataset(spec).files[0].status
    _same(load_dataset(spec, "test", download=False), arrays["test"])
    # ...but not when a member differs.
    members["cifar-10-batches-bin/test_batch.bin"] = bytes(3073 * 8)
    tar_gz(folder / spec.archive.name, members)
    with pytest.raises(DataError, match=r"test_batch.bin: checksum mismatch"):
        load_dataset(spec, "test", download=False)


def test_truncated_archive_is_a_clear_error(roots: dict[str, Path]) -> None:
    spec, _ = tiny_cifar(roots["cache"] / "tiny10")
    path = roots["cache"] / "tiny10" / spec.archive.name
    path.write_bytes(path.read_bytes()[:3000])
    with pytest.raises(DataError, match=r"truncated|corrupt") as e:
        load_dataset(spec, "train", download=False)
    assert str(path) in str(e.value)


# ---------------------------------------------------------------------------------- downloads


def test_download_from_a_local_server(roots: dict[str, Path], tmp_path: Path) -> None:
    served = tmp_path / "served"
    with http_server(served) as url:
        spec, arrays = tiny_idx(served / "good", mirrors=(url + "absent/", url + "good/"))
        log = io.StringIO()
        ds = load_dataset(spec, "train", progress=log)  # first mirror: 404, second: ok
        _same(ds, arrays["train"])
        target = roots["cache"] / "tiny"
        assert ds.source == str(target)
        assert all_files(target) == sorted(f.name for f in spec.downloads)
        assert "downloading train-images-idx3-ubyte.gz" in log.getvalue()
        # --data-dir wins over the cache, and a second call does not download again.
        dest = download_dataset(spec, tmp_path / "mine", progress=False)
        assert dest == tmp_path / "mine" / "tiny" and len(all_files(dest)) == 4
        (served / "good" / "t10k-images-idx3-ubyte.gz").unlink()
        assert download_dataset(spec, tmp_path / "mine", progress=False) == dest


def test_checksum_mismatch_leaves_nothing_behind(roots: dict[str, Path], tmp_path: Path) -> None:
    served = tmp_path / "served"
    with http_server(served) as url:
        spec, _ = tiny_idx(served, mirrors=(url,))
        write(served / "train-labels-idx1-ubyte.gz", b"tampered")
        with pytest.raises(DataError) as e:
            load_dataset(spec, "train", data_dir=tmp_path / "dl", progress=False)
    msg = str(e.value)
    assert "checksum mismatch" in msg and "train-labels-idx1-ubyte.gz" in msg
    assert "Put these files" in msg and str(tmp_path / "dl" / "tiny") in msg
    # train-images arrived intact before the failure; nothing else (no .part file) is there.
    assert all_files(tmp_path / "dl") == ["tiny/train-images-idx3-ubyte.gz"]


def test_no_network_gives_the_instructions(roots: dict[str, Path], tmp_path: Path) -> None:
    spec, _ = tiny_idx(tmp_path / "nowhere", mirrors=(closed_port_url(),))
    with pytest.raises(DataError) as e:
        load_dataset(spec, "train", progress=False)
    msg = str(e.value)
    assert "downloading failed" in msg and "Connection refused" in msg
    for line in spec.what_to_put():
        assert line in msg
    assert f"{roots['cache'] / 'tiny'}/" in msg and f"{roots['system'] / 'tiny'}/" in msg
    assert not (roots["cache"] / "tiny").exists()  # the folder made for the download is gone
    with pytest.raises(DataError, match=r"is not on this machine\.\nPut"):  # no download tried
        load_dataset(spec, "train", download=False)


def test_missing_fashion_mnist_points_to_the_debian_package(roots: dict[str, Path]) -> None:
    msg = missing_message(get_entry("fashion-mnist"), data_dir="/some/dir")
    assert "apt-get install dataset-fashion-mnist" in msg
    for name in ("train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        assert name in msg
    assert "/some/dir/fashion-mnist/  (--data-dir)" in msg
    assert f"{roots['system']}/fashion-mnist/  (system-wide)" in msg
    assert "apt-get" not in missing_message(get_entry("mnist"))


# ------------------------------------------------------------------------ real Fashion-MNIST


@pytest.mark.skipif(
    not all((FMNIST_DIR / f.name).is_file() for f in get_entry("fashion-mnist").downloads),
    reason=f"Fashion-MNIST is not in {FMNIST_DIR} (apt-get install dataset-fashion-mnist)",
)
def test_real_fashion_mnist() -> None:
    train = load_dataset("fashion-mnist", "train", data_dir=FMNIST_DIR.parent, download=False)
    test = load_dataset("fashion-mnist", "test", data_dir=FMNIST_DIR.parent, download=False)
    assert train.images.shape == (60_000, 1, 28, 28) and test.images.shape == (10_000, 1, 28, 28)
    assert train.num_classes == 10 and train.classes[0] == "T-shirt/top"
    assert train.class_counts() == [6_000] * 10 and test.class_counts() == [1_000] * 10
    x = train.images.double() / 255
    assert x.mean().item() == pytest.approx(train.mean[0], abs=1e-4)
    assert x.std().item() == pytest.approx(train.std[0], abs=1e-4)


def test_a_truncated_cifar_batch_is_reported_as_truncated(roots: dict[str, Path]) -> None:
    spec, _ = tiny_cifar(roots["cache"] / "tiny10", extracted=True)
    path = roots["cache"] / "tiny10" / "cifar-10-batches-bin" / "data_batch_2.bin"
    path.write_bytes(path.read_bytes()[:-1000])
    with pytest.raises(DataError, match="truncated or corrupt CIFAR file") as e:
        load_dataset(spec, "train", download=False)
    assert str(e.value).startswith(str(path))


def test_a_split_is_decoded_once_per_process_and_copies_are_independent(
    roots: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from cnnzoo.data.entries import _decoded_idx_split

    spec, arrays = tiny_idx(roots["cache"] / "tiny")
    decoded: list[str] = []
    real = type(spec)._read

    def counting(self, xpath, *args):
        decoded.append(xpath.name)
        return real(self, xpath, *args)

    monkeypatch.setattr(type(spec), "_read", counting)
    _decoded_idx_split.cache_clear()
    assert _decoded_idx_split.cache_info().maxsize == 4  # bounded: a few splits, not every one
    a = load_dataset(spec, "train", download=False)
    b = load_dataset(spec, "train", download=False)
    assert decoded == ["train-images-idx3-ubyte.gz"], "the second load comes from memory"
    _same(b, arrays["train"])
    a.images[0].fill_(7)  # one caller's change is not another's
    _same(load_dataset(spec, "train", download=False), arrays["train"])
    # a file changed on disk is read again (and checked again)
    path = roots["cache"] / "tiny" / "train-labels-idx1-ubyte.gz"
    y = arrays["train"][1].copy()
    y[0] = (y[0] + 1) % 4
    before = path.stat().st_mtime_ns
    write(path, idx_bytes(y), gz=True)
    os.utime(path, ns=(before + 10**9, before + 10**9))  # a later time, whatever the clock's grain
    with pytest.raises(DataError, match="checksum mismatch"):
        load_dataset(spec, "train", download=False)
    assert len(decoded) == 2
