"""Design spaces of other registered networks: a sampler draws a network's options
(:class:`~cnnzoo.designspace.spaces.ModelSpec`) instead of an AnyNet config, and the sweep
trains ``create_model(spec.model, **spec.options)`` with the same short recipe.

The cost of a draw is measured, not computed from a formula: the network is built on the meta
device and its layers counted (:func:`cnnzoo.complexity`), once per distinct spec (cached),
about 50 ms each for SpeedNet — far slower than the AnyNet spaces' arithmetic, so sampling
gives up sooner (:func:`~cnnzoo.designspace.sampling.sample_configs`); fast enough for sweeps
of tens to hundreds of shapes.

- **SpeedNet** (:mod:`cnnzoo.models.speednet`): per stage i a width w_i (log-uniform in
  [16, 256] by default, a multiple of 8, non-decreasing across stages as AnyNetX_D's) and a
  number of 3×3 convolutions d_i (log-uniform in [1, 4]), and a stem of 0, s/4, s/2 or s
  channels (s = ``Ranges.stem_width``, 32 by default). The ranges are narrower than AnyNet's
  (``--range`` widens them): at 28×28 a stage of 16 plain convolutions is neither fast nor
  trainable in a short budget. The hand-found SpeedNet (stem 16, widths 32-64-128,
  convolutions 1-2-2) is one point of it, and the search of benchmarks/speednet_search.sh
  found ``speednet``'s default shape in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from cnnzoo.cost.analytic import Complexity
from cnnzoo.designspace.spaces import Draw, ModelSpec, Ranges, Sample, register_space

__all__ = ["SpeedNetSampler", "spec_complexity"]


@lru_cache(maxsize=1 << 14)
def spec_complexity(spec: ModelSpec, input_size: tuple[int, ...], num_classes: int) -> Complexity:
    """The cost of ``spec``'s network for one image of ``input_size`` (C, H, W), measured on the
    meta device; an impossible spec raises the model's ConfigError (or ValueError)."""
    from cnnzoo.cost.measure import complexity

    return complexity(
        spec.model, tuple(input_size), method="measured", num_classes=num_classes, **spec.kwargs
    )


@dataclass(frozen=True)
class SpeedNetSampler:
    """SpeedNet's shapes: sorted widths, per-stage convolution counts and a stem width."""

    def degrees_of_freedom(self, num_stages: int) -> int:
        """w_i and d_i per stage, and the stem."""
        return 2 * num_stages + 1

    def __call__(self, draw: Draw, r: Ranges) -> Sample:
        n = r.num_stages
        widths = sorted(draw.log_uniform(r.width[0], r.width[1], 8) for _ in range(n))
        convs = [draw.log_uniform(r.depth[0], r.depth[1], 1) for _ in range(n)]
        s = r.stem_width
        stem = draw.choice(sorted({0, s // 4, s // 2, s}))
        params = {f"w{i}": w for i, w in enumerate(widths, start=1)}
        params |= {f"d{i}": d for i, d in enumerate(convs, start=1)}
        params |= {"stem": stem, "depth": sum(convs) + (stem > 0)}
        return Sample(ModelSpec.of("speednet", widths=widths, convs=convs, stem=stem), params)


register_space(
    "speednet",
    "SpeedNet: per-stage widths (non-decreasing) and 3x3 convolution counts, and a stem",
    SpeedNetSampler(),
    kind="generic",
    ranges={"depth": (1, 4), "width": (16, 256)},
)
