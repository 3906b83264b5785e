"""Helpers shared by the tests."""

from __future__ import annotations

import torch
from torch import nn


def randomize_norm_stats(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every batch-norm layer non-trivial running stats and affine parameters, so that an
    eval-mode comparison exercises them (fresh BN layers are the identity)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
                if m.affine:
                    m.weight.copy_(torch.rand(n, generator=g) + 0.5)
                    m.bias.copy_(torch.randn(n, generator=g) * 0.1)
    return model


def max_rel_err(actual: torch.Tensor, expected: torch.Tensor) -> float:
    """Largest absolute difference relative to the largest magnitude of ``expected``."""
    scale = expected.abs().max().clamp_min(1e-12)
    return float((actual - expected).abs().max() / scale)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
