"""DenseNet: torchvision compatibility, memory-efficient checkpointing, the book's variant and
the input-size bound."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from _util import count_params, max_rel_err, randomize_norm_stats
from cnnzoo import create_model, model_info
from cnnzoo.models.densenet import DenseNet, densenet_d2l

TORCHVISION_NAMES = ["densenet121", "densenet161", "densenet169", "densenet201"]


def _pair(name: str, **options: object) -> tuple[DenseNet, nn.Module]:
    """Our model with the weights of a torchvision model (random norm stats)."""
    torch.manual_seed(0)
    tv = randomize_norm_stats(getattr(torchvision.models, name)(weights=None, **options))
    ours = create_model(name, **options)
    ours.load_state_dict(tv.state_dict(), strict=True)
    return ours, tv


@pytest.mark.parametrize("name", TORCHVISION_NAMES)
def test_matches_torchvision(name: str) -> None:
    ours, tv = _pair(name)
    assert list(ours.state_dict()) == list(tv.state_dict())
    tv.load_state_dict(ours.state_dict(), strict=True)
    assert count_params(ours) == count_params(tv)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        got, expected = ours.eval()(x), tv.eval()(x)
        assert got.shape == (2, 1000)
        assert max_rel_err(got, expected) < 1e-5
        # Training mode (batch statistics) is deterministic with drop_rate 0.
        got, expected = ours.train()(x), tv.train()(x)
        assert max_rel_err(got, expected) < 1e-5


def test_documented_parameter_counts() -> None:
    counts = {n: count_params(create_model(n)) for n in TORCHVISION_NAMES}
    assert counts == {  # torchvision's DenseNet*_Weights.meta["num_params"]
        "densenet121": 7_978_856,
        "densenet161": 28_681_000,
        "densenet169": 14_149_480,
        "densenet201": 20_013_928,
    }


def test_dropout_draws_like_torchvision() -> None:
    ours, tv = _pair("densenet121", drop_rate=0.2)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.manual_seed(5)
        expected = tv.train()(x)
        torch.manual_seed(5)
        got = ours.train()(x)
        torch.manual_seed(6)
        other = ours(x)
    assert max_rel_err(got, expected) < 1e-5
    assert not torch.allclose(got, other)


def test_memory_efficient_gives_same_outputs_and_gradients() -> None:
    torch.manual_seed(0)
    plain = create_model("densenet121", memory_efficient=False)
    efficient = create_model("densenet121", memory_efficient=True)
    efficient.load_state_dict(plain.state_dict(), strict=True)
    x = torch.randn(2, 3, 32, 32)
    grads, outs = [], []
    for model in (plain, efficient):
        xi = x.clone().requires_grad_(True)
        out = model.train()(xi)
        out.square().sum().backward()
        outs.append(out.detach())
        grads.append((xi.grad, model.features.conv0.weight.grad))
    assert max_rel_err(outs[1], outs[0]) < 1e-5
    assert max_rel_err(grads[1][0], grads[0][0]) < 1e-4
    assert max_rel_err(grads[1][1], grads[0][1]) < 1e-4


def test_other_channel_counts_and_reset_classifier() -> None:
    model = create_model("densenet121", in_channels=1, num_classes=4).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 1, 32, 32)).shape == (1, 4)
        model.reset_classifier(9)
        assert model(torch.randn(1, 1, 32, 32)).shape == (1, 9)
    assert model.num_classes == 9


def test_features_and_head_split() -> None:
    model = create_model("densenet121").eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        feats = model.forward_features(x)
        assert feats.shape == (1, 1024, 2, 2)
        assert float(feats.min()) >= 0.0  # the final ReLU belongs to the features
        assert torch.equal(model.forward_head(feats), model(x))


def test_registry_info() -> None:
    info = model_info("densenet121")
    assert info.input_size == (3, 224, 224) and info.year == 2017 and info.family == "densenet"
    assert info.options == {"memory_efficient": False, "drop_rate": 0.0}
    assert model_info("densenet_d2l").input_size == (1, 96, 96)


# --------------------------------------------------------------------------- the book's network


def _book_densenet() -> nn.Sequential:
    """D2L §8.7's DenseNet, written out independently of cnnzoo."""

    def conv_block(c_in: int, c_out: int) -> nn.Sequential:
        return nn.Sequential(
            nn.BatchNorm2d(c_in), nn.ReLU(), nn.Conv2d(c_in, c_out, kernel_size=3, padding=1)
        )

    class DenseBlock(nn.Module):
        def __init__(self, num_convs: int, c_in: int, growth: int) -> None:
            super().__init__()
            self.net = nn.Sequential(
                *[conv_block(c_in + i * growth, growth) for i in range(num_convs)]
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            for blk in self.net:
                x = torch.cat((x, blk(x)), dim=1)
            return x

    def transition_block(c_in: int, c_out: int) -> nn.Sequential:
        return nn.Sequential(
            nn.BatchNorm2d(c_in),
            nn.ReLU(),
            nn.Conv2d(c_in, c_out, kernel_size=1),
            nn.AvgPool2d(kernel_size=2, stride=2),
        )

    b1 = nn.Sequential(
        nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3),
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
    )
    channels, growth, blks = 64, 32, []
    for i in range(4):
        blks.append(DenseBlock(4, channels, growth))
        channels += 4 * growth
        if i != 3:
            blks.append(transition_block(channels, channels // 2))
            channels //= 2
    return nn.Sequential(
        b1,
        *blks,
        nn.BatchNorm2d(channels),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d((1, 1)),
        nn.Flatten(),
        nn.Linear(channels, 10),
    )


def test_d2l_variant_matches_the_book() -> None:
    torch.manual_seed(0)
    ours, book = densenet_d2l().eval(), randomize_norm_stats(_book_densenet()).eval()
    assert count_params(ours) == count_params(book) == 758_226
    ours_sd, book_sd = ours.state_dict(), book.state_dict()
    assert [v.shape for v in ours_sd.values()] == [v.shape for v in book_sd.values()]
    ours.load_state_dict(dict(zip(ours_sd, book_sd.values(), strict=True)), strict=True)
    x = torch.randn(2, 1, 96, 96)
    with torch.no_grad():
        out, expected = ours(x), book(x)
    assert out.shape == (2, 10)
    assert max_rel_err(out, expected) < 1e-5


# --------------------------------------------------------------------------- input-size bound


# The bound is tight for every model: tests/test_zoo.py checks min - 1 fails on meta.


def test_min_input_size_matches_torchvision_metadata() -> None:
    meta = torchvision.models.DenseNet121_Weights.IMAGENET1K_V1.meta
    assert create_model("densenet121").min_input_size == meta["min_size"][0] == 29
