"""What a network costs: parameters, multiply-adds and activations.

Conventions (those of pycls and the RegNet paper, Radosavovic et al. 2020):

- **params**: every parameter of the network, batch-norm scales and shifts included.
- **flops**: multiply-adds (one multiply-add = one "flop") of the convolution and linear layers
  for one image, each bias counted as one more add per output element. Batch norm, activations,
  pooling and additions count nothing. RegNetX-400MF is "400MF" in this unit.
- **activations**: the summed output sizes of the convolution and linear layers for one image.
- **flops_no_bias**: ``flops`` without the bias adds — torchvision's ``_ops`` convention. The
  ``_ops`` in each torchvision weights enum's ``meta`` is ``round(flops_no_bias / 1e9, 3)``
  (its counter sees the matrix products, not the bias adds). The two differ only for networks
  whose convolutions carry biases at full resolution: AlexNet 0.7142 vs 0.7147 G, VGG-16
  15.470 vs 15.484 G.

Two ways to get them, which the tests check agree exactly, and both against published numbers:

- **analytic**, for AnyNet/RegNet (:mod:`cnnzoo.cost.analytic`): the sum of the per-block costs
  that live beside the blocks (``cost`` in :mod:`cnnzoo.blocks` and on
  :class:`~cnnzoo.models.anynet.AnyNet`), from an
  :class:`~cnnzoo.models.anynet_config.AnyNetConfig` alone, in plain Python integers.
- **measured**, for every network (:mod:`cnnzoo.cost.measure`): one forward pass on the meta
  device with hooks on every leaf module; :mod:`cnnzoo.cost.summary` breaks it down by layer
  and stage and formats it.

:func:`complexity` (also ``cnnzoo.complexity``) picks the analytic path where it exists.

pycls itself adds a conv's bias as ``w_out`` flops (once per channel, not per output element).
Within AnyNet only squeeze-excitation convolutions have biases and they run at 1×1, so that
shortcut and the per-element count here give the same number.
"""

from cnnzoo.cost.analytic import Complexity, anynet_complexity
from cnnzoo.cost.measure import LayerCost, complexity
from cnnzoo.cost.summary import ModelSummary, StageCost, format_summary, summary

__all__ = [
    "Complexity",
    "LayerCost",
    "ModelSummary",
    "StageCost",
    "anynet_complexity",
    "complexity",
    "format_summary",
    "summary",
]
