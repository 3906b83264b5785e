"""The registry and the `cnnzoo list` command."""

from __future__ import annotations

import json

import pytest
import torch

import cnnzoo
from _util import count_params
from cnnzoo.cli import main
from cnnzoo.registry import register_model


def test_list_models_wildcards() -> None:
    assert cnnzoo.list_models("resnet1*") == [
        "resnet101", "resnet110", "resnet152", "resnet18", "resnet18_d2l"
    ]  # fmt: skip
    assert set(cnnzoo.list_models("*_d2l")) >= {"alexnet_d2l", "vgg_d2l", "resnet18_d2l"}
    assert cnnzoo.list_models("nothing*") == []
    assert cnnzoo.list_models() == sorted(cnnzoo.list_models())


def test_unknown_name_suggests_close_names() -> None:
    with pytest.raises(cnnzoo.UnknownModelError) as err:
        cnnzoo.create_model("resnet19")
    msg = str(err.value)
    assert "unknown model 'resnet19'" in msg and "resnet18" in msg and "cnnzoo list" in msg
    with pytest.raises(KeyError):  # also a KeyError, for callers that catch that
        cnnzoo.create_model("vgg12")


def test_unknown_option_names_the_valid_ones() -> None:
    with pytest.raises(TypeError) as err:
        cnnzoo.create_model("resnet18", zero_init=True)
    assert "'zero_init'" in str(err.value) and "zero_init_residual" in str(err.value)


def test_bad_common_arguments() -> None:
    with pytest.raises(ValueError, match="num_classes"):
        cnnzoo.create_model("lenet5", num_classes=0)
    with pytest.raises(ValueError, match="in_channels"):
        cnnzoo.create_model("lenet5", in_channels=-1)


def test_options_are_passed_through() -> None:
    model = cnnzoo.create_model("resnet20", shortcut="B", num_classes=100, in_channels=1)
    assert model.shortcut == "B" and model.fc.out_features == 100
    assert model.conv1.in_channels == 1
    assert model.model_name == "resnet20"


def test_register_model_rejects_bad_builders() -> None:
    with pytest.raises(TypeError, match="num_classes"):

        @register_model(family="x", year=2000, paper="p", input_size=8, name="_bad1")
        def bad1(*, in_channels: int = 1):  # pragma: no cover
            return None

    with pytest.raises(TypeError, match="explicitly"):

        @register_model(family="x", year=2000, paper="p", input_size=8, name="_bad2")
        def bad2(*, num_classes: int = 1, in_channels: int = 1, **kw):  # pragma: no cover
            return None

    with pytest.raises(ValueError, match="twice"):
        register_model(family="x", year=2000, paper="p", input_size=8, name="lenet5")(
            lambda *, num_classes=1, in_channels=1: None
        )


def test_cli_list_table_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "resnet*"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == [
        "model", "family", "year", "input", "classes", "params", "mult-adds"
    ]  # fmt: skip
    row = next(line.split() for line in lines if line.startswith("resnet50 "))
    assert row[1:5] == ["resnet", "2015", "3x224x224", "1000"]
    assert row[5] == "25.56M"  # torchvision's ResNet-50: 25,557,032
    assert row[6] == "4.09G"  # 4,089,184,256 multiply-adds + 1,000 bias adds

    assert main(["list", "lenet*", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    by_name = {r["name"]: r for r in rows}
    assert by_name["lenet5"]["params"] == 61706
    assert by_name["lenet5"]["flops"] == 423_038  # see test_complexity.test_lenet5_by_hand
    assert by_name["lenet5_bn"]["params"] == count_params(cnnzoo.create_model("lenet5_bn"))


def test_cli_list_no_match(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "zzz*"]) == 1
    assert "no model matches" in capsys.readouterr().err


def test_create_model_on_meta_device_is_cheap() -> None:
    with torch.device("meta"):
        model = cnnzoo.create_model("vgg19")
    assert all(p.is_meta for p in model.parameters())
