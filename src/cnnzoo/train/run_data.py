"""The data of a training run: its splits and subsets, the input size the network needs, and
the loaders (one normalisation everywhere: the training split's statistics)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from cnnzoo.errors import ConfigError, DataError
from cnnzoo.train.config import TrainConfig
from cnnzoo.train.evaluation import fixed_subset

__all__ = ["RunData", "prepare_data", "train_resize"]


@dataclass
class RunData:
    config: TrainConfig  # the run's config, with ``resize`` set when the network needs one
    train_loader: object  # a BatchLoader over the training images
    eval_loaders: dict  # "val" (when one is held out) and "test": BatchLoaders
    train_size: int  # images trained on (after any subset)
    class_counts: list[int]  # of the images trained on
    classes: list[str]
    mean: tuple[float, ...]  # the training split's channel statistics
    std: tuple[float, ...]
    input_size: tuple[int, int, int]  # what the network takes: (C, H, W)
    input_note: str  # why the images are resized, when the trainer chose to ("" otherwise)

    def checkpoint_meta(self) -> dict:
        """What a checkpoint's metadata tells ``predict`` and ``eval``: the network, and the
        input it takes (classes, normalisation, size)."""
        cfg = self.config
        return {
            "model": cfg.model,
            "model_options": cfg.model_options,
            "num_classes": len(self.classes),
            "in_channels": self.input_size[0],
            "input_size": list(self.input_size),
            "classes": self.classes,
            "mean": list(self.mean),
            "std": list(self.std),
            "data": cfg.data,
            "resize": cfg.resize,
        }


def prepare_data(
    cfg: TrainConfig, device: torch.device, channels_last: bool, rank: int = 0, world_size: int = 1
) -> RunData:
    """Load the splits ``cfg`` names and build the training and evaluation loaders. With
    ``world_size`` ranks, the training loader gives this rank its share of each global batch
    of ``cfg.batch_size`` (the ranks' batches of a step together are the one-process batch);
    the evaluation loaders give every image (rank 0 evaluates alone)."""
    from cnnzoo.data import Augment, BatchLoader
    from cnnzoo.train.distributed import per_rank_batch

    rank_batch = per_rank_batch(cfg.batch_size, world_size)

    train_full, train_ds, val_ds, test = _load_splits(cfg)
    c, h, w = train_full.images.shape[1:]
    _check_splits_match(cfg, train_full, test)
    cfg, input_note = _with_input_size(cfg, h, w)
    _check_progressive(cfg, h, w)
    augment = Augment(
        crop=None,  # with padding: crop back to the input size, before any resize
        padding=cfg.crop_padding,
        pad_mode=cfg.pad_mode,
        hflip=cfg.hflip,
        erase_prob=cfg.erase_prob,
        resize=cfg.resize,
    )
    # one normalisation everywhere: the training split's statistics (also what the
    # checkpoint's metadata gives `predict`), never a test folder's own
    common = {
        "device": device,
        "channels_last": channels_last,
        "normalize": (train_full.mean, train_full.std),
    }
    train_loader = BatchLoader(
        train_ds, batch_size=rank_batch, shuffle=True, seed=cfg.seed, augment=augment,
        drop_last=len(train_ds) >= cfg.batch_size, rank=rank, world_size=world_size, **common,
    )  # fmt: skip
    plain = Augment(resize=cfg.resize)
    eval_loaders = {
        name: BatchLoader(
            ds,
            batch_size=cfg.eval_batch_size,
            shuffle=False,
            seed=cfg.seed,
            augment=plain,
            drop_last=False,
            **common,
        )
        for name, ds in (("val", val_ds), ("test", test))
        if ds is not None
    }
    return RunData(
        config=cfg,
        train_loader=train_loader,
        eval_loaders=eval_loaders,
        train_size=len(train_ds),
        class_counts=train_ds.class_counts(),
        classes=list(train_full.classes),
        mean=train_full.mean,
        std=train_full.std,
        input_size=(c, cfg.resize or h, cfg.resize or w),
        input_note=input_note,
    )


def _load_splits(cfg: TrainConfig):
    """The whole training split, the part of it trained on, the validation split held out of
    it (None without ``val_size``) and the test split."""
    from cnnzoo.data import load_dataset, train_val_split

    train_full = load_dataset(cfg.data, split="train", data_dir=cfg.data_dir)
    test = load_dataset(cfg.data, split="test", data_dir=cfg.data_dir)
    if cfg.val_size:
        n_val = cfg.val_size if cfg.val_size >= 1 else round(cfg.val_size * len(train_full))
        train_ds, val_ds = train_val_split(train_full, val_size=int(n_val), seed=cfg.seed)
    else:
        train_ds, val_ds = train_full, None
    if cfg.train_subset is not None and cfg.train_subset < len(train_ds):
        g = torch.Generator().manual_seed(cfg.seed + 1)
        idx = torch.randperm(len(train_ds), generator=g)[: cfg.train_subset]
        train_ds = train_ds.subset(idx)
    if cfg.test_subset is not None and cfg.test_subset < len(test):
        test = fixed_subset(test, cfg.test_subset)
    return train_full, train_ds, val_ds, test


def _with_input_size(cfg: TrainConfig, h: int, w: int) -> tuple[TrainConfig, str]:
    """Without ``resize``: the input the network needs (its fixed size, or at least its
    minimum size and its total downsampling; see ``auto_input_size``) set as ``resize`` when it
    is not the data's, and why."""
    if cfg.resize is not None:
        return cfg, ""
    from cnnzoo.train.recipes import auto_input_size, network_traits

    traits = network_traits(cfg.model, cfg.model_options)
    size = auto_input_size(traits, min(h, w))
    if size == h and size == w:
        return cfg, ""
    why = (
        "it takes exactly that size"
        if traits.fixed_input_size
        else f"it needs at least {traits.smallest_input}"
    )
    return cfg.replace(resize=size), f", resized automatically from {h}x{w}: {why}"


def train_resize(cfg: TrainConfig, epoch: int, full: int) -> int | None:
    """The size (square) the training images of ``epoch`` (0-based) are resized to under
    progressive resizing: ``progressive_size`` at the first epoch, growing linearly towards
    ``full`` (the size trained at otherwise) until epoch ``progressive_epochs``; from then on
    ``cfg.resize`` (None: the data's own size)."""
    start, span = cfg.progressive_size, cfg.progressive_epochs
    if start is None or epoch >= span:
        return cfg.resize
    return round(start + (full - start) * epoch / span)


def _check_progressive(cfg: TrainConfig, h: int, w: int) -> None:
    """Refuse a progressive starting size the network cannot take, or that is not smaller
    than the size it trains at."""
    if cfg.progressive_size is None:
        return
    from cnnzoo.train.recipes import network_traits

    traits = network_traits(cfg.model, cfg.model_options)
    off = (
        "drop --progressive-size and --progressive-epochs (where the recipe sets them, "
        "--progressive-epochs 0 turns them off)"
    )
    if traits.fixed_input_size is not None:
        h_fixed, w_fixed = traits.fixed_input_size
        raise ConfigError(
            f"{cfg.model} takes images of exactly {h_fixed}x{w_fixed}: it cannot train on "
            f"smaller ones; {off}"
        )
    full = cfg.resize if cfg.resize is not None else min(h, w)
    need = traits.smallest_input
    if not need <= cfg.progressive_size < full:
        raise ConfigError(
            f"--progressive-size {cfg.progressive_size} must be at least {need} (the smallest "
            f"image {cfg.model} takes) and below {full} (the size it trains at otherwise), "
            f"or {off}"
        )


def _check_splits_match(cfg: TrainConfig, train_ds, test_ds) -> None:
    """Refuse, before the first step, a test split the network could not take after training
    on the training split (another number of channels; another size with nothing resizing)."""
    c, h, w = train_ds.images.shape[1:]
    tc, th, tw = test_ds.images.shape[1:]
    if tc != c:
        raise DataError(
            f"{cfg.data}: the training images have {c} channel(s) but the test images have {tc} "
            "(e.g. one colour or RGBA image among grayscale ones): make them all grayscale or "
            "all colour"
        )
    if cfg.resize is None and (th, tw) != (h, w):
        raise DataError(
            f"{cfg.data}: the training images are {h}x{w} but the test images {th}x{tw}: "
            "resize them alike (--resize N)"
        )
