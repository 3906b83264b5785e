"""`cnnzoo data list / check / download`: what they print, and a one-line error with a non-zero
exit status when anything is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from _data_util import all_files, http_server, isolate, tiny_idx, write
from cnnzoo.cli import main
from cnnzoo.data import CATALOGUE, get_entry

FMNIST_DIR = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture
def roots(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Path]:
    return isolate(monkeypatch, tmp_path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_data_list(roots, capsys, monkeypatch) -> None:
    spec, _ = tiny_idx(roots["cache"] / "tiny")
    monkeypatch.setitem(CATALOGUE, "tiny", spec)
    code, out, _ = run(capsys, "data", "list")
    assert code == 0
    block = out.split("\ntiny ")[1]
    assert "36 train, 12 test images of 1x28x28" in block
    assert f"found in {roots['cache'] / 'tiny'}" in block
    assert "4 classes: class0, class1, class2, class3" in block
    fm = out.split("fashion-mnist ")[1].split("\nmnist ")[0]
    assert "missing: get it with `cnnzoo data download fashion-mnist`" in fm
    assert "apt-get install dataset-fashion-mnist" in fm and "T-shirt/top" in fm
    # a command is never broken across lines (whatever the paths' lengths): copyable
    assert all(line.count("`") % 2 == 0 for line in out.splitlines())
    assert "100 classes: apple, aquarium_fish" in out
    code, out, _ = run(capsys, "data", "list", "--format", "json")
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["tiny"]["found"] == str(roots["cache"] / "tiny")
    assert rows["cifar10"]["found"] is None and rows["cifar10"]["splits"] == {
        "train": 50000,
        "test": 10000,
    }


def test_data_check(roots, capsys, monkeypatch, tmp_path) -> None:
    spec, arrays = tiny_idx(tmp_path / "mine" / "tiny")
    monkeypatch.setitem(CATALOGUE, "tiny", spec)
    code, out, err = run(capsys, "data", "check", "tiny", "--data-dir", str(tmp_path / "mine"))
    assert code == 0 and err == ""
    assert "train-images-idx3-ubyte.gz" in out and "(published file)" in out
    counts = np.bincount(arrays["train"][1], minlength=4)
    assert f"class0  {counts[0]:>8,}" in out
    assert "total         36        12" in out and "ok: 48 images read and verified" in out

    bad = tmp_path / "mine" / "tiny" / "t10k-images-idx3-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:-40])
    code, out, err = run(capsys, "data", "check", "tiny", "--data-dir", str(tmp_path / "mine"))
    assert code == 2
    assert err.startswith("cnnzoo: error: ") and str(bad) in err and "truncated gzip" in err
    assert len(err.strip().splitlines()) == 1


def test_data_check_missing_and_unknown(roots, capsys) -> None:
    code, _, err = run(capsys, "data", "check", "mnist")
    assert code == 2 and "MNIST (mnist) is not on this machine" in err
    assert f"{roots['cache'] / 'mnist'}/" in err and "train-images-idx3-ubyte.gz" in err
    code, _, err = run(capsys, "data", "check", "fashion-mnist")
    assert code == 2 and "apt-get install dataset-fashion-mnist" in err
    code, _, err = run(capsys, "data", "check", "imagenet")
    assert code == 2 and "unknown data set 'imagenet'" in err


def test_data_check_an_image_folder(roots, capsys, tmp_path) -> None:
    for split, n in (("train", 3), ("test", 1)):
        for cls in ("ant", "bee"):
            for i in range(n):
                p = tmp_path / "bugs" / split / cls / f"{i}.png"
                p.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(np.full((5, 5), i * 40, np.uint8)).save(p)
    code, out, _ = run(capsys, "data", "check", str(tmp_path / "bugs"))
    words = " ".join(out.split())
    assert code == 0 and "ant 3 1 bee 3 1 total 6 2" in words and "ok: 8 images" in out
    assert out.startswith(f"Image folder (bugs) in {tmp_path / 'bugs'}")
    write(tmp_path / "bugs" / "test" / "bee" / "9.png", b"garbage")
    code, _, err = run(capsys, "data", "check", str(tmp_path / "bugs"))
    assert code == 2 and "9.png: cannot read image" in err


def test_data_download(roots, capsys, monkeypatch, tmp_path) -> None:
    served = tmp_path / "served"
    with http_server(served) as url:
        spec, _ = tiny_idx(served, mirrors=(url,))
        monkeypatch.setitem(CATALOGUE, "tiny", spec)
        code, out, _ = run(capsys, "data", "download", "tiny", "--data-dir", str(tmp_path / "d"))
        assert code == 0 and f"downloaded to {tmp_path / 'd' / 'tiny'}" in out
        assert len(all_files(tmp_path / "d" / "tiny")) == 4
        code, out, _ = run(capsys, "data", "download", "tiny", "--data-dir", str(tmp_path / "d"))
        assert code == 0 and "already in" in out
        (served / "t10k-labels-idx1-ubyte.gz").write_bytes(b"changed")
        code, _, err = run(capsys, "data", "download", "tiny", "--data-dir", str(tmp_path / "e"))
        assert code == 2 and "checksum mismatch" in err
        assert all_files(tmp_path / "e") == sorted(
            f"tiny/{n}" for n in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                  "t10k-images-idx3-ubyte.gz")
        )  # fmt: skip


@pytest.mark.skipif(
    not all((FMNIST_DIR / f.name).is_file() for f in get_entry("fashion-mnist").downloads),
    reason=f"Fashion-MNIST is not in {FMNIST_DIR} (apt-get install dataset-fashion-mnist)",
)
def test_data_check_real_fashion_mnist(capsys) -> None:
    code, out, _ = run(
        capsys, "data", "check", "fashion-mnist", "--data-dir", str(FMNIST_DIR.parent)
    )
    assert code == 0 and "ok: 70,000 images read and verified" in out
    assert "Ankle boot      6,000     1,000" in out
