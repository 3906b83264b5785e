"""AnyNet / RegNet: configs, RegNet generation in both roundings, torchvision parity."""

from __future__ import annotations

import random

import pytest
import torch
import torchvision
from torch import nn
from torchvision.models.regnet import BlockParams

from _util import count_params, max_rel_err, randomize_norm_stats
from cnnzoo import create_model, list_models, model_info
from cnnzoo.blocks import ResBottleneckBlock
from cnnzoo.models.anynet import AnyNet, anynet
from cnnzoo.models.anynet_config import (
    REGNET_PARAMS,
    AnyNetConfig,
    StageConfig,
    adjust_compatibility,
    regnet_config,
    regnet_widths,
)

TORCHVISION_NAMES = ["regnet_x_400mf", "regnet_x_800mf", "regnet_y_400mf", "regnet_y_800mf"]

# Published parameter counts of pycls's model zoo, in millions (MODEL_ZOO.md rounds them to 0.1M:
# 2.7, 5.2, 6.2, 7.3, 3.2, 4.3, 6.1, 6.3).
PYCLS_PARAMS_M = {
    "regnetx_200mf": 2.68,
    "regnetx_400mf": 5.16,
    "regnetx_600mf": 6.20,
    "regnetx_800mf": 7.26,
    "regnety_200mf": 3.16,
    "regnety_400mf": 4.34,
    "regnety_600mf": 6.06,
    "regnety_800mf": 6.26,
}


