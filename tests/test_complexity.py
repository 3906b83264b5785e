"""Cost of the networks: analytic vs measured, against published numbers, by hand, and the CLI.

Every check compares two things that could disagree: the AnyNet formula against a forward pass
on the meta device, both against pycls's published flops, the measured path against
torchvision's ``_ops`` and against ``torch.utils.flop_counter`` (a different mechanism:
dispatch-level op counting instead of module hooks), and LeNet-5 against arithmetic done here.
"""

from __future__ import annotations

import json

import pytest
import torch
import torchvision
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import cnnzoo
from _util import count_params
from cnnzoo.cli import main
from cnnzoo.cost import (
    Complexity,
    anynet_complexity,
    complexity,
    format_summary,
    summary,
)
from cnnzoo.fmt import parse_input_size
from cnnzoo.models.anynet import AnyNet
from cnnzoo.models.anynet_config import REGNET_PARAMS, AnyNetConfig, StageConfig

# Every cnnzoo model that torchvision also has, with torchvision's builder name.
TORCHVISION_SHARED = [
    "alexnet",
    "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
    "googlenet",
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
    "resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d",
    "densenet121", "densenet161", "densenet169", "densenet201",
    "regnet_x_400mf", "regnet_x_800mf", "regnet_y_400mf", "regnet_y_800mf",
]  # fmt: skip

ANYNET_MODELS = cnnzoo.list_models("regnet*")


def _g(n: int) -> float:
    """Giga, rounded as torchvision's tables round it."""
    return round(n / 1e9, 3)


# --------------------------------------------------------------------------- by hand


def test_lenet5_by_hand() -> None:
    # D2L's LeNet-5 on 1x28x28: conv 5x5 pad 2 -> 6x28x28, pool -> 6x14x14, conv 5x5 ->
    # 16x10x10, pool -> 16x5x5, then 400 -> 120 -> 84 -> 10.
    macs = (
        6 * 28 * 28 * (1 * 5 * 5)  # conv1: per output element, 1 channel x 5x5 kernel
        + 16 * 10 * 10 * (6 * 5 * 5)  # conv2
        + 120 * 400  # fc1
        + 84 * 120  # fc2
        + 10 * 84  # fc3
    )
    outputs = 6 * 28 * 28 + 16 * 10 * 10 + 120 + 84 + 10  # one bias add per output element
    params = (
        (6 * 25 + 6) + (16 * 6 * 25 + 16) + (400 * 120 + 120) + (120 * 84 + 84) + (84 * 10 + 10)
    )
    assert (macs, outputs, params) == (416_520, 6_518, 61_706)

    cost = complexity("lenet5")
    assert cost == Complexity(params, macs + outputs, outputs, macs, (1, 28, 28))
    # The hooks see the shapes on the meta device.
    s = summary("lenet5")
    convs_and_fcs = [r for r in s.layers if r.type in ("Conv2d", "Linear")]
    assert [r.output_shape for r in convs_and_fcs] == [
        (6, 28, 28),
        (16, 10, 10),
        (120,),
        (84,),
        (10,),
    ]
    assert [r.output_shape for r in s.layers if r.type == "AvgPool2d"] == [(6, 14, 14), (16, 5, 5)]
    assert [r.flops for r in convs_and_fcs] == [
        6 * 28 * 28 * 26, 16 * 10 * 10 * 151, 120 * 401, 84 * 121, 10 * 85
    ]  # fmt: skip


def test_se_block_and_stem_by_hand() -> None:
    # One Y block on an 8x8 input: stem 3x3/2 (3 -> 8 channels, 4x4), then a block 8 -> 16,
    # stride 2 (2x2), bottleneck 16, group width 8 (2 groups), SE 0.25 * 8 = 2 channels.
    config = AnyNetConfig(8, (StageConfig(1, 16, 2, 1.0, 8),), se_ratio=0.25)
    stem = 9 * 3 * 8 * 16
    a = 8 * 16 * 16  # 1x1 at 4x4
    b = 9 * 8 * 16 * 4  # 3x3 grouped: 8 input channels per group, 16 outputs at 2x2
    se = (16 * 2 + 2) + (2 * 16 + 16)  # two biased 1x1 convs at 1x1
    c = 16 * 16 * 4
    proj = 8 * 16 * 4
    fc = 16 * 10 + 10
    flops = stem + a + b + se + c + proj + fc
    acts = 8 * 16 + 16 * 16 + 16 * 4 + (2 + 16) + 16 * 4 + 16 * 4 + 10
    got = anynet_complexity(config, (3, 8, 8), num_classes=10)
    assert (got.flops, got.activations, got.flops_no_bias) == (flops, acts, flops - 2 - 16 - 10)
    assert got == complexity(config, (3, 8, 8), num_classes=10, method="measured")


