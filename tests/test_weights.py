"""Weights from elsewhere (cnnzoo.models.weights): torchvision's files load and give
torchvision's outputs; containers and prefixes are unwrapped; files are read without running
code; what does not fit is named with what to do; ``--init-from`` starts a run from a file or
another run, with a new classifier for other classes."""

from __future__ import annotations

import os
import re
from argparse import Namespace
from pathlib import Path

import pytest
import torch
import torchvision
from safetensors.torch import save_file

import cnnzoo
from _util import max_rel_err, randomize_norm_stats
from cnnzoo.cli import build_parser
from cnnzoo.errors import CheckpointError, ConfigError, MissingError
from cnnzoo.models import load_weights
from cnnzoo.train.config import TrainConfig
from cnnzoo.train.run_model import build_model

# torchvision name -> input size for the comparison; 7 classes, so that the model must take
# its number of classes from the file
TORCHVISION = {"resnet18": 32, "densenet121": 32, "regnet_y_400mf": 32, "googlenet": 64}
TORCHVISION_SLOW = {"alexnet": 64, "vgg11_bn": 32, "resnext50_32x4d": 32, "regnet_x_400mf": 32}


def _save(state: dict, path: Path) -> Path:
    if path.suffix == ".safetensors":
        save_file({k: v.contiguous() for k, v in state.items()}, path)
    else:
        torch.save(state, path)
    return path


def _torchvision(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    extra = {"init_weights": False} if name == "googlenet" else {}
    return randomize_norm_stats(getattr(torchvision.models, name)(num_classes=7, **extra)).eval()


def _same_outputs(ours: torch.nn.Module, theirs: torch.nn.Module, size: int) -> None:
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = theirs.eval()(x)
        assert expected.abs().max() > 0
        assert max_rel_err(ours.eval()(x), expected) < 1e-6


@pytest.mark.parametrize(
    ("name", "suffix"),
    [
        ("resnet18", ".pth"),
        ("resnet18", ".safetensors"),
        ("densenet121", ".safetensors"),
        ("regnet_y_400mf", ".pth"),
        ("googlenet", ".safetensors"),
        *(pytest.param(n, ".pth", marks=pytest.mark.slow) for n in TORCHVISION_SLOW),
    ],
)
def test_torchvision_files_give_torchvisions_outputs(tmp_path: Path, name: str, suffix: str):
    theirs = _torchvision(name)
    path = _save(theirs.state_dict(), tmp_path / f"{name}{suffix}")
    ours = cnnzoo.create_model(name, weights=path)
    assert ours.num_classes == 7  # the file's, as no num_classes was given
    _same_outputs(ours, theirs, {**TORCHVISION, **TORCHVISION_SLOW}[name])


def test_older_torchvision_densenet_files_load(tmp_path: Path) -> None:
    # torchvision's hosted DenseNet weights name the layers' parts "norm.1", "conv.2", ...
    theirs = _torchvision("densenet121")
    old = {
        re.sub(r"(denselayer\d+\.(?:norm|conv))([12])\.", r"\1.\2.", k): v
        for k, v in theirs.state_dict().items()
    }
    assert "features.denseblock1.denselayer1.norm.1.weight" in old
    ours = cnnzoo.create_model("densenet121", weights=_save(old, tmp_path / "densenet121.pth"))
    _same_outputs(ours, theirs, 32)


@pytest.mark.parametrize(
    "wrap",
    [
        lambda s: {"state_dict": {f"module.{k}": v for k, v in s.items()}, "epoch": 3},  # DDP
        lambda s: {"model_state": s, "optimizer_state": {}, "cfg": "..."},  # pycls
        lambda s: {"model": {f"_orig_mod.{k}": v for k, v in s.items()}},  # torch.compile
        lambda s: {"state_dict": {f"model.{k}": v for k, v in s.items()}},  # Lightning
        lambda s: {"state_dict": s, "state_dict_ema": {}, "args": Namespace(lr=0.1)},  # timm
    ],
)
def test_containers_and_prefixes_are_unwrapped(tmp_path: Path, wrap) -> None:
    torch.manual_seed(0)
    source = randomize_norm_stats(cnnzoo.create_model("resnet20", num_classes=5))
    path = tmp_path / "w.pth"
    torch.save(wrap(source.state_dict()), path)
    ours = cnnzoo.create_model("resnet20", weights=path)
    for (k, a), b in zip(ours.state_dict().items(), source.state_dict().values(), strict=True):
        assert torch.equal(a, b), k


# --------------------------------------------------------------------------- what does not fit


@pytest.fixture(scope="module")
def resnet18_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=1000)
    return _save(model.state_dict(), tmp_path_factory.mktemp("w") / "resnet18.safetensors")


