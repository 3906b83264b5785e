"""Export to ONNX and TorchScript: onnx.checker passes, onnxruntime's (and the reloaded
TorchScript module's) outputs equal PyTorch's on random and real images, the metadata reads back,
and ``cnnzoo predict FILE.onnx`` agrees with predicting from the run directory.

Each family's representative is exported here (small classifiers, the family's smaller members);
the slow suite exports every registered model at its default input."""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import cnnzoo
import cnnzoo.train.inference
from _util import max_rel_err, randomize_norm_stats
from cnnzoo.cli import main
from cnnzoo.errors import CheckpointError, ConfigError, MissingError, SetupError
from cnnzoo.export import DEFAULT_OPSET, export_model, predict_onnx, read_export_metadata
from cnnzoo.models.base import fc_classifier
from cnnzoo.models.resnext import resnext
from cnnzoo.train import TrainConfig, load_trained_model, predict_images, train
from cnnzoo.train.inference import load_images
from test_train import CLASSES, make_folder

onnx = pytest.importorskip("onnx", reason="onnx is not installed: pip install 'cnnzoo[export]'")
ort = pytest.importorskip(
    "onnxruntime", reason="onnxruntime is not installed: pip install 'cnnzoo[export]'"
)

TOL = 1e-4


def _ort(path: Path, x: torch.Tensor) -> torch.Tensor:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (name,) = [i.name for i in session.get_inputs()]
    return torch.from_numpy(session.run(None, {name: x.numpy()})[0])


def _smooth_images(n: int, c: int, h: int, w: int) -> torch.Tensor:
    """Image-like input (smooth gradients and edges, normalised), beside Gaussian noise."""
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    imgs = [
        torch.stack([torch.sin(3 * (k + 1) * xx + ch) * (yy > 0.3 + 0.1 * k) for ch in range(c)])
        for k in range(n)
    ]
    return (torch.stack(imgs) - 0.2) / 0.5


def _slim_alexnet(num_classes: int) -> nn.Module:
    """The paper's AlexNet (local response normalisation, grouped convolutions, adaptive
    pooling to 6x6) with its classifier's hidden layers narrowed from 4096 to 64 units: the
    same layer types, a 250 MB file less (the slow test exports the full one)."""
    model = cnnzoo.create_model("alexnet_paper", num_classes=num_classes)
    model.classifier = nn.Sequential(*fc_classifier(model.num_features, 64, num_classes, 0.5))
    return model