# --------------------------------------------------------------------------- published numbers


def test_pycls_published_flops_and_params() -> None:
    # pycls MODEL_ZOO / the RegNet paper, 224x224, 1000 classes.
    x400 = anynet_complexity(REGNET_PARAMS["regnetx_400mf"].config())  # no network built
    assert x400.flops == 397_678_568
    assert round(x400.params / 1e6, 2) == 5.16
    assert anynet_complexity(REGNET_PARAMS["regnety_400mf"].config()).flops == 401_849_056
    x200 = anynet_complexity(REGNET_PARAMS["regnetx_200mf"].config())
    assert (_g(x200.flops), round(x200.params / 1e6, 2)) == (0.199, 2.68)
    # ... and the measured path gets the same.
    assert complexity("regnetx_400mf", method="measured") == x400
    assert complexity("regnetx_200mf", method="measured") == x200


def test_torchvision_published_gmacs() -> None:
    # torchvision's tables: ResNet-50 4.089, AlexNet 0.714, RegNetY-400MF 0.402 GMACs.
    resnet50, alexnet, y400 = (complexity(n) for n in ("resnet50", "alexnet", "regnet_y_400mf"))
    assert (_g(resnet50.flops_no_bias), _g(alexnet.flops_no_bias), _g(y400.flops_no_bias)) == (
        4.089, 0.714, 0.402
    )  # fmt: skip
    # With the bias adds (pycls's convention) ResNet-50 and RegNetY round the same, AlexNet not:
    # its convolutions carry biases at full resolution.
    assert (_g(resnet50.flops), _g(y400.flops)) == (4.089, 0.402)
    assert _g(alexnet.flops) == 0.715
    alexnet_outputs = (
        64 * 55 * 55 + 192 * 27 * 27 + 384 * 13 * 13 + 256 * 13 * 13 * 2 + 4096 + 4096 + 1000
    )
    assert alexnet.flops - alexnet.flops_no_bias == alexnet_outputs
    # ResNet-50's only bias is the classifier's.
    assert resnet50.flops - resnet50.flops_no_bias == 1000


@pytest.mark.parametrize("name", TORCHVISION_SHARED)
def test_matches_torchvision_ops_meta(name: str) -> None:
    """torchvision's ``_ops`` (GMACs, 3 decimals) is our ``flops_no_bias``: its counter
    (torchvision PR #6936, after Chillee's dispatch-mode counter) counts the matrix products of
    convolutions and linear layers and never the bias adds. Checked on every weights enum."""
    cost = complexity(name)
    weights = list(torchvision.models.get_model_weights(name))
    assert weights
    for w in weights:
        assert _g(cost.flops_no_bias) == w.meta["_ops"], (name, w)
    # Where only the classifier has a bias (no conv biases as in AlexNet/VGG, no SE as in
    # RegNetY) the two conventions differ by num_classes.
    if not name.startswith(("alexnet", "vgg", "regnet_y")):
        assert cost.flops - cost.flops_no_bias == 1000


# --------------------------------------------------------------------------- analytic == measured


@pytest.mark.parametrize("name", ANYNET_MODELS)
def test_analytic_equals_measured_for_registered_anynets(name: str) -> None:
    assert complexity(name, method="analytic") == complexity(name, method="measured")
    # ... at another size (not square), channels and classes.
    kw = {"input_size": (1, 40, 24), "num_classes": 7}
    assert complexity(name, method="analytic", **kw) == complexity(name, method="measured", **kw)


_stage = st.builds(
    StageConfig,
    depth=st.integers(1, 3),
    width=st.integers(1, 16).map(lambda k: 8 * k),
    stride=st.sampled_from([1, 2, 2, 3]),
    bottleneck_ratio=st.sampled_from([1.0, 2.0, 4.0, 0.5]),
    group_width=st.sampled_from([1, 2, 4, 8, 16, 24]),
)
_config = st.builds(
    AnyNetConfig,
    stem_width=st.integers(1, 8).map(lambda k: 8 * k),
    stages=st.lists(_stage, min_size=1, max_size=4).map(tuple),
    se_ratio=st.sampled_from([0.0, 0.0, 0.25, 0.5, 0.05]),
)
_size = st.tuples(st.integers(1, 3), st.integers(1, 40), st.integers(1, 40))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=_config, size=_size, num_classes=st.integers(1, 20), rounding=st.booleans())
def test_analytic_equals_measured_for_random_anynets(config, size, num_classes, rounding) -> None:
    config = config.adjusted("pycls" if rounding else "torchvision")
    if config.problems():  # SE rounding to zero channels: refused by both paths
        with pytest.raises(ValueError, match="squeeze channels"):
            anynet_complexity(config, size, num_classes)
        with pytest.raises(ValueError, match="squeeze channels"):
            complexity(config, size, num_classes=num_classes, method="measured")
        return
    analytic = anynet_complexity(config, size, num_classes)
    assert analytic == complexity(config, size, num_classes=num_classes, method="measured")
    assert analytic == complexity(config, size, num_classes=num_classes)  # auto: analytic
    with torch.device("meta"):
        assert analytic.params == count_params(AnyNet(config, num_classes, size[0]))


