"""Recipes derive their settings from what the network is; inputs are sized for the network;
the health monitor tells a run that learns from one that diverged or sits at chance."""

from __future__ import annotations

import math

import pytest
import torch

import cnnzoo
from cnnzoo.models import create_model
from cnnzoo.train import explain_recipe, network_traits, recipe_config
from cnnzoo.train.health import HealthMonitor, chance_loss
from cnnzoo.train.recipes import auto_input_size


def test_traits_are_read_from_the_network() -> None:
    vgg, vgg_bn = network_traits("vgg16"), network_traits("vgg16_bn")
    assert not vgg.normalised and vgg_bn.normalised
    assert vgg.depth == vgg_bn.depth == 16
    assert vgg.stride == 32 and vgg.min_input_size == 32
    assert network_traits("lenet5").saturating  # sigmoids, no ReLU
    assert not network_traits("lenet5_relu").saturating
    # RegNetY's squeeze-excitation gates are sigmoids, but it is a ReLU network
    assert not network_traits("regnety_200mf").saturating
    assert network_traits("resnet20").stride == 4
    assert network_traits("alexnet_d2l").fixed_input_size == (224, 224)
    # a forward pass that ends in hidden fully connected layers without normalisation;
    # GoogLeNet's auxiliary heads (training losses only) and LeNet-BN's normalised ones do not
    assert vgg.mlp_head and vgg_bn.mlp_head and network_traits("alexnet").mlp_head
    for name in ("googlenet", "lenet5_bn", "resnet18", "nin", "densenet121"):
        assert not network_traits(name).mlp_head, name
    # options count: a LeNet built for 32x32 takes 32x32
    assert network_traits("lenet5", {"input_size": 32}).fixed_input_size == (32, 32)


def test_settings_follow_the_network_not_the_family_name() -> None:
    # same family, different networks: different settings
    plain, bn = recipe_config("fast", "vgg16"), recipe_config("fast", "vgg16_bn")
    assert plain.lr < bn.lr and plain.grad_clip and plain.warmup_epochs > 0
    assert plain.init == "kaiming" and bn.init is None  # He's init where nothing normalises
    # VGG-BN's classifier is un-normalised 4096-wide layers: warm-up and clipping for it (it
    # stayed at chance without them, issue 9); a normalised network without such a head: none
    assert bn.grad_clip == 2.0 and bn.warmup_epochs == 0.5 and bn.lr == 0.2
    r18 = recipe_config("fast", "resnet18")
    assert r18.grad_clip is None and r18.warmup_epochs == 0 and r18.lr == bn.lr
    sig, relu = recipe_config("fast", "lenet5"), recipe_config("fast", "lenet5_relu")
    assert sig.init == "xavier" and relu.init == "kaiming"
    assert relu.lr < sig.lr / 4  # the sigmoid rate made lenet5_relu diverge (issue 9)
    # small networks underfit: no augmentation; larger ones get it
    assert relu.crop_padding == 0 and not relu.hflip
    assert recipe_config("fast", "resnet20").crop_padding == 2
    # ResNet-20 keeps the settings its time-to-accuracy was measured with
    r20 = recipe_config("fast", "resnet20")
    assert (r20.lr, r20.batch_size, r20.epochs, r20.schedule) == (0.2, 256, 9, "onecycle")


def test_batch_size_scales_the_rate_but_an_explicit_rate_is_kept() -> None:
    base = recipe_config("fast", "resnet20")
    assert recipe_config("fast", "resnet20", batch_size=64).lr == pytest.approx(base.lr / 4)
    assert recipe_config("fast", "resnet20", batch_size=64, lr=0.3).lr == 0.3
    reasons = explain_recipe("fast", "resnet20", batch_size=64)
    assert any("scaled linearly" in r for r in reasons)


def test_d2l_uses_the_books_rate_for_its_networks_only() -> None:
    assert recipe_config("d2l", "lenet5").lr == 0.9
    assert recipe_config("d2l", "alexnet_d2l").lr == 0.01
    # lenet5_relu is not the book's network: not the sigmoid LeNet's 0.9
    relu = recipe_config("d2l", "lenet5_relu")
    assert relu.lr <= 0.05 and relu.schedule == "constant" and relu.momentum == 0
    assert recipe_config("d2l", "resnet50").lr > recipe_config("d2l", "vgg16").lr
    assert any("book's rate" in r for r in explain_recipe("d2l", "nin"))


@pytest.mark.parametrize(
    ("model", "size"),
    [("lenet5", 28), ("resnet20", 28), ("regnetx32_d2l", 28), ("resnet18", 32),
     ("densenet121", 32), ("vgg11", 32), ("alexnet", 64), ("nin", 80), ("alexnet_d2l", 224)],
)  # fmt: skip
def test_auto_input_size_by_hand(model: str, size: int) -> None:
    assert auto_input_size(network_traits(model), 28) == size


