"""The AnyNet design-space explorer (Radosavovic et al., "Designing Network Design Spaces",
CVPR 2020): spaces, seeded sampling under a cost window, sweeps and their analysis. The same
machinery explores the options of other registered networks (SpeedNet's:
:mod:`cnnzoo.designspace.generic`)."""

from cnnzoo.designspace.generic import SpeedNetSampler  # registers SpeedNet's space
from cnnzoo.designspace.sampling import Candidate, SampleStats, parse_window, sample_configs
from cnnzoo.designspace.spaces import (
    SPACES,
    AnyNetSampler,
    DesignSpace,
    Draw,
    ModelSpec,
    Ranges,
    RegNetSampler,
    Sample,
    anynet_stages,
    get_space,
    list_spaces,
    ranges_for,
    register_space,
)

__all__ = [
    "SPACES",
    "AnyNetSampler",
    "Candidate",
    "DesignSpace",
    "Draw",
    "ModelSpec",
    "Ranges",
    "RegNetSampler",
    "Sample",
    "SampleStats",
    "SpeedNetSampler",
    "anynet_stages",
    "get_space",
    "list_spaces",
    "parse_window",
    "ranges_for",
    "register_space",
    "sample_configs",
]
