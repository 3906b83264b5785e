"""The generic builders (variants of a family described by options): each default or special
case equals the named network it stands for (same weights in, same logits out), and the new
shapes have the parameter counts their layers add up to by hand."""

from __future__ import annotations

import pytest
import torch

from _util import count_params
from cnnzoo import create_model, list_models
from cnnzoo.models import model_info
from cnnzoo.models.vgg import VGG_BLOCKS


def _same_net(generic: torch.nn.Module, named: torch.nn.Module, shape: tuple) -> None:
    """Same state-dict keys and shapes, and with the named network's weights the same logits."""
    a, b = generic.state_dict(), named.state_dict()
    assert {k: v.shape for k, v in a.items()} == {k: v.shape for k, v in b.items()}
    generic.load_state_dict(b)
    generic.eval()
    named.eval()
    x = torch.randn(*shape)
    torch.testing.assert_close(generic(x), named(x))


def test_generic_builders_are_listed_apart() -> None:
    generic = list_models(generic=True)
    assert {
        "lenet",
        "vgg",
        "nin_net",
        "inception_net",
        "densenet",
        "cifar_resnet",
        "resnext",
    } <= set(generic)
    assert not set(generic) & set(list_models())
    assert all(model_info(n).generic for n in generic)


@pytest.mark.parametrize(
    ("options", "named"),
    [({}, "lenet5"), ({"act": "relu", "pool": "max"}, "lenet5_relu"),
     ({"batch_norm": True, "padding": 0}, "lenet5_bn")],
)  # fmt: skip
def test_lenet_variants_equal_the_named_ones(options: dict, named: str) -> None:
    _same_net(create_model("lenet", **options), create_model(named), (2, 1, 28, 28))


def test_lenet_dropout_sits_after_the_hidden_layers() -> None:
    net = create_model("lenet", act="relu", dropout=0.5)
    kinds = [type(m).__name__ for m in net.classifier]
    assert kinds == ["Linear", "ReLU", "Dropout", "Linear", "ReLU", "Dropout", "Linear"]
    assert count_params(net) == count_params(create_model("lenet5"))
    with pytest.raises(ValueError, match="act must be one of"):
        create_model("lenet", act="gelu")


