"""GoogLeNet: torchvision compatibility (weights, logits, auxiliary heads), the book's variant,
and the input-size bound."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from _util import count_params, max_rel_err, randomize_norm_stats
from cnnzoo import create_model, model_info
from cnnzoo.models.googlenet import GoogLeNet, googlenet, googlenet_d2l


@pytest.fixture(scope="module")
def tv_googlenet() -> nn.Module:
    torch.manual_seed(0)
    tv = torchvision.models.googlenet(weights=None, aux_logits=True, init_weights=False)
    return randomize_norm_stats(tv)


def _loaded(tv: nn.Module, **options: object) -> GoogLeNet:
    model = googlenet(init_weights=False, **options)
    model.load_state_dict(tv.state_dict(), strict=True)
    return model


def test_torchvision_state_dict_interchanges(tv_googlenet: nn.Module) -> None:
    ours = googlenet()
    ours.load_state_dict(tv_googlenet.state_dict(), strict=True)
    tv_googlenet_copy = torchvision.models.googlenet(weights=None, init_weights=False)
    tv_googlenet_copy.load_state_dict(ours.state_dict(), strict=True)
    assert count_params(ours) == count_params(tv_googlenet) == 13_004_888


def test_param_count_without_aux_matches_torchvision() -> None:
    tv = torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=False)
    ours = googlenet(aux_logits=False, init_weights=False)
    assert ours.aux1 is None and ours.aux2 is None
    assert set(ours.state_dict()) == set(tv.state_dict())
    assert count_params(ours) == count_params(tv) == 6_624_904  # torchvision's documented count


@pytest.mark.parametrize("transform_input", [False, True])
def test_eval_logits_match_torchvision(tv_googlenet: nn.Module, transform_input: bool) -> None:
    ours = _loaded(tv_googlenet, transform_input=transform_input).eval()
    x = torch.randn(2, 3, 64, 64)
    try:
        tv_googlenet.transform_input = transform_input
        with torch.no_grad():
            expected = tv_googlenet.eval()(x)
            got = ours(x)
            logits, aux1, aux2 = ours.forward_aux(x)
    finally:
        tv_googlenet.transform_input = False
    assert got.shape == (2, 1000)
    assert max_rel_err(got, expected) < 1e-5
    assert torch.equal(logits, got)
    assert aux1 is None and aux2 is None


def test_train_mode_aux_outputs_match_torchvision(tv_googlenet: nn.Module) -> None:
    ours = _loaded(tv_googlenet).train()
    tv_googlenet.train()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.manual_seed(123)
        expected = tv_googlenet(x)
        torch.manual_seed(123)
        logits, aux1, aux2 = ours.forward_aux(x)
        torch.manual_seed(7)
        other_aux1 = ours.forward_aux(x)[1]
    tv_googlenet.eval()
    assert isinstance(expected, torchvision.models.GoogLeNetOutputs)
    assert aux1 is not None and aux2 is not None
    assert max_rel_err(logits, expected.logits) < 1e-5
    assert max_rel_err(aux1, expected.aux_logits1) < 1e-5
    assert max_rel_err(aux2, expected.aux_logits2) < 1e-5
    assert not torch.allclose(other_aux1, aux1)  # dropout is active: another seed differs


def test_forward_returns_plain_logits_in_train_mode() -> None:
    model = googlenet(init_weights=False).train()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 32, 32))
    assert isinstance(out, torch.Tensor) and out.shape == (2, 1000)
    no_aux = googlenet(aux_logits=False, init_weights=False).train()
    with torch.no_grad():
        logits, aux1, aux2 = no_aux.forward_aux(torch.randn(2, 3, 32, 32))
    assert logits.shape == (2, 1000) and aux1 is None and aux2 is None


def test_other_channel_counts_and_transform_input_check() -> None:
    model = create_model("googlenet", in_channels=1, num_classes=7, init_weights=False).eval()
    assert model(torch.randn(1, 1, 32, 32)).shape == (1, 7)
    with pytest.raises(ValueError, match="transform_input"):
        googlenet(in_channels=1, transform_input=True)


def test_reset_classifier_resets_aux_heads_too() -> None:
    model = googlenet(init_weights=False).train()
    model.reset_classifier(5)
    with torch.no_grad():
        logits, aux1, aux2 = model.forward_aux(torch.randn(2, 3, 32, 32))
    assert logits.shape == aux1.shape == aux2.shape == (2, 5)
    assert model.num_classes == 5


def test_init_weights_follows_torchvision() -> None:
    torch.manual_seed(0)
    model = googlenet()
    w = model.inception4a.branch2[1].conv.weight  # 180k values, normal with std 0.01
    assert 0.0095 < float(w.detach().std()) < 0.0105
    assert float(model.inception4a.branch2[1].bn.weight.detach().min()) == 1.0
    default = googlenet(init_weights=False).inception4a.branch2[1].conv.weight
    assert float(default.detach().std()) > 0.015  # PyTorch's kaiming-uniform default is wider


def test_registry_info() -> None:
    assert model_info("googlenet").input_size == (3, 224, 224)
    assert model_info("googlenet").year == 2014
    info = model_info("googlenet_d2l")
    assert info.input_size == (1, 96, 96) and info.num_classes == 10
    assert info.options == {}


# --------------------------------------------------------------------------- the book's network


class _BookInception(nn.Module):
    """D2L §8.4's Inception block, written out independently of cnnzoo."""

    def __init__(self, c_in: int, c1: int, c2: tuple, c3: tuple, c4: int) -> None:
        super().__init__()
        self.b1_1 = nn.Conv2d(c_in, c1, kernel_size=1)
        self.b2_1 = nn.Conv2d(c_in, c2[0], kernel_size=1)
        self.b2_2 = nn.Conv2d(c2[0], c2[1], kernel_size=3, padding=1)
        self.b3_1 = nn.Conv2d(c_in, c3[0], kernel_size=1)
        self.b3_2 = nn.Conv2d(c3[0], c3[1], kernel_size=5, padding=2)
        self.b4_1 = nn.MaxPool2d(kernel_size=3, stride=1, padding=1)
        self.b4_2 = nn.Conv2d(c_in, c4, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = F.relu(self.b1_1(x))
        b2 = F.relu(self.b2_2(F.relu(self.b2_1(x))))
        b3 = F.relu(self.b3_2(F.relu(self.b3_1(x))))
        b4 = F.relu(self.b4_2(self.b4_1(x)))
        return torch.cat((b1, b2, b3, b4), dim=1)


def _book_googlenet(num_classes: int = 10) -> nn.Sequential:
    inc = _BookInception
    pool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
    b1 = nn.Sequential(nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3), nn.ReLU(), pool)
    b2 = nn.Sequential(
        nn.Conv2d(64, 64, kernel_size=1),
        nn.ReLU(),
        nn.Conv2d(64, 192, kernel_size=3, padding=1),
        nn.ReLU(),
        pool,
    )
    b3 = nn.Sequential(
        inc(192, 64, (96, 128), (16, 32), 32), inc(256, 128, (128, 192), (32, 96), 64), pool
    )
    b4 = nn.Sequential(
        inc(480, 192, (96, 208), (16, 48), 64),
        inc(512, 160, (112, 224), (24, 64), 64),
        inc(512, 128, (128, 256), (24, 64), 64),
        inc(512, 112, (144, 288), (32, 64), 64),
        inc(528, 256, (160, 320), (32, 128), 128),
        pool,
    )
    b5 = nn.Sequential(
        inc(832, 256, (160, 320), (32, 128), 128),
        inc(832, 384, (192, 384), (48, 128), 128),
        nn.AdaptiveAvgPool2d((1, 1)),
        nn.Flatten(),
    )
    return nn.Sequential(b1, b2, b3, b4, b5, nn.Linear(1024, num_classes))


def test_d2l_variant_matches_the_book() -> None:
    torch.manual_seed(0)
    ours, book = googlenet_d2l().eval(), _book_googlenet().eval()
    assert count_params(ours) == count_params(book) == 5_977_530
    ours_params, book_params = list(ours.parameters()), list(book.parameters())
    assert [p.shape for p in ours_params] == [p.shape for p in book_params]
    with torch.no_grad():
        for p, q in zip(ours_params, book_params, strict=True):
            p.copy_(q)
        x = torch.randn(2, 1, 96, 96)
        out, expected = ours(x), book(x)
    assert out.shape == (2, 10)
    assert max_rel_err(out, expected) < 1e-5


# --------------------------------------------------------------------------- input-size bound


# The bound is tight for every model: tests/test_zoo.py checks min - 1 fails on meta.


def test_min_input_size_matches_torchvision_metadata() -> None:
    meta = torchvision.models.GoogLeNet_Weights.IMAGENET1K_V1.meta
    assert googlenet(init_weights=False).min_input_size == meta["min_size"][0] == 15
