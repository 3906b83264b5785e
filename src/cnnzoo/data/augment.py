"""Batched, per-sample data augmentation on whole tensors.

An :class:`Augment` describes what to do; :meth:`Augment.sample` draws every random number a
batch needs from one ``torch.Generator`` (so the draws are a pure function of its seed), and
the ``apply_*`` methods carry them out on the whole batch at once: each image gets its own crop
offset, flip and erase rectangle, without a Python loop over images.

Order (that of the usual per-image pipelines): pad + random crop and horizontal flip on the
uint8 images (one gather), then, in the loader, conversion to float and normalisation, resize,
and last random erasing / cutout in output coordinates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from cnnzoo.errors import ConfigError

__all__ = ["Augment", "AugmentParams"]


def _pair(v: int | tuple[int, int] | None, what: str) -> tuple[int, int] | None:
    if v is None:
        return None
    if isinstance(v, int):
        hw = (v, v)
    else:
        t = tuple(v)
        if len(t) != 2:
            raise ConfigError(f"{what} must be a positive int or (height, width), got {v!r}")
        hw = (int(t[0]), int(t[1]))
    if min(hw) < 1:
        raise ConfigError(f"{what} must be a positive int or (height, width), got {v!r}")
    return hw


@dataclass(frozen=True)
class AugmentParams:
    """The random draws for one batch (CPU tensors, one row per image)."""

    top: torch.Tensor | None = None  # int64 [B]: crop offset in padded coordinates
    left: torch.Tensor | None = None  # int64 [B]
    flip: torch.Tensor | None = None  # bool [B]
    erase: torch.Tensor | None = None  # int64 [B, 4]: y0, x0, h, w (h == 0: not erased)
    cutout: torch.Tensor | None = None  # int64 [B, 4]: y0, x0, h, w (clipped square)

    @staticmethod
    def concat(parts: list[AugmentParams]) -> AugmentParams:
        """The draws of consecutive batches, end to end."""
        if len(parts) == 1:
            return parts[0]
        fields = ("top", "left", "flip", "erase", "cutout")
        return AugmentParams(
            **{
                f: None
                if getattr(parts[0], f) is None
                else torch.cat([getattr(p, f) for p in parts])
                for f in fields
            }
        )


@dataclass(frozen=True)
class Augment:
    """Per-sample augmentations, each optional.

    - ``crop``: output size of a random crop (int or (h, w)); with ``padding`` > 0 the images
      are first padded by that many pixels on every side, ``pad_mode`` ``"zero"`` or
      ``"reflect"``. ``crop=None`` with padding crops back to the input size (the classic
      "pad 4, crop 32" of CIFAR recipes).
    - ``hflip``: flip each image left-right with probability 1/2.
    - ``erase_prob``: random erasing (Zhong et al., 2017): with this probability per image, a
      rectangle of ``erase_scale`` of the area and aspect ratio in ``erase_ratio`` (log-uniform)
      is set to 0, the per-channel mean once normalised.
    - ``cutout``: side of a square, centred anywhere in the image and clipped at its border,
      set to 0 in every image (DeVries & Taylor, 2017). 0 turns it off.
    - ``resize``: batched bilinear resize (antialiased when shrinking) to this size, e.g. the
      book's 96 or 224; deterministic, so ``Augment(resize=224)`` suits evaluation too.
    """

    crop: int | tuple[int, int] | None = None
    padding: int = 0
    pad_mode: str = "zero"
    hflip: bool = False
    erase_prob: float = 0.0
    erase_scale: tuple[float, float] = (0.02, 0.33)
    erase_ratio: tuple[float, float] = (0.3, 3.3)
    cutout: int = 0
    resize: int | tuple[int, int] | None = None

    def __post_init__(self) -> None:
        _pair(self.crop, "crop")
        _pair(self.resize, "resize")
        if self.pad_mode not in ("zero", "reflect"):
            raise ConfigError(f"pad_mode must be 'zero' or 'reflect', got {self.pad_mode!r}")
        if int(self.padding) < 0:
            raise ConfigError(f"padding must be >= 0, got {self.padding}")
        if not 0.0 <= float(self.erase_prob) <= 1.0:
            raise ConfigError(f"erase_prob must be in [0, 1], got {self.erase_prob}")
        lo, hi = self.erase_scale
        if not 0 < lo <= hi <= 1:
            raise ConfigError(f"erase_scale must satisfy 0 < lo <= hi <= 1, got {self.erase_scale}")
        lo, hi = self.erase_ratio
        if not 0 < lo <= hi:
            raise ConfigError(f"erase_ratio must satisfy 0 < lo <= hi, got {self.erase_ratio}")
        if int(self.cutout) < 0:
            raise ConfigError(f"cutout must be >= 0, got {self.cutout}")

    # --------------------------------------------------------------------------- geometry

    def crop_size(self, in_hw: tuple[int, int]) -> tuple[int, int]:
        """Size after pad + crop (before resize)."""
        return _pair(self.crop, "crop") or (int(in_hw[0]), int(in_hw[1]))

    def output_size(self, in_hw: tuple[int, int]) -> tuple[int, int]:
        """Size of the images this augmentation produces from ``in_hw`` ones."""
        return _pair(self.resize, "resize") or self.crop_size(in_hw)

    def _crops(self, in_hw: tuple[int, int]) -> bool:
        return self.padding > 0 or self.crop_size(in_hw) != tuple(in_hw)

    @property
    def is_random(self) -> bool:
        """Whether anything is drawn at random (a resize alone is not)."""
        return bool(self.crop or self.padding or self.hflip or self.erase_prob or self.cutout)

    def check(self, in_hw: tuple[int, int]) -> None:
        """Refuse settings that cannot apply to ``in_hw`` images."""
        h, w = in_hw
        ch, cw = self.crop_size(in_hw)
        p = self.padding
        if ch > h + 2 * p or cw > w + 2 * p:
            raise ConfigError(
                f"crop {ch}x{cw} is larger than the {h}x{w} images padded by {p} "
                f"({h + 2 * p}x{w + 2 * p})"
            )
        if self.pad_mode == "reflect" and p >= min(h, w):
            raise ConfigError(f"reflect padding {p} must be smaller than the image ({h}x{w})")

    # ------------------------------------------------------------------------------ draws

    def sample(
        self, batch: int, in_hw: tuple[int, int], generator: torch.Generator
    ) -> AugmentParams:
        """Draw the parameters of one batch of ``batch`` images of size ``in_hw``, in a fixed
        order, from ``generator`` alone."""
        g = generator
        h, w = in_hw
        top = left = flip = erase = cut = None
        if self._crops(in_hw):
            ch, cw = self.crop_size(in_hw)
            top = torch.randint(0, h + 2 * self.padding - ch + 1, (batch,), generator=g)
            left = torch.randint(0, w + 2 * self.padding - cw + 1, (batch,), generator=g)
        if self.hflip:
            flip = torch.rand(batch, generator=g) < 0.5
        oh, ow = self.output_size(in_hw)
        if self.erase_prob > 0:
            apply = torch.rand(batch, generator=g) < self.erase_prob
            area = oh * ow * torch.empty(batch).uniform_(*self.erase_scale, generator=g)
            log_r = torch.empty(batch).uniform_(
                math.log(self.erase_ratio[0]), math.log(self.erase_ratio[1]), generator=g
            )
            ratio = log_r.exp()
            eh = (area * ratio).sqrt().round().long().clamp(1, oh)
            ew = (area / ratio).sqrt().round().long().clamp(1, ow)
            y0 = (torch.rand(batch, generator=g) * (oh - eh + 1)).long()
            x0 = (torch.rand(batch, generator=g) * (ow - ew + 1)).long()
            erase = torch.stack([y0, x0, eh * apply, ew * apply], dim=1)
        if self.cutout > 0:
            s = int(self.cutout)
            cy = torch.randint(0, oh, (batch,), generator=g)
            cx = torch.randint(0, ow, (batch,), generator=g)
            y0, y1 = (cy - s // 2).clamp(0, oh), (cy - s // 2 + s).clamp(0, oh)
            x0, x1 = (cx - s // 2).clamp(0, ow), (cx - s // 2 + s).clamp(0, ow)
            cut = torch.stack([y0, x0, y1 - y0, x1 - x0], dim=1)
        return AugmentParams(top=top, left=left, flip=flip, erase=erase, cutout=cut)

    # ------------------------------------------------------------------------------ apply

    def apply_geometry(self, x: torch.Tensor, params: AugmentParams) -> torch.Tensor:
        """Pad + crop and flip a batch ``[B, C, H, W]`` (any dtype) in one gather."""
        if params.top is None and params.flip is None:
            return x
        b, c, h, w = x.shape
        dev = x.device
        if params.top is not None:
            ch, cw = self.crop_size((h, w))
            rows = params.top.to(dev)[:, None] + torch.arange(ch, device=dev)  # padded coords
            cols = params.left.to(dev)[:, None] + torch.arange(cw, device=dev)
            p = self.padding
        else:
            ch, cw, p = h, w, 0
            rows = torch.arange(h, device=dev).expand(b, h)
            cols = torch.arange(w, device=dev).expand(b, w)
        if params.flip is not None:
            cols = torch.where(params.flip.to(dev)[:, None], cols.flip(1), cols)
        src = x
        if p and self.pad_mode == "zero":
            src = F.pad(x, (p, p, p, p))
        elif p:  # reflect about the edge pixels (no repeat), as F.pad(mode="reflect")
            rows, cols = _reflect(rows - p, h), _reflect(cols - p, w)
        sh, sw = src.shape[-2:]
        index = (rows[:, :, None] * sw + cols[:, None, :]).reshape(b, 1, ch * cw)
        out = torch.gather(src.reshape(b, c, sh * sw), 2, index.expand(b, c, ch * cw))
        return out.view(b, c, ch, cw)

    def apply_resize(self, x: torch.Tensor) -> torch.Tensor:
        """Bilinear resize of a float batch to ``resize`` (antialiased when shrinking)."""
        size = _pair(self.resize, "resize")
        if size is None or tuple(x.shape[-2:]) == size:
            return x
        shrink = size[0] < x.shape[-2] or size[1] < x.shape[-1]
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=shrink)

    @staticmethod
    def apply_erase(x: torch.Tensor, params: AugmentParams) -> torch.Tensor:
        """Zero the erase and cutout rectangles of a float batch, in place."""
        for boxes in (params.erase, params.cutout):
            if boxes is None:
                continue
            boxes = boxes.to(x.device)
            h, w = x.shape[-2:]
            ys = torch.arange(h, device=x.device)[None, :, None]
            xs = torch.arange(w, device=x.device)[None, None, :]
            y0, x0, bh, bw = (boxes[:, i, None, None] for i in range(4))
            mask = (ys >= y0) & (ys < y0 + bh) & (xs >= x0) & (xs < x0 + bw)
            x.masked_fill_(mask[:, None], 0.0)
        return x


def _reflect(i: torch.Tensor, n: int) -> torch.Tensor:
    """Map indices in [-(n-1), 2(n-1)] into [0, n) by reflection about the edges."""
    i = i.abs()
    return torch.where(i > n - 1, 2 * (n - 1) - i, i)
