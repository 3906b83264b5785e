"""Networks torchvision also has: state dicts interchange with ``strict=True``, parameter counts
are equal and the logits agree, in eval mode and in training mode.

GoogLeNet, DenseNet and RegNet have their own test files with the same checks.
"""

from __future__ import annotations

import pytest
import torch
import torchvision

import cnnzoo
from _util import count_params, max_rel_err, randomize_norm_stats

# name -> spatial input size for the comparison (small, above each net's minimum)
MODELS = {
    "alexnet": 64,
    **{f"vgg{d}{bn}": 32 for d in (11, 13, 16, 19) for bn in ("", "_bn")},
    **{f"resnet{d}": 32 for d in (18, 34, 50, 101, 152)},
    "resnext50_32x4d": 32,
    "resnext101_32x8d": 32,
    "resnext101_64x4d": 32,
}


def _pair(name: str):
    torch.manual_seed(0)
    theirs = getattr(torchvision.models, name)(num_classes=1000)
    randomize_norm_stats(theirs)
    with torch.device("meta"):
        ours = cnnzoo.create_model(name, num_classes=1000)
    state = {k: v.clone() for k, v in theirs.state_dict().items()}
    result = ours.load_state_dict(state, strict=True, assign=True)
    assert not result.missing_keys and not result.unexpected_keys
    return ours, theirs


#: deeper copies of a network compared here already (the same blocks, more of them): in the
#: slow suite (`make test-slow`), to keep `make test` within its time
DEEPER_COPIES = {f"vgg{d}{bn}" for d in (13, 16, 19) for bn in ("", "_bn")} | {
    "resnet101", "resnet152", "resnext101_32x8d", "resnext101_64x4d",
}  # fmt: skip


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in DEEPER_COPIES else n for n in MODELS]
)
def test_matches_torchvision(name: str) -> None:
    ours, theirs = _pair(name)
    assert count_params(ours) == count_params(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    size = MODELS[name]
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ours.eval(), theirs.eval()
        expected = theirs(x)
        assert expected.abs().max() > 0
        assert max_rel_err(ours(x), expected) < 1e-5
        # Training mode: batch statistics and dropout, with the same random stream.
        ours.train(), theirs.train()
        torch.manual_seed(7)
        expected = theirs(x)
        torch.manual_seed(7)
        actual = ours(x)
        assert max_rel_err(actual, expected) < 1e-5


def test_zero_init_residual_matches_torchvision() -> None:
    ours = cnnzoo.create_model("resnet50", zero_init_residual=True)
    theirs = torchvision.models.resnet50(zero_init_residual=True)
    zeros_ours = [k for k, v in ours.state_dict().items() if k.endswith("weight") and not v.any()]
    zeros_theirs = [
        k for k, v in theirs.state_dict().items() if k.endswith("weight") and not v.any()
    ]
    assert zeros_ours == zeros_theirs
    assert len(zeros_ours) == 16  # one bn3 per bottleneck: 3 + 4 + 6 + 3


def test_our_weights_load_into_torchvision() -> None:
    ours = cnnzoo.create_model("resnet18", num_classes=10)
    theirs = torchvision.models.resnet18(num_classes=10)
    theirs.load_state_dict(ours.state_dict(), strict=True)
    x = torch.randn(2, 3, 40, 40)
    ours.eval(), theirs.eval()
    with torch.no_grad():
        assert max_rel_err(ours(x), theirs(x)) < 1e-5
