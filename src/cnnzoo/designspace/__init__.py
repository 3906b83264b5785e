"""The AnyNet design-space explorer (Radosavovic et al., "Designing Network Design Spaces",
CVPR 2020): spaces, seeded sampling under a cost window, sweeps and their analysis."""

from cnnzoo.designspace.sampling import Candidate, SampleStats, parse_window, sample_configs
from cnnzoo.designspace.spaces import (
    SPACES,
    AnyNetSampler,
    DesignSpace,
    Draw,
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
    "Ranges",
    "RegNetSampler",
    "Sample",
    "SampleStats",
    "anynet_stages",
    "get_space",
    "list_spaces",
    "parse_window",
    "ranges_for",
    "register_space",
    "sample_configs",
]