def test_a_file_for_another_network_names_the_keys(resnet18_file: Path) -> None:
    with pytest.raises(CheckpointError) as e:
        cnnzoo.create_model("resnet34", weights=resnet18_file)
    msg = str(e.value)
    assert "do not fit resnet34" in msg and "missing from the file (80)" in msg
    assert "layer1.2.conv1.weight" in msg and "and 74 more" in msg and "another network" in msg
    with pytest.raises(CheckpointError) as e:
        cnnzoo.create_model("densenet121", weights=resnet18_file)
    assert "in the file but not in the model (122): bn1." in str(e.value)  # safetensors sorts


def test_another_number_of_classes(resnet18_file: Path) -> None:
    with pytest.raises(CheckpointError) as e:
        cnnzoo.create_model("resnet18", num_classes=10, weights=resnet18_file)
    msg = str(e.value)
    assert "fc.weight [1000, 512] in the file, [10, 512] in the model" in msg
    assert "classifier has 1000 outputs, the model's 10" in msg
    assert "num_classes=1000" in msg and "--init-from" in msg
    # fine-tuning: everything but the classifier, and a new one for 10 classes
    torch.manual_seed(1)
    model = cnnzoo.create_model("resnet18", num_classes=10)
    fresh_fc = model.fc.weight.clone()
    loaded = load_weights(model, resnet18_file, classifier="new")
    assert (loaded.classifier, loaded.file_classes, loaded.layout) == ("new", 1000, "cnnzoo")
    assert loaded.tensors == len(model.state_dict()) - 2
    assert "1000 classes) was left out" in loaded.describe()
    file = cnnzoo.create_model("resnet18", weights=resnet18_file).state_dict()
    for k, v in model.state_dict().items():
        if not k.startswith("fc."):
            assert torch.equal(v, file[k]), k
    assert model.fc.weight.shape == (10, 512) and model.num_classes == 10
    assert not torch.equal(model.fc.weight, fresh_fc)  # reset after loading, explicitly


def test_another_number_of_input_channels(resnet18_file: Path) -> None:
    with pytest.raises(CheckpointError, match=r"takes 3-channel images.*in_channels=3"):
        cnnzoo.create_model("resnet18", in_channels=1, weights=resnet18_file)


def test_googlenet_auxiliary_heads_are_named(tmp_path: Path) -> None:
    tv = torchvision.models.googlenet(num_classes=5, aux_logits=True, init_weights=False)
    path = _save(tv.state_dict(), tmp_path / "g.pth")
    with pytest.raises(CheckpointError, match=r"auxiliary classifiers.*aux_logits=True"):
        cnnzoo.create_model("googlenet", aux_logits=False, weights=path)


