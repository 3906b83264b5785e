"""Parameter counts against published numbers and hand computation."""

from __future__ import annotations

import pytest
import torch

import cnnzoo
from _util import count_params


def _params(name: str, **kwargs) -> int:
    with torch.device("meta"):
        return count_params(cnnzoo.create_model(name, **kwargs))


def test_lenet5_has_61706_parameters() -> None:
    # conv1 6*25+6, conv2 16*6*25+16, fc 400*120+120, 120*84+84, 84*10+10 (D2L §7.6)
    assert 6 * 25 + 6 + 16 * 6 * 25 + 16 + 400 * 120 + 120 + 120 * 84 + 84 + 84 * 10 + 10 == 61706
    assert _params("lenet5") == 61706
    assert _params("lenet5_relu") == 61706


def test_lenet5_bn_counts_the_books_network() -> None:
    convs = 6 * 25 + 6 + 16 * 6 * 25 + 16
    fcs = 256 * 120 + 120 + 120 * 84 + 84 + 84 * 10 + 10
    bns = 2 * (6 + 16 + 120 + 84)
    assert _params("lenet5_bn") == convs + fcs + bns


@pytest.mark.parametrize(
    ("name", "published"),
    # He et al. 2016, Table 6 (CIFAR-10): ResNet-20 0.27M, -32 0.46M, -44 0.66M, -56 0.85M,
    # -110 1.7M, all with option A shortcuts (no extra parameters).
    [
        ("resnet20", 0.27e6),
        ("resnet32", 0.46e6),
        ("resnet44", 0.66e6),
        ("resnet56", 0.85e6),
        ("resnet110", 1.7e6),
    ],
)
def test_cifar_resnets_match_he_et_al(name: str, published: float) -> None:
    n = _params(name)
    digits = 0.01e6 if published < 1e6 else 0.1e6
    assert abs(n - published) <= digits / 2, n
    assert _params(name.replace("resnet", "plain")) == n  # option A adds nothing


def test_option_b_adds_two_projections() -> None:
    extra = (16 * 32 + 2 * 32) + (32 * 64 + 2 * 64)  # 1x1 conv + BN at the two widenings
    assert _params("resnet20", shortcut="B") - _params("resnet20") == extra


def test_alexnet_paper_two_gpu_split_has_about_60m_parameters() -> None:
    # Krizhevsky et al.: "60 million parameters"; hand count of the grouped network.
    convs = [
        96 * 3 * 121 + 96,
        256 * 48 * 25 + 256,
        384 * 256 * 9 + 384,
        384 * 192 * 9 + 384,
        256 * 192 * 9 + 256,
    ]
    fcs = [9216 * 4096 + 4096, 4096 * 4096 + 4096, 4096 * 1000 + 1000]
    assert _params("alexnet_paper") == sum(convs) + sum(fcs)
    assert 60e6 < _params("alexnet_paper") < 61.5e6
    assert _params("alexnet_paper", groups=1) > _params("alexnet_paper")


def test_nin_has_no_fully_connected_layer_and_few_parameters() -> None:
    model = cnnzoo.create_model("nin")
    assert not any(isinstance(m, torch.nn.Linear) for m in model.modules())
    # NiN's point: far fewer parameters than AlexNet on the same input.
    assert _params("nin") * 20 < _params("alexnet_d2l")


def test_vgg_d2l_is_vgg11_with_a_quarter_of_the_channels() -> None:
    model = cnnzoo.create_model("vgg_d2l")
    convs = [m.out_channels for m in model.features if isinstance(m, torch.nn.Conv2d)]
    full = cnnzoo.create_model("vgg11")
    full_convs = [m.out_channels for m in full.features if isinstance(m, torch.nn.Conv2d)]
    assert convs == [c // 4 for c in full_convs]
    assert model.classifier[0].in_features == 128 * 7 * 7
