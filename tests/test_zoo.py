"""Every registered model: interface, forward and backward at its smallest input with 1 and 3
channels, and clear errors for inputs it cannot take."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import cnnzoo
from cnnzoo.models import ZooModel

ALL = cnnzoo.list_models()


def smallest_input(model: ZooModel) -> tuple[int, int]:
    if model.fixed_input_size is not None:
        return model.fixed_input_size
    return (model.min_input_size, model.min_input_size)


def test_the_zoo_is_complete() -> None:
    expected = {
        "lenet5", "lenet5_relu", "lenet5_bn",
        "alexnet", "alexnet_paper", "alexnet_d2l",
        "vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn",
        "vgg_d2l", "nin", "googlenet", "googlenet_d2l",
        "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnet18_d2l",
        "resnet20", "resnet32", "resnet44", "resnet56", "resnet110",
        "plain20", "plain32", "plain44", "plain56", "plain110",
        "resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d",
        "densenet121", "densenet161", "densenet169", "densenet201", "densenet_d2l",
        "regnetx_200mf", "regnetx_400mf", "regnetx_600mf", "regnetx_800mf",
        "regnety_200mf", "regnety_400mf", "regnety_600mf", "regnety_800mf",
        "regnet_x_400mf", "regnet_x_800mf", "regnet_y_400mf", "regnet_y_800mf",
        "regnetx32_d2l", "speednet",
    }  # fmt: skip
    assert expected <= set(ALL), sorted(expected - set(ALL))


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("in_channels", [1, 3])
def test_forward_backward_at_smallest_input(name: str, in_channels: int) -> None:
    torch.manual_seed(0)
    if in_channels != cnnzoo.model_info(name).in_channels:
        # the other stem: shapes only, on the meta device (the rest of the network, forward and
        # backward, is checked with the model's own number of channels)
        with torch.device("meta"):
            model = cnnzoo.create_model(name, num_classes=7, in_channels=in_channels)
            out = model(torch.empty(8, in_channels, *smallest_input(model)))
        assert out.shape == (8, 7)
        return
    model = cnnzoo.create_model(name, num_classes=7, in_channels=in_channels)
    assert isinstance(model, ZooModel)
    h, w = smallest_input(model)
    # A batch of 8: with 1x1 maps, batch norm over 2 values makes deep nets' gradients overflow.
    x = torch.randn(8, in_channels, h, w, requires_grad=True)
    model.train()
    out = model(x)
    assert out.shape == (8, 7)
    assert torch.isfinite(out).all()
    out.square().mean().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    missing = [n for n, p in model.named_parameters() if p.grad is None and "aux" not in n]
    assert not missing, missing
    # forward == forward_head(forward_features) in eval mode
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(model(x), model.forward_head(model.forward_features(x)))


@pytest.mark.parametrize("name", ALL)
def test_too_small_input_gives_a_clear_error_and_the_bound_is_tight(name: str) -> None:
    with torch.device("meta"):
        model = cnnzoo.create_model(name)
    c = model.in_channels
    if model.fixed_input_size is not None:
        h, w = model.fixed_input_size
        with pytest.raises(ValueError, match=rf"built for {h}x{w}"), torch.device("meta"):
            model(torch.empty(1, c, h + 4, w + 4))
        return
    m = model.min_input_size
    with torch.device("meta"):
        model.eval()
        out = model(torch.empty(2, c, m, m))  # the minimum itself works ...
        assert out.shape == (2, model.num_classes)
        if m == 1:
            return
        with pytest.raises(ValueError, match=rf"at least {m}x{m}"):
            model(torch.empty(2, c, m - 1, m + 5))  # ... one pixel less is refused clearly
        with pytest.raises(RuntimeError):  # ... and without our check it really fails
            model.forward_head(model.forward_features(torch.empty(2, c, m - 1, m - 1)))


def test_wrong_channels_and_rank_are_explained() -> None:
    model = cnnzoo.create_model("resnet18", in_channels=1)
    with pytest.raises(ValueError, match="in_channels=3"):
        model(torch.randn(1, 3, 32, 32))
    with pytest.raises(ValueError, match="unsqueeze"):
        model(torch.randn(1, 32, 32))


@pytest.mark.parametrize("name", ["lenet5", "alexnet", "vgg11", "nin", "resnet18", "resnet20"])
def test_reset_classifier(name: str) -> None:
    model = cnnzoo.create_model(name, in_channels=1)
    model.reset_classifier(5)
    model.eval()
    h, w = smallest_input(model)
    with torch.no_grad():
        out = model(
            torch.randn(
                1,
                1,
                max(h, 32) if model.fixed_input_size is None else h,
                max(w, 32) if model.fixed_input_size is None else w,
            )
        )
    assert out.shape == (1, 5)
    assert model.num_classes == 5


def test_every_model_cites_its_paper() -> None:
    for name in ALL:
        info = cnnzoo.model_info(name)
        assert info.paper and 1989 < info.year < 2030, name
        assert info.summary, f"{name} has no docstring"
        module_doc = __import__(info.builder.__module__, fromlist=["_"]).__doc__ or ""
        assert any(str(y) in module_doc for y in range(1995, 2025)), info.builder.__module__


def test_fixed_size_models_can_be_built_for_other_sizes() -> None:
    model = cnnzoo.create_model("lenet5", input_size=32)
    assert model.classifier[0].in_features == 16 * 6 * 6
    assert model(torch.randn(2, 1, 32, 32)).shape == (2, 10)
    with pytest.raises(ValueError, match="at least 8x8"):
        cnnzoo.create_model("lenet5", input_size=6)


def test_builders_are_nn_modules_with_default_classes() -> None:
    for name in ("lenet5", "resnet18", "vgg_d2l"):
        info = cnnzoo.model_info(name)
        with torch.device("meta"):
            model = cnnzoo.create_model(name)
        assert isinstance(model, nn.Module)
        assert model.num_classes == info.num_classes
        assert model.in_channels == info.input_size[0]


@pytest.mark.parametrize("ceil_mode", [False, True])
def test_conv_out_size_agrees_with_pytorch_pooling(ceil_mode: bool) -> None:
    from cnnzoo.models.base import conv_out_size

    for kernel in (1, 2, 3, 5):
        for stride in (1, 2, 3):
            for padding in range(kernel // 2 + 1):
                pool = nn.MaxPool2d(kernel, stride, padding, ceil_mode=ceil_mode)
                for size in range(1, 12):
                    try:
                        expected = pool(torch.zeros(1, 1, size, size)).shape[-1]
                    except RuntimeError:
                        expected = 0
                    got = conv_out_size(size, kernel, stride, padding, ceil_mode)
                    assert got == expected, (kernel, stride, padding, size)
