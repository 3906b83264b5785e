"""``BatchLoader``: batches cut, augmented and normalised as whole tensors from a data set held
in memory.

Each epoch is a seeded permutation of the data set; with ``world_size`` > 1 each rank takes its
own interleaved shard of it (as ``DistributedSampler`` does). The permutation is drawn from
``(seed, epoch)`` and each batch's augmentation from ``(seed, epoch, rank, batch index)``, each
with its own ``torch.Generator``: the batches are a pure function of those numbers, the same in
every process, and a resumed epoch yields exactly the batches it had left.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import torch

from cnnzoo.data.augment import Augment, AugmentParams
from cnnzoo.data.dataset import ImageDataset
from cnnzoo.data.seeding import generator
from cnnzoo.errors import ConfigError

__all__ = ["BatchLoader"]


class BatchLoader:
    """Iterate over ``(x, y)`` batches of an :class:`ImageDataset`.

    ``x`` is float (``dtype``, float32 by default) ``[B, C, H, W]``: normalised with the data
    set's mean/std when ``normalize`` is True (or with a given ``(mean, std)`` pair), else
    scaled to [0, 1]; augmented per sample by ``augment``; in ``channels_last`` memory format
    when asked. ``y`` is int64 ``[B]``. Batches are made on ``device`` (the data set is copied
    there once). ``drop_last`` drops the last incomplete batch (and, when sharded, the tail
    that does not divide among the ranks; otherwise that tail is padded with repeats so every
    rank gets the same number of batches, as ``DistributedSampler`` does).

    Epochs: ``set_epoch(e)`` selects the epoch; a completed iteration moves on to the next one
    by itself. ``state_dict()`` is ``{"epoch", "position"}`` (batches already given out this
    epoch); after ``load_state_dict`` the next iteration yields exactly the remaining batches.
    ``set_epoch`` with the current epoch keeps the position, so a resumed training loop may
    call it as usual.
    """

    def __init__(
        self,
        dataset: ImageDataset,
        batch_size: int,
        *,
        shuffle: bool = True,
        seed: int = 0,
        augment: Augment | None = None,
        normalize: bool | tuple[tuple[float, ...], tuple[float, ...]] = True,
        channels_last: bool = False,
        drop_last: bool = False,
        device: str | torch.device = "cpu",
        rank: int = 0,
        world_size: int = 1,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ConfigError(
                f"need 0 <= rank < world_size, got rank={rank}, world_size={world_size}"
            )
        if len(dataset) == 0:
            raise ConfigError(f"{dataset.name}: the data set is empty")
        if not dtype.is_floating_point:
            raise ConfigError(f"dtype must be a floating-point type, got {dtype}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.seed = int(seed)
        self.augment = augment
        self.channels_last = channels_last
        self.drop_last = drop_last
        self.device = torch.device(device)
        self.rank, self.world_size = int(rank), int(world_size)
        self.dtype = dtype
        c, h, w = dataset.image_shape
        if augment is not None:
            augment.check((h, w))
        if normalize is True:
            mean, std = dataset.mean, dataset.std
        elif normalize is False or normalize is None:
            mean, std = (0.0,) * c, (1.0,) * c
        else:
            mean, std = normalize
        if len(mean) != c or len(std) != c:
            raise ConfigError(f"normalize needs {c} means and stds, got {len(mean)}/{len(std)}")
        # x_normalised = (u8 / 255 - mean) / std = u8 * scale - shift
        std_t = torch.tensor(std, dtype=torch.float64)
        self._scale = (1.0 / (255.0 * std_t)).to(torch.float32).view(1, c, 1, 1).to(self.device)
        self._shift = (torch.tensor(mean, dtype=torch.float64) / std_t).to(torch.float32)
        self._shift = self._shift.view(1, c, 1, 1).to(self.device)
        self.group_bytes = 8 << 20  # see _group_size
        self._images: torch.Tensor | None = None
        self._labels: torch.Tensor | None = None
        n = len(dataset)
        ws = self.world_size
        self.num_samples = n // ws if drop_last else math.ceil(n / ws)  # per rank
        self.epoch = 0
        self.position = 0

    # ------------------------------------------------------------------------------ sizes

    def __len__(self) -> int:
        """Batches per epoch (on this rank)."""
        if self.drop_last:
            return self.num_samples // self.batch_size
        return math.ceil(self.num_samples / self.batch_size)

    @property
    def output_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of the batches."""
        c, h, w = self.dataset.image_shape
        if self.augment is None:
            return c, h, w
        return (c, *self.augment.output_size((h, w)))

    # ------------------------------------------------------------------------------ state

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose permutation and draws the next iteration uses. A new epoch
        starts at its first batch; the current one keeps its position (resume)."""
        epoch = int(epoch)
        if epoch != self.epoch:
            self.epoch, self.position = epoch, 0

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict[str, int]) -> None:
        epoch, position = int(state["epoch"]), int(state["position"])
        if not 0 <= position <= len(self):
            raise ConfigError(f"position {position} out of range for {len(self)} batches per epoch")
        self.epoch, self.position = epoch, position

    # -------------------------------------------------------------------------- batches

    def indices(self, epoch: int | None = None) -> torch.Tensor:
        """The sample indices this rank visits in ``epoch`` (default: the current one), in
        order."""
        epoch = self.epoch if epoch is None else int(epoch)
        n, ws = len(self.dataset), self.world_size
        if self.shuffle:
            order = torch.randperm(n, generator=generator(self.seed, "permutation", epoch))
        else:
            order = torch.arange(n)
        total = self.num_samples * ws
        if total > n:  # pad with repeats so that every rank gets num_samples
            order = torch.cat([order, order.repeat(math.ceil(total / n))[: total - n]])
        return order[:total][self.rank :: ws]

    def _on_device(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self._images is None:
            self._images = self.dataset.images.to(self.device)
            self._labels = self.dataset.labels.to(self.device)
        return self._images, self._labels  # type: ignore[return-value]

    def _group_size(self) -> int:
        """How many consecutive batches to build with one set of tensor operations: as many
        as fit in ``group_bytes`` of output. Fewer, larger operations cost less per image
        (and stall less on busy cores); the draws stay per batch, so grouping never changes
        the batches."""
        c, h, w = self.output_shape
        per_batch = self.batch_size * c * h * w * torch.finfo(self.dtype).bits // 8
        return max(1, self.group_bytes // max(per_batch, 1))

    def make_batches(
        self, index: torch.Tensor, batches: Sequence[tuple[int, int]]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Build consecutive batches of the current epoch at once: ``index`` holds their sample
        indices end to end, ``batches`` their (batch number, size). Returns the batches
        concatenated."""
        images, labels = self._on_device()
        index = index.to(self.device)
        x = images.index_select(0, index)
        y = labels.index_select(0, index)
        aug = self.augment
        params = None
        if aug is not None and aug.is_random:
            in_hw = (int(x.shape[-2]), int(x.shape[-1]))
            draws = [
                aug.sample(size, in_hw, generator(self.seed, "augment", self.epoch, self.rank, b))
                for b, size in batches
            ]
            params = AugmentParams.concat(draws)
            x = aug.apply_geometry(x, params)
        x = x.to(torch.float32).mul_(self._scale).sub_(self._shift)
        if aug is not None:
            x = aug.apply_resize(x)
            if params is not None:
                aug.apply_erase(x, params)
        x = x.to(self.dtype)  # computed in float32 (not every kernel has a bfloat16 version)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, y

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        nb = len(self)
        if self.position >= nb:  # the previous epoch was consumed without finishing the loop
            self.epoch, self.position = self.epoch + 1, 0
        order = self.indices()
        bs, group = self.batch_size, self._group_size()
        b = self.position
        while b < nb:
            ids = range(b, min(b + group, nb))
            sizes = [min(bs, len(order) - i * bs) for i in ids]
            x, y = self.make_batches(
                order[b * bs : b * bs + sum(sizes)], list(zip(ids, sizes, strict=True))
            )
            start = 0
            for i, size in zip(ids, sizes, strict=True):
                self.position = i + 1  # the batch in the caller's hands counts as given out
                yield x[start : start + size], y[start : start + size]
                start += size
            b = ids[-1] + 1
        self.epoch, self.position = self.epoch + 1, 0
