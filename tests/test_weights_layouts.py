"""Other projects' layouts (cnnzoo.models.weights_layouts): files in pycls's, the public CIFAR
ResNets' and timm's layouts load and give those projects' outputs.

pycls and akamaster/pytorch_resnet_cifar10 are not installable: their networks are written
again here, from their sources (cited per class), small enough to read against them, and the
outputs of these reimplementations are the reference. timm's own models are the reference where
timm is installed; everywhere, a fixture of timm's key names and shapes (tests/fixtures/
timm_keys.json, written by scripts/make_timm_keys.py) checks the renaming.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn

import cnnzoo
from _util import max_rel_err, randomize_norm_stats
from cnnzoo.errors import CheckpointError
from cnnzoo.models.anynet_config import REGNET_PARAMS
from cnnzoo.models.resnet import ShortcutA
from cnnzoo.models.resnext import resnext
from cnnzoo.models.weights import load_weights
from cnnzoo.models.weights_layouts import detect_layout

HAS_TIMM = importlib.util.find_spec("timm") is not None
FIXTURE = Path(__file__).parent / "fixtures" / "timm_keys.json"
#: timm's name -> cnnzoo's, for the networks both have
TIMM_NAMES = {
    "resnet18": "resnet18",
    "densenet121": "densenet121",
    "vgg11_bn": "vgg11_bn",
    "regnetx_002": "regnetx_200mf",
    "regnety_002": "regnety_200mf",
    "regnetx_004_tv": "regnet_x_400mf",
    "regnety_008_tv": "regnet_y_800mf",
}


def _outputs_equal(ours: nn.Module, theirs: nn.Module, size: int = 32) -> None:
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = theirs.eval()(x)
        assert expected.abs().max() > 0
        assert max_rel_err(ours.eval()(x), expected) < 1e-5


# --------------------------------------------------------------------------- pycls


class _Chain(nn.Module):
    """pycls's modules run their children in the order they were added."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for m in self.children():
            x = m(x)
        return x