def test_corrupt_files_are_refused(tmp_path: Path, resnet18_file: Path) -> None:
    data = resnet18_file.read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(data[: len(data) // 2])
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(os.urandom(4096))
    zipped = tmp_path / "cut.pth"
    torch.save({"w": torch.ones(1000)}, zipped)
    zipped.write_bytes(zipped.read_bytes()[:600])
    for path in (cut, garbage, zipped):
        with pytest.raises(CheckpointError, match=r"not a readable .*is it complete"):
            cnnzoo.create_model("resnet18", weights=path)
    with pytest.raises(MissingError, match="no weights file"):
        cnnzoo.create_model("resnet18", weights=tmp_path / "nowhere.pth")
    torch.save({"epoch": 3, "acc": 0.9}, tmp_path / "meta.pth")
    with pytest.raises(CheckpointError, match=r"not a state dict .*'epoch'"):
        cnnzoo.create_model("resnet18", weights=tmp_path / "meta.pth")


class _RunsCode:
    """Unpickling this runs a shell command: what a malicious checkpoint does."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_that_runs_code_is_refused_without_running_it(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {"fc.weight": torch.zeros(1)}, "x": _RunsCode(marker)}, path)
    with pytest.raises(CheckpointError, match=r"system.*without executing code"):
        cnnzoo.create_model("resnet20", weights=path)
    assert not marker.exists()


# --------------------------------------------------------------------------- training


def test_init_from_a_file_with_other_classes(tmp_path: Path) -> None:
    torch.manual_seed(0)
    source = randomize_norm_stats(cnnzoo.create_model("resnet20", num_classes=5, in_channels=1))
    path = _save(source.state_dict(), tmp_path / "r20.safetensors")
    lines: list[str] = []
    cfg = TrainConfig(model="resnet20", init_from=str(path))
    model = build_model(cfg, 10, 1, torch.device("cpu"), False, log=lines.append)
    for k, v in model.state_dict().items():
        assert k.startswith("fc.") or torch.equal(v, source.state_dict()[k]), k
    assert model.fc.out_features == 10
    assert lines == [
        f"init-from: loaded {len(source.state_dict()) - 2} tensors from {path} "
        "(cnnzoo/torchvision layout); the file's classifier (5 classes) "
        "was left out and a new one initialised for this run's classes"
    ]
    # the same classes: the file's classifier is kept
    model = build_model(cfg, 5, 1, torch.device("cpu"), False, log=lines.append)
    assert torch.equal(model.fc.weight, source.fc.weight)


def test_init_from_is_a_train_flag_and_a_config_setting() -> None:
    args = build_parser().parse_args(["train", "resnet20", "--init-from", "w.pth"])
    assert args.init_from == "w.pth"
    assert TrainConfig.from_dict({"model": "resnet20", "init_from": "w.pth"}).init_from == "w.pth"
    with pytest.raises(ConfigError, match="--init-from"):
        TrainConfig(model="resnet20", init_from="")


def test_init_from_a_run_directory_takes_its_best_checkpoint(tmp_path: Path) -> None:
    from cnnzoo.train.checkpoint import save_checkpoint

    runs = [cnnzoo.create_model("lenet5") for _ in range(2)]
    root = tmp_path / "run" / "checkpoints"
    meta = {
        "model": "lenet5",
        "num_classes": 10,
        "in_channels": 1,
        "input_size": [1, 28, 28],
        "classes": list("abcdefghij"),
        "mean": [0.5],
        "std": [0.5],
    }
    save_checkpoint(root, 1, runs[0].state_dict(), {}, meta, best=True)
    save_checkpoint(root, 2, runs[1].state_dict(), {}, meta, best=False)  # the last, not the best
    cfg = TrainConfig(model="lenet5", init_from=str(tmp_path / "run"))
    model = build_model(cfg, 10, 1, torch.device("cpu"), False, log=lambda _: None)
    for k, v in model.state_dict().items():
        assert torch.equal(v, runs[0].state_dict()[k]), k


def test_a_run_started_from_a_file_resumes_without_it(tmp_path: Path) -> None:
    import json

    from cnnzoo.train import train
    from test_train import make_folder, tiny

    data = make_folder(tmp_path / "data", {"train": 16, "test": 8})
    source = cnnzoo.create_model("lenet5_relu", num_classes=4, in_channels=1)
    path = _save(source.state_dict(), tmp_path / "w.safetensors")
    out = tmp_path / "run"
    train(tiny(data, epochs=1, init_from=str(path)), out, quiet=True, plots=False)
    path.unlink()  # the file moved away: the checkpoint holds the weights now
    result = train(tiny(data, epochs=2), out, resume=True, quiet=True, plots=False)
    assert result["epochs"] == 2 and result["status"] == "finished"
    assert json.loads((out / "config.json").read_text())["init_from"] == str(path)
