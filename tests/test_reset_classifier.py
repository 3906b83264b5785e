"""``reset_classifier`` on every model: the requested number of outputs, the other weights kept,
the new head initialised as the model initialises a new network (and as torchvision does)."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from cnnzoo.models import ZooModel, create_model, list_models

#: deeper copies of a network checked here already (the same layers and head, more blocks):
#: in the slow suite (`make test-slow`), to keep `make test` within its time
DEEPER_COPIES = {f"vgg{d}{bn}" for d in (13, 16, 19) for bn in ("", "_bn")}
ALL = [
    pytest.param(n, marks=pytest.mark.slow) if n in DEEPER_COPIES else n
    for n in list_models() + list_models(generic=True)
]

#: torchvision's networks whose fresh head ours must match in distribution after a reset
TORCHVISION = ("alexnet", "vgg11", "resnet18", "densenet121", "googlenet")


def _head(model: ZooModel) -> dict[str, nn.Module]:
    """The layers ``reset_classifier`` replaces, by their name in the model."""
    names = {id(m): n for n, m in model.named_modules()}
    heads = {}
    for path in model.classifier_layers:
        module: nn.Module | None = model
        for part in path.split("."):
            if module is None:
                break
            is_index = isinstance(module, nn.Sequential) and part.lstrip("-").isdigit()
            module = module[int(part)] if is_index else getattr(module, part)
        if module is not None:
            heads[names[id(module)]] = module
    return heads


def _assert_same_init(new: torch.Tensor, ref: torch.Tensor, what: str) -> None:
    """``new`` is a fresh draw from the distribution ``ref`` was drawn from."""
    assert new.shape == ref.shape, what
    if not ref.is_floating_point() or float(ref.std()) == 0.0:  # constants: zeros, ones, counts
        assert torch.equal(new, ref), what
        return
    assert not torch.equal(new, ref), f"{what}: not re-initialised"
    low, high = (0.75, 1.33) if ref.numel() >= 400 else (0.5, 2.0)
    assert low < float(new.std() / ref.std()) < high, what
    assert abs(float(new.mean() - ref.mean())) < float(ref.std()), what


@pytest.mark.parametrize("name", ALL)
def test_reset_classifier(name: str) -> None:
    torch.manual_seed(0)
    model = create_model(name, num_classes=20, in_channels=1)
    head = _head(model)
    assert head, f"{name} declares no classifier layer"
    reference = {  # the model's own initialisation of a 20-class head
        f"{prefix}.{k}": v.detach().clone()
        for prefix, layer in head.items()
        for k, v in layer.state_dict().items()
    }
    before = model.state_dict(keep_vars=True)
    versions = {k: v._version for k, v in before.items()}

    model.reset_classifier(20)
    after = model.state_dict(keep_vars=True)
    assert list(after) == list(before)
    replaced = sorted(k for k in after if after[k] is not before[k])
    assert replaced == sorted(reference), "only the classifier layers are replaced"
    untouched = [k for k in after if k not in reference]
    assert all(after[k]._version == versions[k] for k in untouched), "other weights are kept"
    for k in replaced:
        _assert_same_init(after[k].detach(), reference[k], f"{name} {k}")
    assert all(_head(model)[p] is not layer for p, layer in head.items())

    model.reset_classifier(3)
    assert model.num_classes == 3
    h, w = model.fixed_input_size or (model.min_input_size,) * 2
    model.eval()
    with torch.no_grad():
        assert model(torch.randn(2, 1, h, w)).shape == (2, 3)


@pytest.mark.parametrize("name", TORCHVISION)
def test_the_new_head_is_initialised_as_torchvision_initialises_its_own(name: str) -> None:
    torch.manual_seed(0)
    extra = {"init_weights": True} if name == "googlenet" else {}  # its default warns
    theirs = getattr(torchvision.models, name)(num_classes=20, **extra)
    with torch.device("meta"):
        ours = create_model(name)
    ours.to_empty(device="cpu")
    ours.reset_classifier(20)
    state = ours.state_dict()
    head_keys = [f"{p}.{k}" for p, layer in _head(ours).items() for k in layer.state_dict()]
    assert head_keys
    for k in head_keys:
        _assert_same_init(state[k], theirs.state_dict()[k], f"{name} {k}")


def test_reset_classifier_refuses_a_bad_number_of_classes() -> None:
    model = create_model("lenet5")
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="num_classes"):
            model.reset_classifier(bad)
    assert model.num_classes == 10