@settings(max_examples=30, deadline=None)
@given(config=_config)
def test_incompatible_configs_are_refused_with_the_reason(config) -> None:
    problems = config.problems()
    if not problems:
        assert anynet_complexity(config, (3, 32, 32)).flops > 0
        return
    with pytest.raises(ValueError) as err:
        anynet_complexity(config, (3, 32, 32))
    msg = str(err.value)
    assert problems[0] in msg and "adjust=True" in msg
    # The measured path refuses it too, before any convolution runs.
    with pytest.raises(ValueError, match="cannot be built"):
        complexity(config, (3, 32, 32), method="measured")
    # adjust=True fits it by pycls's rule (unless an SE would round to nothing).
    fixed = config.adjusted()
    if not fixed.problems():
        assert complexity(config, (3, 32, 32), adjust=True) == anynet_complexity(fixed, (3, 32, 32))


def test_se_rounding_to_nothing_in_a_later_block_is_refused() -> None:
    # The first block squeezes 32 input channels to round(0.05 * 32) = 2; the second block's
    # input is 8 wide, round(0.4) = 0: both paths refuse it rather than drop that SE.
    config = AnyNetConfig(32, (StageConfig(2, 8, group_width=8),), se_ratio=0.05)
    with pytest.raises(ValueError, match="input width 8 rounds to 0 squeeze channels"):
        anynet_complexity(config)
    with pytest.raises(ValueError, match="rounds to 0 squeeze channels"):
        complexity(config, method="measured")


def test_incompatible_config_message() -> None:
    config = AnyNetConfig(32, (StageConfig(1, 40, group_width=16),))
    with pytest.raises(ValueError, match=r"bottleneck width 40 .* not divisible by group_width 16"):
        complexity(config)
    assert complexity(config, adjust=True) == complexity(config.adjusted())
    assert complexity(config, adjust="torchvision") == complexity(config.adjusted("torchvision"))


# --------------------------------------------------------------------------- a second code path


@pytest.mark.parametrize(
    "name",
    [
        "lenet5_bn", "alexnet_paper", "vgg11_bn", "vgg_d2l", "nin", "googlenet", "googlenet_d2l",
        "resnet18_d2l", "resnet20", "resnext50_32x4d", "densenet_d2l", "regnety_200mf",
        "regnetx32_d2l",
    ],
)  # fmt: skip
def test_hooks_agree_with_torch_flop_counter(name: str) -> None:
    """``FlopCounterMode`` counts 2 flops per multiply-add of each aten convolution / matrix
    product and no bias adds: half of it is ``flops_no_bias``."""
    info = cnnzoo.model_info(name)
    with torch.device("meta"):
        model = cnnzoo.create_model(name).eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.empty(1, *info.input_size, device="meta"))
    assert counter.get_total_flops() == 2 * complexity(model).flops_no_bias


# --------------------------------------------------------------------------- the measured path


def test_measuring_a_real_model_leaves_it_alone() -> None:
    torch.manual_seed(0)
    model = cnnzoo.create_model("lenet5_bn", num_classes=3).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    cost = complexity(model)  # runs on meta stand-ins of its weights
    assert cost == complexity("lenet5_bn", num_classes=3)
    assert model.training and all(m.training for m in model.modules())
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # no BN statistics updated
    assert not any("forward" in vars(m) for m in model.modules())
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 3)


def test_summary_rows_add_up() -> None:
    s = summary("googlenet")
    t = s.total
    assert sum(r.flops for r in s.layers) == t.flops == sum(st.flops for st in s.stages)
    with torch.device("meta"):
        model = cnnzoo.create_model("googlenet")
    assert sum(st.params for st in s.stages) == t.params == count_params(model)
    # the auxiliary classifiers exist but do not run in the forward pass
    aux = sum(st.params for st in s.stages if st.name.startswith("aux"))
    assert aux > 0 and s.unused_params == aux and s.notes
    assert sum(st.flops_share for st in s.stages) == pytest.approx(1.0)


