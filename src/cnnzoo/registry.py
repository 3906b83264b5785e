"""Name-based model registry: ``register_model``, ``create_model``, ``list_models``.

The registry imports nothing of cnnzoo but :mod:`cnnzoo.errors` (and not torch): it knows only
the builders registered so far. The complete zoo is :mod:`cnnzoo.models`, whose import registers
every family and which re-exports these functions — use ``from cnnzoo.models import
create_model``, not this module, to build a model by name.

Every builder is a function taking keyword-only ``num_classes``, ``in_channels`` and its own
options. ``register_model`` records it with the family, the paper's year and the model's default
input size, so that the CLI can describe every network without building it for real.
"""

from __future__ import annotations

import difflib
import fnmatch
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cnnzoo.errors import ConfigError, UnknownNameError, UnknownOptionError

if TYPE_CHECKING:
    from torch import nn

__all__ = [
    "ModelInfo",
    "UnknownModelError",
    "create_model",
    "list_models",
    "model_info",
    "register_model",
]

_COMMON = ("num_classes", "in_channels")


class UnknownModelError(UnknownNameError):
    """Raised for a model name that is not registered."""


@dataclass(frozen=True)
class ModelInfo:
    """What the registry knows about one model name."""

    name: str
    family: str
    year: int
    paper: str
    builder: Callable[..., nn.Module] = field(repr=False)
    num_classes: int
    in_channels: int
    input_size: tuple[int, int, int]  # (C, H, W) the model is meant for
    options: dict[str, object]  # option name -> default, num_classes/in_channels excluded
    # a builder for variants of a family (the options describe the network), not a named
    # network of the zoo: `cnnzoo list` shows it apart, list_models() leaves it out
    generic: bool = False

    @property
    def summary(self) -> str:
        """First line of the builder's docstring."""
        doc = inspect.getdoc(self.builder) or ""
        return doc.splitlines()[0] if doc else ""


_REGISTRY: dict[str, ModelInfo] = {}


def register_model(
    *,
    family: str,
    year: int,
    paper: str,
    input_size: tuple[int, int] | int,
    name: str | None = None,
    generic: bool = False,
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator that registers a model builder under ``name`` (default: the function's name).

    ``input_size`` is the spatial size (H, W) the model is meant for; the number of channels comes
    from the builder's ``in_channels`` default. ``generic`` marks a builder of variants (``lenet``
    with a choice of activation, pooling, dropout, ...) rather than one network of the zoo.
    """
    hw = (input_size, input_size) if isinstance(input_size, int) else tuple(input_size)

    def decorator(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        model_name = name or fn.__name__
        if model_name in _REGISTRY:
            raise ValueError(f"model name {model_name!r} is registered twice")
        params = inspect.signature(fn).parameters
        for required in _COMMON:
            if required not in params or params[required].default is inspect.Parameter.empty:
                raise TypeError(
                    f"builder {fn.__qualname__} must take keyword {required!r} with a default"
                )
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            raise TypeError(
                f"builder {fn.__qualname__} must list its options explicitly, not take **kwargs"
            )
        options = {k: p.default for k, p in params.items() if k not in _COMMON}
        info = ModelInfo(
            name=model_name,
            family=family,
            year=year,
            paper=paper,
            builder=fn,
            num_classes=params["num_classes"].default,
            in_channels=params["in_channels"].default,
            input_size=(params["in_channels"].default, *hw),
            options=options,
            generic=generic,
        )
        _REGISTRY[model_name] = info
        return fn

    return decorator


def list_models(pattern: str = "*", *, generic: bool = False) -> list[str]:
    """Registered model names matching a shell-style wildcard (``"resnet*"``, ``"*_d2l"``):
    the zoo's networks, or with ``generic=True`` the generic builders of variants."""
    return sorted(
        n
        for n, info in _REGISTRY.items()
        if info.generic == generic and fnmatch.fnmatchcase(n, pattern)
    )


def model_info(name: str) -> ModelInfo:
    """The :class:`ModelInfo` of a registered model; a clear error for an unknown name."""
    try:
        return _REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=5, cutoff=0.5)
        if not close:  # fall back on a shared prefix, e.g. "resnet" -> resnet18 ...
            close = [n for n in sorted(_REGISTRY) if n.startswith(name[:4])][:5]
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise UnknownModelError(
            f"unknown model {name!r}.{hint} Run `cnnzoo list` to see them all."
        ) from None


def create_model(
    name: str,
    *,
    num_classes: int | None = None,
    in_channels: int | None = None,
    **options: object,
) -> nn.Module:
    """Build a registered model by name.

    ``num_classes`` and ``in_channels`` default to the model's own defaults (1000 and 3 for the
    ImageNet networks, 10 and 1 for the book's Fashion-MNIST variants). Any other keyword is a
    model option; an unknown one raises a ``TypeError`` that lists the valid options.
    """
    info = model_info(name)
    unknown = sorted(set(options) - set(info.options))
    if unknown:
        valid = ", ".join(f"{k}={v!r}" for k, v in info.options.items()) or "none"
        raise UnknownOptionError(
            f"{name} got unknown option(s) {', '.join(map(repr, unknown))}. "
            f"Valid options: {valid} (plus num_classes, in_channels)."
        )
    kwargs: dict[str, object] = dict(options)
    if num_classes is not None:
        if int(num_classes) < 1:
            raise ConfigError(f"num_classes must be a positive integer, got {num_classes!r}")
        kwargs["num_classes"] = int(num_classes)
    if in_channels is not None:
        if int(in_channels) < 1:
            raise ConfigError(f"in_channels must be a positive integer, got {in_channels!r}")
        kwargs["in_channels"] = int(in_channels)
    model = info.builder(**kwargs)
    model.model_name = name
    return model