# one representative per family at its default input size, small classifiers: the family's
# smallest member, or where that is large (hundreds of MB), a narrow one of the same layers
FAMILIES = {
    "lenet": lambda k: cnnzoo.create_model("lenet5_bn", num_classes=k),
    "alexnet": _slim_alexnet,
    # adaptive pooling to 7x7 of a 7x7 map (exported as nothing)
    "vgg": lambda k: cnnzoo.create_model(
        "vgg", blocks=[(1, 16), (1, 32), (2, 32), (2, 32), (2, 32)], hidden=64, num_classes=k
    ),
    "nin": lambda k: cnnzoo.create_model("nin", num_classes=k),
    "googlenet": lambda k: cnnzoo.create_model("googlenet_d2l", num_classes=k),
    "resnet-cifar": lambda k: cnnzoo.create_model("resnet20", num_classes=k),
    "resnet-imagenet": lambda k: cnnzoo.create_model("resnet18", num_classes=k),
    "resnext": lambda k: resnext(
        layers=(1, 1, 1, 1), groups=8, num_classes=k
    ),  # grouped bottlenecks
    "densenet": lambda k: cnnzoo.create_model("densenet_d2l", num_classes=k),
    "anynet-regnet": lambda k: cnnzoo.create_model("regnety_200mf", num_classes=k),  # with SE
    "speednet": lambda k: cnnzoo.create_model("speednet", num_classes=k),  # global max pooling
}
INPUT = {"alexnet": (3, 224, 224), "vgg": (3, 224, 224), "resnext": (3, 224, 224)}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_each_family_exports_to_onnx_and_matches_pytorch(family: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = randomize_norm_stats(FAMILIES[family](7)).eval()
    size = INPUT.get(family) or cnnzoo.model_info(model.model_name).input_size
    out = tmp_path / "m.onnx"
    res = export_model(model, "onnx", out, input_size=size, dynamic_batch=True)
    onnx.checker.check_model(onnx.load(str(out)), full_check=True)
    assert res.metadata["input_size"] == list(size)
    x = torch.cat([torch.randn(1, *size), _smooth_images(1, *size)])  # noise, and image-like
    with torch.no_grad():
        expected = model(x)
    actual = _ort(out, x)
    assert actual.shape == (2, 7)
    for i in range(2):
        assert max_rel_err(actual[i], expected[i]) < TOL, family
    assert res.rel_diff < TOL


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny trained run: LeNet-5 with batch norm on the quadrant images, 12 steps."""
    data = make_folder(tmp_path_factory.mktemp("quadrants"), {"train": 48, "test": 4})
    out = tmp_path_factory.mktemp("runs") / "lenet"
    cfg = TrainConfig(
        model="lenet5_bn", data=str(data), epochs=1, max_steps=12, batch_size=16, lr=0.05,
        precision="fp32", seed=0,
    )  # fmt: skip
    train(cfg, out, quiet=True)
    return out


@pytest.fixture(scope="module")
def images(run: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Real test images of the run's data, and two photos of another size and mode."""
    data = Path(load_trained_model(run)[1]["data"])
    files = sorted((data / "test").rglob("*.png"))[:6]
    extra = tmp_path_factory.mktemp("photos")
    g = np.random.default_rng(0)
    Image.fromarray(g.integers(0, 256, (30, 40, 3), dtype=np.uint8)).save(extra / "a.png")
    Image.fromarray(g.integers(0, 256, (50, 20, 3), dtype=np.uint8)).save(extra / "b.jpg")
    return [*files, extra / "a.png", extra / "b.jpg"]


def test_a_trained_run_exports_with_its_metadata_and_predicts_alike(
    run: Path, images: list[Path], tmp_path: Path
) -> None:
    model, meta = load_trained_model(run)
    before = {p: p.stat().st_mtime_ns for p in run.rglob("*")}
    res = export_model(run, "onnx", dynamic_batch=True)
    assert res.path == run / "model.onnx"
    after = {p: p.stat().st_mtime_ns for p in run.rglob("*") if p != res.path}
    assert after == before  # the run's own files are untouched
    # metadata, read back through onnx (not the reader under test) and through the reader
    props = {p.key: json.loads(p.value) for p in onnx.load(str(res.path)).metadata_props}
    for key in ("model", "classes", "mean", "std", "input_size"):
        assert props[f"cnnzoo.{key}"] == meta[key], key
    assert props["cnnzoo.model"] == "lenet5_bn" and props["cnnzoo.classes"] == sorted(CLASSES)
    assert read_export_metadata(res.path) == res.metadata
    # the run's own PyTorch model on real images, preprocessed as predict does
    x = load_images(images, meta["input_size"], meta["mean"], meta["std"])
    with torch.no_grad():
        expected = model(x)
    assert max_rel_err(_ort(res.path, x), expected) < TOL
    # predict from the file = predict from the run; the file's path builds no PyTorch model
    from_run = predict_images(run, images, top_k=4)
    with pytest.MonkeyPatch.context() as mp:
        for where in (cnnzoo.train.inference, cnnzoo.models):
            mp.setattr(where, "create_model", _no_model)
        mp.setattr(cnnzoo.train.inference, "load_trained_model", _no_model)
        from_onnx = predict_onnx(res.path, images, top_k=4)
    assert [p["image"] for p in from_onnx] == [p["image"] for p in from_run]
    for a, b in zip(from_onnx, from_run, strict=True):
        assert [q["class"] for q in a["predictions"]] == [q["class"] for q in b["predictions"]]
        np.testing.assert_allclose(
            [q["prob"] for q in a["predictions"]], [q["prob"] for q in b["predictions"]], atol=TOL
        )
    # an export is not overwritten silently, nor put where training prunes
    with pytest.raises(ConfigError, match="exists"):
        export_model(run, "onnx")
    with pytest.raises(ConfigError, match="checkpoints"):
        export_model(run, "onnx", run / "checkpoints" / "model.onnx")


def _no_model(*args, **kwargs):
    raise AssertionError("predicting from an ONNX file built a PyTorch model")


def test_the_cli_exports_and_predicts_from_the_onnx_file(
    run: Path, images: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "lenet.onnx"
    assert main(["export", str(run), "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert f"wrote {out}" in said and f"opset {DEFAULT_OPSET}" in said and "4 classes" in said
    assert main(["export", str(run), "--out", str(out)]) == 2  # exists
    assert "--force" in capsys.readouterr().err
    assert main(["export", str(run), "--out", str(out), "--force", "--opset", "13"]) == 0
    assert read_export_metadata(out)["opset"] == 13
    assert onnx.load(str(out)).opset_import[0].version == 13
    capsys.readouterr()
    files = [str(p) for p in images]
    assert main(["predict", str(out), *files, "--format", "json", "--top-k", "2"]) == 0
    from_onnx = json.loads(capsys.readouterr().out)
    assert main(["predict", str(run), *files, "--format", "json", "--top-k", "2"]) == 0
    from_run = json.loads(capsys.readouterr().out)
    for a, b in zip(from_onnx, from_run, strict=True):  # batch 1: the images one at a time
        assert [q["class"] for q in a["predictions"]] == [q["class"] for q in b["predictions"]]
        for p, q in zip(a["predictions"], b["predictions"], strict=True):
            assert p["prob"] == pytest.approx(q["prob"], abs=TOL)


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")
def test_torchscript_reloads_equal_with_its_metadata(
    run: Path, images: list[Path], tmp_path: Path
) -> None:
    model, meta = load_trained_model(run)
    res = export_model(run, "torchscript", tmp_path / "lenet.pt", dynamic_batch=True)
    extra = {"cnnzoo.json": ""}
    loaded = torch.jit.load(str(res.path), _extra_files=extra)
    stored = json.loads(extra["cnnzoo.json"])
    assert stored == read_export_metadata(res.path)
    assert stored["classes"] == meta["classes"] and stored["mean"] == meta["mean"]
    assert stored["input_size"] == meta["input_size"] and stored["format"] == "torchscript"
    x = load_images(images, meta["input_size"], meta["mean"], meta["std"])  # batch 8
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=TOL, atol=TOL)
    assert zipfile.is_zipfile(res.path)


def test_dynamic_batch_runs_any_batch_and_a_fixed_one_only_its_own(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = cnnzoo.create_model("resnet20", num_classes=5).eval()
    dyn = export_model(model, "onnx", tmp_path / "dyn.onnx", dynamic_batch=True).path
    fixed = export_model(model, "onnx", tmp_path / "fixed.onnx").path
    for n in (1, 5):
        x = torch.randn(n, 3, 32, 32)
        with torch.no_grad():
            assert max_rel_err(_ort(dyn, x), model(x)) < TOL
    _ort(fixed, torch.randn(1, 3, 32, 32))
    with pytest.raises(Exception, match=r"(?i)dimension|shape"):
        _ort(fixed, torch.randn(5, 3, 32, 32))


def test_a_model_name_exports_its_initial_weights_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    res = export_model("lenet5", "onnx", num_classes=3)
    assert res.path == Path("lenet5.onnx")
    meta = read_export_metadata(res.path)
    assert meta["classes"] == ["0", "1", "2"] and meta["input_size"] == [1, 28, 28]
    assert meta["mean"] is None and meta["std"] is None and "none" in meta["normalization"]
    assert meta["weights"].startswith("initial")
    assert res.rel_diff < TOL
    # predicting from it: pixels scaled to [0, 1], not normalised
    Image.new("L", (28, 28), 200).save("grey.png")
    x = torch.full((1, 1, 28, 28), 200 / 255)
    (p,) = predict_onnx(res.path, ["grey.png"], top_k=3)
    expected = torch.softmax(_ort(res.path, x), 1)[0]
    assert [q["prob"] for q in p["predictions"]] == pytest.approx(
        sorted(expected.tolist(), reverse=True), abs=1e-6
    )


def test_bad_input_is_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(cnnzoo.UnknownModelError, match=r"neither a run directory.*resnet"):
        export_model("resnet7")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="no checkpoint found"):
        export_model(tmp_path / "empty")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(MissingError, match="not a run"):
        export_model(tmp_path / "file.txt")
    with pytest.raises(ConfigError, match="format"):
        export_model("lenet5", "tflite")
    with pytest.raises(ConfigError, match="opset 99"):
        export_model("lenet5", opset=99)
    with pytest.raises(MissingError, match="not an ONNX"):
        read_export_metadata(tmp_path / "file.txt")
    assert main(["export", "nonet"]) == 2
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if not installed
    with pytest.raises(SetupError, match=r"pip install 'cnnzoo\[export\]'"):
        export_model("lenet5")
    assert not list(tmp_path.glob("*.onnx"))


@pytest.mark.slow
@pytest.mark.parametrize("name", cnnzoo.list_models())
def test_every_model_exports_at_its_default_input(name: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = randomize_norm_stats(cnnzoo.create_model(name)).eval()
    out = tmp_path / "m.onnx"
    export_model(model, "onnx", out)
    onnx.checker.check_model(str(out), full_check=True)
    x = _smooth_images(1, *cnnzoo.model_info(name).input_size)
    with torch.no_grad():
        expected = model(x)
    assert max_rel_err(_ort(out, x), expected) < TOL