def _conv(w_in: int, w_out: int, k: int, stride: int = 1, groups: int = 1, bias: bool = False):
    return nn.Conv2d(w_in, w_out, k, stride=stride, padding=(k - 1) // 2, groups=groups, bias=bias)


class PyclsSE(nn.Module):
    """pycls/models/blocks.py ``SE``."""

    def __init__(self, w_in: int, w_se: int) -> None:
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.f_ex = nn.Sequential(
            _conv(w_in, w_se, 1, bias=True),
            nn.ReLU(),
            _conv(w_se, w_in, 1, bias=True),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.f_ex(self.avg_pool(x))


class PyclsBottleneck(_Chain):
    """pycls/models/anynet.py ``BottleneckTransform``: 1x1, 3x3 (stride, groups) [+SE], 1x1."""

    def __init__(
        self, w_in: int, w_out: int, stride: int, bot_mul: float, group_w: int, se_r: float
    ) -> None:
        super().__init__()
        w_b, w_se = round(w_out * bot_mul), round(w_in * se_r)  # pycls: int(round(...))
        self.a, self.a_bn, self.a_af = _conv(w_in, w_b, 1), nn.BatchNorm2d(w_b), nn.ReLU()
        self.b = _conv(w_b, w_b, 3, stride=stride, groups=w_b // group_w)
        self.b_bn, self.b_af = nn.BatchNorm2d(w_b), nn.ReLU()
        self.se = PyclsSE(w_b, w_se) if w_se else None
        self.c, self.c_bn = _conv(w_b, w_out, 1), nn.BatchNorm2d(w_out)


class PyclsBasic(_Chain):
    """pycls/models/anynet.py (and resnet.py) ``BasicTransform``: 3x3 (stride), 3x3."""

    def __init__(self, w_in: int, w_out: int, stride: int, *_: object) -> None:
        super().__init__()
        self.a, self.a_bn, self.a_af = (
            _conv(w_in, w_out, 3, stride),
            nn.BatchNorm2d(w_out),
            nn.ReLU(),
        )
        self.b, self.b_bn = _conv(w_out, w_out, 3), nn.BatchNorm2d(w_out)


class PyclsResBlock(nn.Module):
    """pycls/models/anynet.py ``ResBottleneckBlock`` / ``ResBasicBlock``: x_p + f(x)."""

    def __init__(self, w_in: int, w_out: int, stride: int, transform: type, *args: object) -> None:
        super().__init__()
        self.proj, self.bn = None, None
        if w_in != w_out or stride != 1:
            self.proj, self.bn = _conv(w_in, w_out, 1, stride=stride), nn.BatchNorm2d(w_out)
        self.f = transform(w_in, w_out, stride, *args)
        self.af = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_p = self.bn(self.proj(x)) if self.proj is not None else x
        return self.af(x_p + self.f(x))


class PyclsStem(_Chain):
    """pycls/models/anynet.py ``SimpleStem`` (3x3/2), ``ResStem`` (7x7/2 + max pool) and
    ``ResStemCifar`` (3x3/1)."""

    def __init__(self, kind: str, w_out: int) -> None:
        super().__init__()
        k, s = {"simple": (3, 2), "res": (7, 2), "cifar": (3, 1)}[kind]
        self.conv, self.bn, self.af = _conv(3, w_out, k, s), nn.BatchNorm2d(w_out), nn.ReLU()
        if kind == "res":
            self.pool = nn.MaxPool2d(3, stride=2, padding=1)


class PyclsHead(nn.Module):
    """pycls/models/anynet.py ``AnyHead`` without its optional conv: pool, fc."""

    def __init__(self, w_in: int, num_classes: int) -> None:
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(w_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.avg_pool(x).flatten(1))


class PyclsAnyNet(_Chain):
    """pycls/models/anynet.py ``AnyNet``: stem, stages ``s1``… of blocks ``b1``…, head.
    ``stages``: (depth, width, stride, bot_mul, group_w) each."""

    def __init__(
        self,
        stem: str,
        stem_w: int,
        stages: list[tuple],
        se_r: float = 0.0,
        basic: bool = False,
        num_classes: int = 10,
    ) -> None:
        super().__init__()
        self.stem = PyclsStem(stem, stem_w)
        w_in = stem_w
        for i, (d, w, s, b, g) in enumerate(stages):
            stage = _Chain()
            for j in range(d):
                transform = PyclsBasic if basic else PyclsBottleneck
                block = PyclsResBlock(w_in, w, s if j == 0 else 1, transform, b, g, se_r)
                stage.add_module(f"b{j + 1}", block)
                w_in = w
            self.add_module(f"s{i + 1}", stage)
        self.head = PyclsHead(w_in, num_classes)


def _random(model: nn.Module) -> nn.Module:
    """PyTorch's default init (seeded by the test) with non-trivial batch-norm statistics."""
    return randomize_norm_stats(model).eval()


def test_pycls_regnety_loads_and_gives_pyclss_outputs(tmp_path: Path) -> None:
    torch.manual_seed(0)
    cfg = REGNET_PARAMS["regnety_200mf"].config()
    stages = [
        (s.depth, s.width, s.stride, 1 / s.bottleneck_ratio, s.group_width) for s in cfg.stages
    ]
    pycls = _random(PyclsAnyNet("simple", cfg.stem_width, stages, se_r=cfg.se_ratio))
    assert "s1.b1.f.se.f_ex.0.weight" in pycls.state_dict()  # pycls's names, as its source has
    path = tmp_path / "RegNetY-200MF.pyth"
    # a pycls checkpoint: the weights under "model_state", beside the optimizer's and the config
    torch.save({"epoch": 99, "model_state": pycls.state_dict(), "cfg": "MODEL: ..."}, path)
    ours = cnnzoo.create_model("regnety_200mf", weights=path)
    assert ours.num_classes == 10
    _outputs_equal(ours, pycls)


def test_pycls_cifar_resnet_loads_onto_shortcut_b(tmp_path: Path) -> None:
    torch.manual_seed(0)
    # pycls/models/resnet.py ResNet._construct_cifar: stem 16, stages 16-32-64 of basic blocks
    stages = [(3, 16, 1, None, None), (3, 32, 2, None, None), (3, 64, 2, None, None)]
    pycls = _random(PyclsAnyNet("cifar", 16, stages, basic=True))
    path = tmp_path / "R-20.safetensors"
    save_file(pycls.state_dict(), path)
    ours = cnnzoo.create_model("resnet20", shortcut="B", weights=path)
    _outputs_equal(ours, pycls)
    with pytest.raises(CheckpointError, match="shortcut='B'"):
        cnnzoo.create_model("resnet20", weights=path)  # option A has no projections


@pytest.mark.parametrize(
    ("name", "depths", "bot_mul", "groups"),
    [
        # configs/dds_baselines/resnext/X-50-32x4d_dds_8gpu.yaml, one block per stage
        ("resnext", (1, 1, 1, 1), 0.5, 32),
        # configs/dds_baselines/resnet/R-50-1x64d_dds_8gpu.yaml
        pytest.param("resnet50", (3, 4, 6, 3), 0.25, 1, marks=pytest.mark.slow),
    ],
)
def test_pycls_model_zoo_resnets_load_onto_resnet(
    tmp_path: Path, name: str, depths: tuple, bot_mul: float, groups: int
) -> None:
    # pycls's model-zoo ResNe(X)ts are AnyNets with the ResNet stem, the stride on the 3x3
    torch.manual_seed(0)
    stages = [
        (d, w, s, bot_mul, int(w * bot_mul) // groups)
        for d, w, s in zip(depths, (256, 512, 1024, 2048), (1, 2, 2, 2), strict=True)
    ]
    pycls = _random(PyclsAnyNet("res", 64, stages))
    path = tmp_path / f"{name}.pyth"
    torch.save({"model_state": pycls.state_dict()}, path)
    if name == "resnext":  # the generic ResNeXt builder (not a registered name)
        ours = resnext(layers=depths, groups=32, width_per_group=4, num_classes=10)
        assert load_weights(ours, path).layout == "pycls"
    else:
        ours = cnnzoo.create_model(name, weights=path)
    _outputs_equal(ours, pycls)


def test_pycls_layout_onto_a_model_it_does_not_map_to(tmp_path: Path) -> None:
    path = tmp_path / "regnet.pth"
    torch.save(PyclsAnyNet("simple", 8, [(1, 8, 2, 1.0, 8)]).state_dict(), path)
    with pytest.raises(CheckpointError, match=r"pycls's layout.*not onto densenet_d2l"):
        cnnzoo.create_model("densenet_d2l", weights=path)


# --------------------------------------------------------------------------- public CIFAR ResNets


class AkaBlock(nn.Module):
    """akamaster/pytorch_resnet_cifar10, resnet.py ``BasicBlock`` (its LambdaLayer inlined)."""

    def __init__(self, in_planes: int, planes: int, stride: int, option: str) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut: nn.Module = nn.Sequential()
        self.pad = None
        if stride != 1 or in_planes != planes:
            if option == "A":
                self.pad = planes // 4
            else:
                self.shortcut = nn.Sequential(
                    nn.Conv2d(in_planes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes)
                )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.pad is not None:
            out = out + F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad), "constant", 0)
        else:
            out = out + self.shortcut(x)
        return F.relu(out)


class AkaResNet(nn.Module):
    """akamaster/pytorch_resnet_cifar10, resnet.py ``ResNet``: conv1/bn1, layer1-3, linear."""

    def __init__(self, n: int, option: str = "A", num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        in_planes = 16
        for i, (planes, stride) in enumerate(((16, 1), (32, 2), (64, 2))):
            blocks = []
            for s in [stride] + [1] * (n - 1):
                blocks.append(AkaBlock(in_planes, planes, s, option))
                in_planes = planes
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.linear = nn.Linear(64, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        out = F.avg_pool2d(out, out.size()[3])
        return self.linear(out.view(out.size(0), -1))


@pytest.mark.parametrize(
    ("name", "n", "option"), [("resnet20", 3, "A"), ("resnet32", 5, "A"), ("resnet20", 3, "B")]
)
def test_public_cifar_resnets_load_and_give_their_outputs(
    tmp_path: Path, name: str, n: int, option: str
) -> None:
    torch.manual_seed(0)
    theirs = _random(AkaResNet(n, option))
    # as their trainer.py saves it: a DataParallel model's state dict, without batch counters
    # (their files predate them), beside the best accuracy, in a .th file
    state = {
        f"module.{k}": v
        for k, v in theirs.state_dict().items()
        if not k.endswith("num_batches_tracked")
    }
    path = tmp_path / f"{name}-{option}.th"
    torch.save({"best_prec1": 91.78, "state_dict": state}, path)
    ours = cnnzoo.create_model(name, shortcut=option, weights=path)
    _outputs_equal(ours, theirs)


def test_option_a_pads_half_the_new_channels_on_each_side() -> None:
    x = torch.randn(2, 16, 8, 8)
    y = ShortcutA(16, 2)(x)
    assert y.shape == (2, 32, 4, 4)
    assert not y[:, :8].any() and not y[:, 24:].any()
    assert torch.equal(y[:, 8:24], x[:, :, ::2, ::2])
    z = ShortcutA(3, 1)(x[:, :4])  # an odd number: the extra zero channel goes after
    assert z.shape[1] == 7 and not z[:, :1].any() and not z[:, 5:].any()
    assert torch.equal(z[:, 1:5], x[:, :4])


# --------------------------------------------------------------------------- timm


def _meta_state(shapes: dict[str, list[int]]) -> dict[str, torch.Tensor]:
    return {k: torch.empty(s, device="meta") for k, s in shapes.items()}


@pytest.mark.parametrize("timm_name", list(TIMM_NAMES))
def test_timm_key_names_and_shapes_convert_to_cnnzoos(timm_name: str) -> None:
    shapes = json.loads(FIXTURE.read_text())[timm_name]
    with torch.device("meta"):
        ours = cnnzoo.create_model(TIMM_NAMES[timm_name])
    converted, layout = detect_layout(_meta_state(shapes), ours)
    expected = {k: list(v.shape) for k, v in ours.state_dict().items()}
    assert {k: list(v.shape) for k, v in converted.items()} == expected
    assert layout == ("cnnzoo" if timm_name.startswith(("resne", "dense")) else "timm")


def test_timm_and_pycls_renaming_by_hand() -> None:
    """A few names renamed by hand from the three projects' sources (a second code path to
    the rules: same shapes could hide a swap of two layers)."""
    with torch.device("meta"):
        anynet, resnet = cnnzoo.create_model("regnety_200mf"), cnnzoo.create_model("resnet50")
    t = torch.empty(1, device="meta")
    timm = {
        "s1.b1.conv1.conv.weight": "trunk_output.block1.block1-0.f.a.0.weight",
        "s2.b3.se.fc2.bias": "trunk_output.block2.block2-2.f.se.fc2.bias",
        "s4.b1.conv3.bn.running_var": "trunk_output.block4.block4-0.f.c.1.running_var",
        "s1.b1.downsample.bn.weight": "trunk_output.block1.block1-0.proj.1.weight",
        "stem.bn.bias": "stem.1.bias",
        "head.fc.weight": "fc.weight",
    }
    pycls_anynet = {
        "s1.b1.bn.weight": "trunk_output.block1.block1-0.proj.1.weight",
        "s1.b1.proj.weight": "trunk_output.block1.block1-0.proj.0.weight",
        "s3.b2.f.se.f_ex.0.weight": "trunk_output.block3.block3-1.f.se.fc1.weight",
        "s2.b1.f.b_bn.running_mean": "trunk_output.block2.block2-0.f.b.1.running_mean",
        "s2.b1.f.c.weight": "trunk_output.block2.block2-0.f.c.0.weight",
        "stem.conv.weight": "stem.0.weight",
        "s1.b1.f.a.weight": "trunk_output.block1.block1-0.f.a.0.weight",
    }
    pycls_resnet = {
        "s2.b1.proj.weight": "layer2.0.downsample.0.weight",
        "s2.b1.bn.bias": "layer2.0.downsample.1.bias",
        "s3.b4.f.b.weight": "layer3.3.conv2.weight",
        "s1.b1.f.c_bn.weight": "layer1.0.bn3.weight",
        "stem.conv.weight": "conv1.weight",
        "stem.bn.weight": "bn1.weight",
        "s1.b1.f.a.weight": "layer1.0.conv1.weight",
        "head.fc.bias": "fc.bias",
    }
    for table, model in ((timm, anynet), (pycls_anynet, anynet), (pycls_resnet, resnet)):
        converted, _ = detect_layout(dict.fromkeys(table, t), model)
        assert list(converted) == list(table.values())


@pytest.mark.skipif(not HAS_TIMM, reason="timm is not installed (pip install timm)")
def test_the_timm_fixture_is_timms_current_layout() -> None:
    import timm

    fixture = json.loads(FIXTURE.read_text())
    for name in TIMM_NAMES:
        with torch.device("meta"):
            model = timm.create_model(name)
        assert {k: list(v.shape) for k, v in model.state_dict().items()} == fixture[name], name


TIMM_OUTPUTS = ["resnet18", "densenet121", "regnetx_002", "regnety_002", "regnetx_004_tv"]


@pytest.mark.skipif(not HAS_TIMM, reason="timm is not installed (pip install timm)")
@pytest.mark.parametrize(
    "timm_name",
    [
        *TIMM_OUTPUTS,
        pytest.param("vgg11_bn", marks=pytest.mark.slow),
    ],
)
def test_timm_files_load_and_give_timms_outputs(tmp_path: Path, timm_name: str) -> None:
    import timm

    torch.manual_seed(0)
    theirs = randomize_norm_stats(timm.create_model(timm_name, num_classes=7)).eval()
    path = tmp_path / f"{timm_name}.safetensors"
    save_file({k: v.contiguous() for k, v in theirs.state_dict().items()}, path)
    ours = cnnzoo.create_model(TIMM_NAMES[timm_name], weights=path)
    assert ours.num_classes == 7
    _outputs_equal(ours, theirs)