def test_stages_show_where_the_cost_is() -> None:
    vgg = summary("vgg16")
    names = [st.name for st in vgg.stages]
    assert names == [
        "features[0:5]", "features[5:10]", "features[10:17]", "features[17:24]",
        "features[24:31]", "classifier",
    ]  # fmt: skip
    by_name = {st.name: st for st in vgg.stages}
    # VGG: the convolutions hold the multiply-adds, the classifier the parameters.
    assert by_name["classifier"].params_share > 0.85 and by_name["classifier"].flops_share < 0.01
    nin = summary("nin")
    assert [st.name for st in nin.stages] == [
        "features.0",
        "features.2",
        "features.4",
        "classifier",
    ]
    assert nin.total.params < vgg.total.params / 50
    regnet = summary("regnetx_400mf")
    assert [st.name for st in regnet.stages] == [
        "stem", *(f"trunk_output.block{i}" for i in range(1, 5)), "fc"
    ]  # fmt: skip
    resnet = [st.name for st in summary("resnet20").stages]
    assert resnet == ["conv1", "bn1", "layer1", "layer2", "layer3", "fc"]


def test_input_size_follows_the_name() -> None:
    # in_channels follows C; a fixed-size network is built for H x W
    assert complexity("resnet18", (1, 64, 64)).params == count_params(
        cnnzoo.create_model("resnet18", in_channels=1)
    )
    lenet32 = summary("lenet5", "1x32x32")
    assert lenet32.layers[0].output_shape == (6, 32, 32)
    assert complexity("lenet5", (1, 32, 32)).params == count_params(
        cnnzoo.create_model("lenet5", input_size=32)
    )


# --------------------------------------------------------------------------- bad input


def test_too_small_input_gives_the_models_error() -> None:
    with torch.device("meta"):
        model = cnnzoo.create_model("alexnet")
        with pytest.raises(ValueError) as expected:
            model(torch.empty(1, 3, 32, 32))
    with pytest.raises(ValueError) as got:
        complexity("alexnet", (3, 32, 32))
    assert str(got.value) == str(expected.value) and "at least 63x63" in str(got.value)
    with pytest.raises(ValueError, match="in_channels=1"):
        complexity(model, (1, 224, 224))
    with pytest.raises(ValueError, match="built for 28x28"):
        complexity(cnnzoo.create_model("lenet5"), (1, 32, 32))
    with pytest.raises(ValueError, match="at least 8x8"):
        complexity("lenet5", (1, 4, 4))
    # a network outside the zoo: the shape error becomes a ValueError that says so
    with pytest.raises(ValueError, match="cannot take a 1x3x3 input"):
        complexity(nn.Sequential(nn.Conv2d(1, 4, 5)), (1, 3, 3))


@pytest.mark.parametrize(
    "bad", ["28x28", "1x28", "axbxc", "0x28x28", "1x-2x28", (1, 28), [1, 2.5, 3]]
)
def test_bad_input_sizes(bad) -> None:
    with pytest.raises(ValueError, match="channels"):
        parse_input_size(bad)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="num_classes"):
        complexity("lenet5", num_classes=0)
    with pytest.raises(ValueError, match="num_classes"):
        anynet_complexity(REGNET_PARAMS["regnetx_200mf"].config(), num_classes=0)
    with pytest.raises(ValueError, match="method"):
        complexity("lenet5", method="guess")
    with pytest.raises(ValueError, match="AnyNet/RegNet only"):
        complexity("lenet5", method="analytic")
    with pytest.raises(TypeError, match="built network"):
        complexity(cnnzoo.create_model("lenet5"), num_classes=3)
    with pytest.raises(TypeError, match="AnyNetConfig"):
        complexity(42)
    with pytest.raises(cnnzoo.UnknownModelError):
        complexity("lenet6")


# --------------------------------------------------------------------------- the CLI


def test_cli_summary_formats(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["summary", "lenet5"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("lenet5 at 1x28x28, 10 classes")
    assert "total: 61,706 params" in out and "423,038 multiply-adds" in out
    assert "share per stage" in out and "features[3:6]" in out

    assert (
        main(["summary", "nin", "--input", "1x96x96", "--num-classes", "5", "--format", "markdown"])
        == 0
    )
    md = capsys.readouterr().out
    assert md.startswith("## nin at 1x96x96, 5 classes") and "| stage |" in md

    assert main(["summary", "regnetx_400mf", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total"]["flops"] == 397_678_568 and data["total"]["input_size"] == [3, 224, 224]
    assert sum(r["flops"] for r in data["layers"]) == 397_678_568
    assert format_summary(summary("regnetx_400mf"), "markdown").count("trunk_output.block") > 4


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["summary", "alexnet", "--input", "3x32x32"], "at least 63x63"),
        (["summary", "lenet5", "--input", "28x28"], "channels x height x width"),
        (["summary", "resnet19"], "unknown model"),
        (["summary", "lenet5", "--num-classes", "0"], "num_classes"),
    ],
)
def test_cli_summary_errors(argv, needle, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1