def _stages_of(model: nn.Module) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(widths, depths) read off a built network's ``trunk_output`` (ours or torchvision's)."""
    stages = list(model.trunk_output)
    return (
        tuple(stage[0].f.c[0].out_channels for stage in stages),
        tuple(len(stage) for stage in stages),
    )


# --------------------------------------------------------------------------- torchvision parity


@pytest.mark.parametrize("name", TORCHVISION_NAMES)
def test_matches_torchvision(name: str) -> None:
    torch.manual_seed(0)
    ref = randomize_norm_stats(getattr(torchvision.models, name)())
    ours = create_model(name)

    assert [n for n, _ in ours.named_modules()] == [n for n, _ in ref.named_modules()]
    assert list(ours.state_dict()) == list(ref.state_dict())
    ours.load_state_dict(ref.state_dict(), strict=True)
    assert count_params(ours) == count_params(ref)
    for a, b in zip(ours.modules(), ref.modules(), strict=True):
        for kind in (nn.BatchNorm2d, nn.Conv2d, nn.ReLU, nn.Sigmoid, nn.AdaptiveAvgPool2d):
            assert isinstance(a, kind) == isinstance(b, kind)
        if isinstance(b, nn.BatchNorm2d):
            assert (a.eps, a.momentum) == (b.eps, b.momentum)
        if isinstance(b, nn.Conv2d):
            assert (a.stride, a.padding, a.groups) == (b.stride, b.padding, b.groups)

    x = torch.randn(2, 3, 64, 64)
    ours.eval()
    ref.eval()
    with torch.no_grad():
        assert max_rel_err(ours(x), ref(x)) < 1e-5
    ours.train()
    ref.train()
    with torch.no_grad():
        assert max_rel_err(ours(x), ref(x)) < 1e-5
    # The train-mode pass updated the running statistics identically.
    for (k, a), b in zip(ours.state_dict().items(), ref.state_dict().values(), strict=True):
        if k.endswith("running_var"):
            assert max_rel_err(a, b) < 1e-5, k


def test_config_blocks_describe_the_built_network() -> None:
    config = REGNET_PARAMS["regnety_200mf"].config()
    model = anynet(config, num_classes=7)
    blocks = [m for m in model.modules() if isinstance(m, ResBottleneckBlock)]
    specs = config.blocks()
    assert len(blocks) == len(specs) == config.depth
    for spec, block in zip(specs, blocks, strict=True):
        conv_b = block.f.b[0]
        assert conv_b.in_channels == spec.bottleneck_width
        assert conv_b.groups == spec.groups and conv_b.stride == (spec.stride, spec.stride)
        assert block.f.a[0].in_channels == spec.width_in
        assert block.f.c[0].out_channels == spec.width_out
        assert (block.proj is not None) == spec.has_projection
        assert block.f.se.fc1.out_channels == spec.se_width == round(0.25 * spec.width_in)
    last = f"block{specs[-1].stage + 1}"
    assert model.get_submodule(f"trunk_output.{last}.{last}-{specs[-1].index}") is blocks[-1]


# --------------------------------------------------------------------------- pycls models


@pytest.mark.parametrize("name", sorted(PYCLS_PARAMS_M))
def test_pycls_parameter_counts(name: str) -> None:
    with torch.device("meta"):
        model = create_model(name)
    assert count_params(model) / 1e6 == pytest.approx(PYCLS_PARAMS_M[name], abs=0.005)


def test_pycls_stage_tables() -> None:
    # pycls's stage widths and depths (the last widths match the classifier inputs of the
    # pycls-converted checkpoints in mmpretrain: 384 for X-400MF, 672 for X-800MF, 608 for
    # Y-600MF).
    expected = {
        "regnetx_200mf": ((24, 56, 152, 368), (1, 1, 4, 7), 8),
        "regnetx_400mf": ((32, 64, 160, 384), (1, 2, 7, 12), 16),
        "regnetx_600mf": ((48, 96, 240, 528), (1, 3, 5, 7), 24),
        "regnetx_800mf": ((64, 128, 288, 672), (1, 3, 7, 5), 16),
        "regnety_400mf": ((48, 104, 208, 440), (1, 3, 6, 6), 8),
        "regnety_600mf": ((48, 112, 256, 608), (1, 3, 7, 4), 16),
        "regnety_800mf": ((64, 128, 320, 768), (1, 3, 8, 2), 16),
    }
    for name, (widths, depths, g) in expected.items():
        config = REGNET_PARAMS[name].config()
        assert (config.widths, config.depths) == (widths, depths), name
        assert config.group_widths == (g,) * 4
        assert config.stem_width == 32 and config.strides == (2, 2, 2, 2)
        assert config.se_ratio == (0.25 if name.startswith("regnety") else 0.0)


def test_x400mf_rounding_differs_between_pycls_and_torchvision() -> None:
    tv_model = torchvision.models.regnet_x_400mf()  # (torchvision cannot build on "meta")
    with torch.device("meta"):
        pycls_model = create_model("regnetx_400mf")
        our_tv_model = create_model("regnet_x_400mf")  # the torchvision rounding can
    assert _stages_of(pycls_model) == ((32, 64, 160, 384), (1, 2, 7, 12))
    assert _stages_of(tv_model) == ((32, 64, 160, 400), (1, 2, 7, 12))
    assert _stages_of(our_tv_model) == _stages_of(tv_model)
    # Both quantise the last stage to 392 = 24.5 x 16; pycls rounds the half to even, torchvision
    # rounds it up.
    for name in ("regnetx_400mf", "regnet_x_400mf"):
        assert REGNET_PARAMS[name].widths().stage_widths == (24, 64, 152, 392)
    assert adjust_compatibility(392, 1.0, 16) == (384, 16)
    assert adjust_compatibility(392, 1.0, 16, rounding="torchvision") == (400, 16)


# --------------------------------------------------------------------------- RegNet generation


def test_regnet_widths_follow_the_linear_rule() -> None:
    w = regnet_widths(depth=13, w_0=24, w_a=36.44, w_m=2.49)
    assert len(w.continuous) == len(w.exponents) == len(w.quantized) == 13
    for j, (u, k, q) in enumerate(zip(w.continuous, w.exponents, w.quantized, strict=True)):
        assert u == pytest.approx(24 + 36.44 * j)
        assert q % 8 == 0 and abs(q - 24 * 2.49**k) <= 4
        assert 2.49 ** (k - 0.5) <= u / 24 <= 2.49 ** (k + 0.5)
    assert w.quantized == (24, 56, *[152] * 4, *[368] * 7)
    assert w.stage_widths == (24, 56, 152, 368) and w.stage_depths == (1, 1, 4, 7)
    assert sum(w.stage_depths) == 13


def test_float32_and_float64_quantise_differently() -> None:
    # 120 * 2.1 / 8 is 31.5 in float64 (-> 32 by half to even) but just under it in float32.
    assert regnet_widths(25, 120, 87.5, 2.1).stage_widths[:2] == (120, 256)
    assert regnet_widths(25, 120, 87.5, 2.1, rounding="torchvision").stage_widths[:2] == (120, 248)


def test_torchvision_rounding_reproduces_torchvision_blockparams() -> None:
    rng = random.Random(0)
    cases = [
        (8, 240, 95.1, 2.05, 8, 1.0),
        (5, 200, 107.84, 2.18, 8, 1.0),
        (25, 120, 87.5, 2.1, 8, 1.0),
    ]
    for _ in range(300):
        depth = rng.randint(1, 30)
        w_0 = 8 * rng.randint(1, 32)
        w_a = round(rng.uniform(0, 128), 2)
        w_m = round(rng.uniform(1.5, 3.0), 2)
        g = rng.choice([1, 2, 4, 8, 16, 24, 32, 48, 64])
        cases.append((depth, w_0, w_a, w_m, g, rng.choice([1.0, 2.0, 4.0])))
    for depth, w_0, w_a, w_m, g, ratio in cases:
        ref = BlockParams.from_init_params(depth, w_0, w_a, w_m, g, 1.0 / ratio)
        ours = regnet_config(depth, w_0, w_a, w_m, g, ratio, rounding="torchvision")
        args = (depth, w_0, w_a, w_m, g, ratio)
        assert list(ours.depths) == ref.depths, args
        assert list(ours.widths) == ref.widths, args
        assert list(ours.group_widths) == ref.group_widths, args
        assert ours.is_compatible, args
        assert regnet_config(*args).is_compatible, args  # the pycls rounding too


def test_regnet_config_validates_its_parameters() -> None:
    with pytest.raises(ValueError, match="multiple of quantum"):
        regnet_config(10, 20, 30.0, 2.0, 8)
    with pytest.raises(ValueError, match="w_m"):
        regnet_config(10, 24, 30.0, 1.0, 8)
    with pytest.raises(ValueError, match="w_a"):
        regnet_config(10, 24, -1.0, 2.0, 8)
    with pytest.raises(ValueError, match="depth"):
        regnet_config(0, 24, 30.0, 2.0, 8)
    with pytest.raises(ValueError, match="rounding"):
        regnet_config(10, 24, 30.0, 2.0, 8, rounding="timm")


# --------------------------------------------------------------------------- compatibility rule


@pytest.mark.parametrize(
    ("width", "ratio", "group_width", "pycls", "torchvision"),
    [
        (392, 1.0, 16, (384, 16), (400, 16)),  # 24.5 groups: half to even vs half up
        (40, 1.0, 16, (32, 16), (48, 16)),  # 2.5 groups
        (56, 1.0, 16, (64, 16), (64, 16)),  # 3.5 groups: both round up to 4
        (24, 1.0, 48, (24, 24), (24, 24)),  # group wider than the convolution: g = w_b
        (70, 1.0, 48, (48, 48), (96, 48)),  # torchvision's "never lose more than 10%"
        (100, 2.0, 16, (96, 16), (96, 16)),  # w_b = 50 -> 48, width = 2 * 48
        (8, 4.0, 8, (8, 2), (8, 2)),  # w_b = 2: group width shrinks to 2
        (12, 0.5, 16, (16, 16), (16, 16)),  # inverted bottleneck: w_b = 24 -> lcm(16, 2) = 16
        (20, 0.5, 8, (20, 8), (20, 8)),  # already compatible
    ],
)
def test_adjust_compatibility(width, ratio, group_width, pycls, torchvision) -> None:
    assert adjust_compatibility(width, ratio, group_width) == pycls
    assert adjust_compatibility(width, ratio, group_width, rounding="torchvision") == torchvision
    for w, g in (pycls, torchvision):
        assert StageConfig(1, w, bottleneck_ratio=ratio, group_width=g).is_compatible


def test_incompatible_config_is_refused_with_a_clear_message() -> None:
    config = AnyNetConfig(
        32, (StageConfig(1, 40, group_width=16), StageConfig(2, 64, group_width=16))
    )
    assert not config.is_compatible
    with pytest.raises(ValueError, match=r"stage 1: bottleneck width 40 .* not divisible .* 16"):
        AnyNet(config)
    with pytest.raises(ValueError, match=r"adjusted\(\)"):
        anynet(config)
    fixed = config.adjusted()
    assert fixed.widths == (32, 64) and fixed.is_compatible
    assert anynet(fixed, num_classes=3)(torch.randn(2, 3, 32, 32)).shape == (2, 3)


def test_se_that_rounds_to_nothing_is_refused() -> None:
    config = AnyNetConfig(8, (StageConfig(1, 16, group_width=8),), se_ratio=0.05)
    with pytest.raises(ValueError, match="rounds to 0 squeeze channels"):
        AnyNet(config)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"depth": 0, "width": 8}, "depth"),
        ({"depth": 1, "width": 8.0}, "width"),
        ({"depth": 1, "width": True}, "width"),
        ({"depth": 1, "width": 8, "stride": 0}, "stride"),
        ({"depth": 1, "width": 8, "bottleneck_ratio": 0}, "bottleneck_ratio"),
        ({"depth": 1, "width": 8, "bottleneck_ratio": float("nan")}, "bottleneck_ratio"),
        ({"depth": 1, "width": 8, "group_width": -8}, "group_width"),
    ],
)
def test_stage_config_validation(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        StageConfig(**kwargs)


def test_anynet_config_validation_and_value_semantics() -> None:
    stage = StageConfig(2, 64, bottleneck_ratio=2, group_width=8)
    assert stage.bottleneck_width == 32 and stage.groups == 4
    with pytest.raises(ValueError, match="stages"):
        AnyNetConfig(32, ())
    with pytest.raises(ValueError, match="stages"):
        AnyNetConfig(32, ((2, 64),))
    with pytest.raises(ValueError, match="se_ratio"):
        AnyNetConfig(32, (stage,), se_ratio=-0.25)
    with pytest.raises(ValueError, match="stem_width"):
        AnyNetConfig(0, (stage,))
    a = AnyNetConfig(32, [stage])  # a list becomes a tuple: hashable, comparable
    b = AnyNetConfig(32, (StageConfig(2, 64, 2, 2.0, 8),))
    assert a == b and hash(a) == hash(b) and isinstance(a.stages, tuple)


# --------------------------------------------------------------------------- the model API


def test_regnetx32_d2l() -> None:
    info = model_info("regnetx32_d2l")
    assert info.input_size == (1, 96, 96) and info.num_classes == 10
    model = create_model("regnetx32_d2l").eval()
    assert _stages_of(model) == ((32, 80), (4, 6))
    assert model.trunk_output.block2[0].f.b[0].groups == 5
    with torch.no_grad():
        assert model(torch.randn(2, 1, 96, 96)).shape == (2, 10)
        assert model(torch.randn(1, 1, 1, 1)).shape == (1, 10)  # min_input_size is 1
    assert model.min_input_size == 1
    with pytest.raises(ValueError, match="in_channels=3"):
        model(torch.randn(2, 3, 96, 96))


def test_registry_and_classifier_reset() -> None:
    expected = {*PYCLS_PARAMS_M, *TORCHVISION_NAMES, "regnetx32_d2l"}
    assert expected <= set(list_models("regnet*"))
    for name in expected:
        info = model_info(name)
        assert info.family == "regnet" and info.year == 2020
        assert info.options == {"zero_init_last_bn": False}
        assert "Designing Network Design Spaces" in (info.builder.__doc__ or "")
    model = create_model("regnetx_200mf", num_classes=5, in_channels=1, zero_init_last_bn=True)
    assert all(
        not m.f.c[1].weight.detach().any()
        for m in model.modules()
        if isinstance(m, ResBottleneckBlock)
    )
    model.reset_classifier(3)
    assert model.num_classes == 3 and model.fc.out_features == 3
    x = torch.randn(2, 1, 32, 32)
    feats = model.forward_features(x)
    assert feats.shape == (2, 368, 1, 1)
    assert model.forward_head(feats).shape == (2, 3) == model(x).shape


# --------------------------------------------------------------------------- module layout


def test_every_regnet_has_an_explicit_builder() -> None:
    # One `def name(` per registered name, found with grep (no builders made in a loop), and
    # REGNET_PARAMS holds exactly the named RegNets.
    import inspect
    import re

    from cnnzoo.models import anynet as anynet_module
    from cnnzoo.models import regnet as regnet_module

    family = [n for n in list_models() if model_info(n).family == "regnet"]
    assert set(family) == {*REGNET_PARAMS, "regnetx32_d2l", "anynet"}
    source = inspect.getsource(regnet_module) + inspect.getsource(anynet_module)
    defined = set(re.findall(r"^def (\w+)\(", source, flags=re.MULTILINE))
    for name in family:
        assert name in defined and model_info(name).builder.__name__ == name, name


def test_the_config_module_needs_no_torch() -> None:
    # cnnzoo.models.anynet_config imports no torch: run it in a fresh interpreter where any
    # import of torch fails. The package __init__s import the zoo (torch), so the check loads
    # cnnzoo and cnnzoo.models as bare namespaces and tests this module's own imports.
    import subprocess
    import sys
    from pathlib import Path

    import cnnzoo

    src = Path(cnnzoo.__file__).parent
    code = f"""
import sys, types
sys.modules["torch"] = None
for name, path in (("cnnzoo", {str(src)!r}), ("cnnzoo.models", {str(src / "models")!r})):
    pkg = types.ModuleType(name)
    pkg.__path__ = [path]
    sys.modules[name] = pkg
from cnnzoo.models.anynet_config import REGNET_PARAMS, regnet_config
from cnnzoo.fmt import human_count
config = REGNET_PARAMS["regnetx_400mf"].config()
assert config.widths == (32, 64, 160, 384), config.widths
assert regnet_config(13, 24, 36.44, 2.49, 8) == REGNET_PARAMS["regnetx_200mf"].config()
assert "torch" not in {{m.split(".")[0] for m, v in sys.modules.items() if v is not None}}
try:
    REGNET_PARAMS["regnet_x_400mf"].config()  # torchvision's rounding is torch's float32
except ImportError:
    print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