def test_auto_input_size_keeps_larger_data_and_every_model_takes_it() -> None:
    assert auto_input_size(network_traits("resnet18"), 64) == 64
    for name in cnnzoo.list_models():
        t = network_traits(name)
        size = auto_input_size(t, 28)
        if t.fixed_input_size:
            assert (size, size) == t.fixed_input_size
        else:  # test_zoo proves the minimum is taken; a larger size is taken too
            assert size >= max(28, t.min_input_size, t.stride)
            assert size == 28 or size % 16 == 0
    with torch.device("meta"):  # e.g. the two that need more than 32
        for name, size in (("alexnet", 64), ("nin", 80)):
            out = create_model(name, num_classes=10, in_channels=1)(
                torch.empty(2, 1, size, size, device="meta")
            )
            assert tuple(out.shape) == (2, 10), name


def test_chance_loss_is_the_label_entropy() -> None:
    assert chance_loss([5] * 10) == pytest.approx(math.log(10))
    p = [0.75, 0.25]
    assert chance_loss([75, 25]) == pytest.approx(-sum(q * math.log(q) for q in p))
    assert chance_loss([3, 0, 3]) == pytest.approx(math.log(2))


def test_health_monitor_blow_up_stall_and_end() -> None:
    chance = math.log(10)
    h = HealthMonitor(chance)
    for step, loss in enumerate([2.3, 1.2, 7.5, 3.0, 8.0, 7.0], start=1):
        assert h.add_window(step * 50, loss) is None  # spikes, not a blow-up
    assert "blew up to 7" in (h.add_window(350, 7.0) or "")  # three windows, 150 steps
    # a stretch of many short windows, under 100 steps: a spike on a small run
    h = HealthMonitor(chance)
    for step, loss in enumerate([1.5, 1.2] + [9.0] * 19, start=1):
        assert h.add_window(step * 5, loss) is None
    assert h.add_window(110, 9.0) is not None  # steps 10..110: 100 steps
    h = HealthMonitor(chance, advice=" Try X.")
    h.add_window(10, 9.0)  # a first window far above chance (He's init): nothing to compare
    h.add_window(20, 8.0)
    h.add_window(30, 9.0)
    assert h.diagnosis is None
    # stuck at chance: one epoch is tolerated, two stop the run
    h = HealthMonitor(chance, advice=" Try X.")
    h.add_window(10, 2.31)
    assert h.end_epoch(2.30, 1, 100) is None
    assert h.end_epoch(1.9, 2, 100) is None  # it started learning: the count restarts
    assert h.end_epoch(2.29, 3, 100) is None
    msg = h.end_epoch(2.31, 4, 100)
    assert msg and "chance" in msg and msg.endswith("Try X.")
    # two epochs of a few steps each are too short to stop for
    h = HealthMonitor(chance)
    h.add_window(10, 2.31)
    assert h.end_epoch(2.30, 1, 12) is None and h.end_epoch(2.30, 2, 12) is None
    # a loss far above chance that comes down (He's init) is learning, not stalled
    h = HealthMonitor(chance)
    h.add_window(10, 7.0)
    for epoch, loss in enumerate([4.0, 3.0, 2.6, 2.25], start=1):
        assert h.end_epoch(loss, epoch, 100) is None
    assert h.end_epoch(2.26, 5, 100) is None and h.end_epoch(2.25, 6, 100) is not None
    # the end of a run: judged by its last window, if the run was long enough to judge
    h = HealthMonitor(chance)
    h.add_window(100, 2.29)
    assert "did not learn" in (h.end_run() or "")
    h = HealthMonitor(chance)
    h.add_window(20, 2.30)
    assert h.end_run() is None  # 20 steps: too short to tell
    h = HealthMonitor(chance)
    h.add_window(100, 2.29 * 0.9)
    assert h.end_run() is None
    # a loss above chance with a training accuracy well above guessing: over-confident after
    # a spike, but learning
    h = HealthMonitor(chance, chance_acc=0.1)
    h.add_window(100, 2.5)
    assert h.end_run(acc=0.6) is None and h.end_run(acc=0.12) is not None
    h = HealthMonitor(chance, chance_acc=0.1)
    h.add_window(10, 2.4)
    assert h.end_epoch(2.4, 1, 500, acc=0.7) is None and h.end_epoch(2.4, 2, 500, 0.7) is None
    # state round trip
    h2 = HealthMonitor(chance)
    h2.load_state_dict(h.state_dict())
    assert h2.curve == h.curve and h2.diagnosis is None


def test_residual_networks_start_as_the_identity() -> None:
    # a residual network with the option gets it; one without (CIFAR ResNet-20) keeps its
    # settings; the user's own model option wins
    r18 = recipe_config("fast", "resnet18")
    assert r18.model_options == {"zero_init_residual": True}
    assert recipe_config("fast", "regnetx_400mf").model_options == {"zero_init_last_bn": True}
    assert recipe_config("fast", "resnet20").model_options == {}
    assert recipe_config("fast", "regnetx32_d2l").model_options == {}  # 8x: it does not spike
    assert recipe_config("fast", "vgg16_bn").model_options == {}  # not residual
    mine = recipe_config("fast", "resnet18", model_options={"zero_init_residual": False})
    assert mine.model_options == {"zero_init_residual": False}
    assert recipe_config("d2l", "resnet18").model_options == {}
    # and the option really zeroes the last batch norm of every residual branch
    model = create_model("resnet18", num_classes=10, in_channels=1, **r18.model_options)
    assert all(not b.bn2.weight.detach().any() for b in model.layer1)