def test_vgg_generic_equals_vgg11_and_takes_wide_kernels() -> None:
    torch.manual_seed(0)
    _same_net(create_model("vgg", blocks=VGG_BLOCKS[11]), create_model("vgg11"), (1, 3, 64, 64))
    net = create_model(
        "vgg", blocks=[[1, 8, 5], [1, 16, 3]], num_classes=10, in_channels=1, hidden=32,
        pool_size=None, input_size=28,
    )  # fmt: skip
    # 5x5 conv 1->8, 3x3 conv 8->16, fc 16*7*7->32->32->10
    hand = (25 * 8 + 8) + (9 * 8 * 16 + 16) + (784 * 32 + 32) + (32 * 32 + 32) + (32 * 10 + 10)
    assert count_params(net) == hand
    assert net(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    with pytest.raises(ValueError, match="odd"):
        create_model("vgg", blocks=[[1, 8, 4]])


@pytest.mark.parametrize(("depth", "skip"), [(20, True), (56, False)])
def test_cifar_resnet_equals_the_named_ones(depth: int, skip: bool) -> None:
    named = f"{'resnet' if skip else 'plain'}{depth}"
    _same_net(create_model("cifar_resnet", depth=depth, skip=skip), create_model(named),
              (2, 3, 32, 32))  # fmt: skip


def test_resnext_generic_equals_resnext50_and_takes_other_shapes() -> None:
    with torch.device("meta"):  # the same parameters, shape by shape (resnext50_32x4d calls it)
        shapes = [{k: v.shape for k, v in create_model(n).state_dict().items()}
                  for n in ("resnext", "resnext50_32x4d")]  # fmt: skip
    assert shapes[0] == shapes[1]
    small = create_model("resnext", layers=(1, 1, 1, 1), groups=8, num_classes=10, in_channels=1)
    # one grouped bottleneck per stage: 8 groups of 4 channels at the first stage, doubling
    assert [b.conv2.groups for b in small.modules() if hasattr(b, "conv2")] == [8] * 4
    assert [b.conv2.in_channels for b in small.modules() if hasattr(b, "conv2")] == [
        32,
        64,
        128,
        256,
    ]
    assert small(torch.randn(2, 1, 32, 32)).shape == (2, 10)
    with pytest.raises(ValueError, match="4 positive block counts"):
        create_model("resnext", layers=(1, 1, 1))
    for bad in ({"layers": 3}, {"layers": "(1,1,1,1)"}, {"layers": (1, 1, 0, 1)},
                {"groups": "abc"}, {"width_per_group": 2.5}, {"groups": 0}):  # fmt: skip
        with pytest.raises(ValueError, match=r"resnext: .* must be"):
            create_model("resnext", **bad)


def test_densenet_generic() -> None:
    _same_net(
        create_model("densenet", growth_rate=32, block_config=(6, 12, 24, 16),
                     num_init_features=64, stem="imagenet", num_classes=1000),
        create_model("densenet121"), (1, 3, 64, 64),
    )  # fmt: skip
    small = create_model("densenet", in_channels=1)
    assert type(small.features.conv0).__name__ == "Conv2d" and small.features.conv0.stride == (1, 1)
    assert "pool0" not in dict(small.features.named_children())
    assert small(torch.randn(2, 1, 28, 28)).shape == (2, 10)


def _conv(c_in: int, c_out: int, k: int) -> int:
    return c_out * c_in * k * k + c_out


def test_nin_net_parameters_by_hand() -> None:
    stages = ((48, 5), (96, 3), (192, 3))
    body_plain = sum(_conv(ci, co, k) for (ci, (co, k)) in zip((1, 48, 96), stages, strict=True))
    one_by_ones = sum(2 * _conv(c, c, 1) for c, _ in stages)
    gap_head = _conv(192, 10, 3) + 2 * _conv(10, 10, 1)
    assert count_params(create_model("nin_net")) == body_plain + one_by_ones + gap_head
    # 28 -> pool 13 -> pool 6 -> pool 2: the fc head flattens 192 * 2 * 2
    fc_head = (768 * 512 + 512) + (512 * 512 + 512) + (512 * 10 + 10)
    fc = create_model("nin_net", mlpconv=False, head="fc")
    assert count_params(fc) == body_plain + fc_head
    # the class maps are the logits: no ReLU after the head's last layer
    assert type(create_model("nin_net").classifier[-1]).__name__ == "Conv2d"
    assert fc(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    with pytest.raises(ValueError, match="gap"):
        create_model("nin_net", head="mlp")


def test_inception_net_single_branch_by_hand() -> None:
    net = create_model("inception_net")
    assert net(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    one = create_model("inception_net", branches="3x3", width=0.5)
    # stem 1->64, then 3x3 convs to half of 128, 240, 256 channels, then fc
    hand = _conv(1, 64, 3) + _conv(64, 64, 3) + _conv(64, 120, 3) + _conv(120, 128, 3)
    assert count_params(one) == hand + (128 * 10 + 10)
    assert one(torch.randn(2, 1, 28, 28)).shape == (2, 10)


@pytest.mark.parametrize("name", ["nin", "nin_net"])
def test_nin_head_averages_its_class_maps(name: str) -> None:
    """NiN's head is global *average* pooling of the last block's class maps (Lin et al. 2014):
    the head equals the class maps' spatial mean, computed here by hand."""
    torch.manual_seed(0)
    generic = name in list_models(generic=True)
    model = create_model(name, num_classes=5, in_channels=1).eval()
    size = 28 if generic else 224
    with torch.no_grad():
        feats = model.forward_features(torch.randn(2, 1, size, size))
        maps = model.classifier(feats)
        assert maps.shape[-1] > 1, "the test needs class maps larger than 1x1"
        assert torch.allclose(model.forward_head(feats), maps.mean(dim=(2, 3)), atol=1e-6)
