"""BatchLoader and Augment: determinism (also across processes), per-sample augmentation checked
against a per-image reference, exact resume mid-epoch, DDP-style sharding, normalisation,
layout and resizing; and train_val_split."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnzoo.data import Augment, BatchLoader, DataError, ImageDataset, train_val_split
from cnnzoo.data.seeding import generator


def make_ds(
    n: int = 100, c: int = 1, h: int = 12, w: int = 12, k: int = 5, seed: int = 0
) -> ImageDataset:
    g = torch.Generator().manual_seed(seed)
    return ImageDataset(
        images=torch.randint(0, 256, (n, c, h, w), generator=g, dtype=torch.uint8),
        labels=torch.arange(n) % k,
        classes=[f"c{i}" for i in range(k)],
        mean=(0.5,) * c,
        std=(0.25,) * c,
        name="synthetic",
    )


def batches(loader: BatchLoader) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(x.clone(), y.clone()) for x, y in loader]


def digest(loader: BatchLoader, epochs: int = 2) -> str:
    h = hashlib.sha256()
    for e in range(epochs):
        loader.set_epoch(e)
        for x, y in loader:
            h.update(x.numpy().tobytes())
            h.update(y.numpy().tobytes())
    return h.hexdigest()


FULL = Augment(crop=10, padding=2, pad_mode="reflect", hflip=True, erase_prob=0.5, cutout=3)


# ------------------------------------------------------------------------------ determinism


def test_same_seed_same_batches_other_seed_other_batches() -> None:
    ds = make_ds()
    a = digest(BatchLoader(ds, 16, seed=3, augment=FULL))
    assert a == digest(BatchLoader(ds, 16, seed=3, augment=FULL))
    assert a != digest(BatchLoader(ds, 16, seed=4, augment=FULL))
    loader = BatchLoader(ds, 16, seed=3, augment=FULL)
    e0, e1 = batches(loader), batches(loader)  # a finished epoch moves on by itself
    assert loader.epoch == 2 and not torch.equal(e0[0][1], e1[0][1])


def test_same_batches_in_another_process() -> None:
    code = textwrap.dedent(
        """
        import sys
        sys.path.insert(0, sys.argv[1])
        import torch
        torch.set_num_threads(1)
        from test_data_loader import FULL, BatchLoader, digest, make_ds
        print(digest(BatchLoader(make_ds(), 16, seed=3, augment=FULL)))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(__import__("pathlib").Path(__file__).parent)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert out == digest(BatchLoader(make_ds(), 16, seed=3, augment=FULL))


def test_grouping_never_changes_the_batches() -> None:
    ds = make_ds(n=90)
    one = BatchLoader(ds, 8, seed=1, augment=FULL)
    one.group_bytes = 1  # one batch at a time
    many = BatchLoader(ds, 8, seed=1, augment=FULL)
    assert many._group_size() > 1
    for (x1, y1), (x2, y2) in zip(batches(one), batches(many), strict=True):
        assert torch.equal(x1, x2) and torch.equal(y1, y2)


# ------------------------------------------------------------------ augmentation correctness


def reference(img: torch.Tensor, aug: Augment, top: int, left: int, flip: bool) -> torch.Tensor:
    """One image, the obvious way: pad, slice, flip."""
    p = aug.padding
    h, w = img.shape[-2:]
    ch, cw = aug.crop_size((h, w))
    mode = "reflect" if aug.pad_mode == "reflect" else "constant"
    x = F.pad(img[None].float(), (p, p, p, p), mode=mode)[0] if p else img.float()
    x = x[:, top : top + ch, left : left + cw]
    return x.flip(-1) if flip else x


@settings(max_examples=25, deadline=None)
@given(
    h=st.integers(3, 9),
    w=st.integers(3, 9),
    c=st.integers(1, 3),
    pad=st.integers(0, 2),
    shrink=st.integers(0, 2),
    mode=st.sampled_from(["zero", "reflect"]),
    hflip=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_crop_and_flip_match_a_per_image_reference(h, w, c, pad, shrink, mode, hflip, seed) -> None:
    crop = (max(1, h - shrink), max(1, w - shrink))
    aug = Augment(crop=crop, padding=pad, pad_mode=mode, hflip=hflip)
    if mode == "reflect" and pad >= min(h, w):
        with pytest.raises(ValueError, match="reflect padding"):
            aug.check((h, w))
        return
    x = torch.randint(0, 256, (7, c, h, w), dtype=torch.uint8, generator=generator(seed))
    params = aug.sample(7, (h, w), generator(seed, 1))
    out = aug.apply_geometry(x, params)
    assert out.dtype == torch.uint8 and out.shape == (7, c, *crop)
    for i in range(7):
        top = int(params.top[i]) if params.top is not None else 0
        left = int(params.left[i]) if params.left is not None else 0
        flip = bool(params.flip[i]) if params.flip is not None else False
        assert torch.equal(out[i].float(), reference(x[i], aug, top, left, flip))


def test_each_image_gets_its_own_crop_and_flip() -> None:
    one = torch.arange(144, dtype=torch.uint8).reshape(1, 1, 12, 12)  # no symmetry
    ds = ImageDataset(
        one.repeat(64, 1, 1, 1), torch.zeros(64, dtype=torch.long), ["x"], (0.5,), (0.25,)
    )
    loader = BatchLoader(ds, 64, augment=Augment(crop=12, padding=3, hflip=True), normalize=False)
    x, _ = next(iter(loader))
    distinct = {tuple(img.flatten().tolist()) for img in x}
    assert len(distinct) > 20  # 49 offsets x 2 flips, drawn per image
    flipped = sum(bool(torch.equal(img[0, 3:9, 3:9], img[0, 3:9, 3:9].flip(-1))) for img in x)
    assert flipped == 0  # sanity: the image has no mirror symmetry


def test_the_loader_output_equals_the_reference_pipeline() -> None:
    ds = make_ds(n=40, c=3)
    aug = Augment(crop=10, padding=2, pad_mode="zero", hflip=True, resize=16, erase_prob=0.5)
    loader = BatchLoader(ds, 16, seed=7, augment=aug, shuffle=True, drop_last=False)
    order = loader.indices(0)
    mean = torch.tensor(ds.mean).view(3, 1, 1)
    std = torch.tensor(ds.std).view(3, 1, 1)
    for b, (x, y) in enumerate(loader):
        idx = order[b * 16 : (b + 1) * 16]
        params = aug.sample(len(idx), (12, 12), generator(7, "augment", 0, 0, b))
        for i, j in enumerate(idx.tolist()):
            ref = reference(
                ds.images[j], aug, int(params.top[i]), int(params.left[i]), bool(params.flip[i])
            )
            ref = (ref / 255 - mean) / std
            ref = F.interpolate(ref[None], size=(16, 16), mode="bilinear", align_corners=False)[0]
            y0, x0, eh, ew = params.erase[i].tolist()
            ref[:, y0 : y0 + eh, x0 : x0 + ew] = 0
            torch.testing.assert_close(x[i], ref, atol=1e-5, rtol=1e-5)
            assert y[i] == ds.labels[j]


def test_random_erasing_and_cutout() -> None:
    ds = make_ds(n=400, h=16, w=16)
    ds.images.fill_(200)  # (200/255 - 0.5)/0.25 > 0 everywhere: erased pixels are exactly 0
    x, _ = next(iter(BatchLoader(ds, 400, augment=Augment(erase_prob=0.5))))
    erased = (x == 0).flatten(1).any(1)
    assert 140 < int(erased.sum()) < 260
    area = (x == 0).flatten(1).float().mean(1)[erased]
    assert area.min() >= 0.005 and area.max() <= 0.45
    x, _ = next(iter(BatchLoader(ds, 400, augment=Augment(cutout=6))))
    zeros = (x == 0).flatten(1).sum(1)
    assert zeros.max() == 36 and zeros.min() >= 9  # clipped at the border down to 3x3
    for img in x[:20, 0]:  # each erased region is one axis-aligned rectangle
        rows, cols = (img == 0).nonzero(as_tuple=True)
        assert len(rows) == (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)


def test_normalise_layout_and_resize() -> None:
    ds = make_ds(n=64, c=3, h=8, w=8)
    x, y = next(iter(BatchLoader(ds, 64, normalize=False, shuffle=False)))
    assert x.dtype == torch.float32 and y.dtype == torch.int64
    torch.testing.assert_close(x, ds.images.float() / 255)
    x, _ = next(iter(BatchLoader(ds, 64, shuffle=False)))
    torch.testing.assert_close(x, (ds.images.float() / 255 - 0.5) / 0.25)
    loader = BatchLoader(ds, 32, channels_last=True, augment=Augment(resize=(20, 24)))
    x, _ = next(iter(loader))
    assert x.shape == (32, 3, 20, 24) and loader.output_shape == (3, 20, 24)
    assert x.is_contiguous(memory_format=torch.channels_last)
    x, _ = next(iter(BatchLoader(ds, 8, augment=Augment(resize=4), dtype=torch.bfloat16)))
    assert x.shape == (8, 3, 4, 4) and x.dtype == torch.bfloat16


# ---------------------------------------------------------------------- epochs and resume


def test_len_and_drop_last() -> None:
    ds = make_ds(n=100)
    assert len(BatchLoader(ds, 32)) == 4 and len(BatchLoader(ds, 32, drop_last=True)) == 3
    sizes = [len(y) for _, y in BatchLoader(ds, 32)]
    assert sizes == [32, 32, 32, 4]
    assert [len(y) for _, y in BatchLoader(ds, 32, drop_last=True)] == [32, 32, 32]
    ys = torch.cat([y for _, y in BatchLoader(ds, 32, shuffle=False)])
    assert torch.equal(ys, ds.labels)


def test_resume_mid_epoch_gives_exactly_the_remaining_batches() -> None:
    ds = make_ds(n=100)
    ref = BatchLoader(ds, 8, seed=5, augment=FULL)
    ref.set_epoch(2)
    full = batches(ref)
    loader = BatchLoader(ds, 8, seed=5, augment=FULL)
    loader.set_epoch(2)
    for i, _ in enumerate(loader):
        if i == 4:
            break
    state = loader.state_dict()
    assert state == {"epoch": 2, "position": 5}
    fresh = BatchLoader(ds, 8, seed=5, augment=FULL)
    fresh.load_state_dict(state)
    fresh.set_epoch(2)  # a resumed training loop calls this too: it keeps the position
    rest = batches(fresh)
    assert len(rest) == len(full) - 5
    for (x1, y1), (x2, y2) in zip(full[5:], rest, strict=True):
        assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert fresh.state_dict() == {"epoch": 3, "position": 0}
    loader.set_epoch(7)
    assert loader.state_dict() == {"epoch": 7, "position": 0}
    with pytest.raises(ValueError, match="position 99 out of range"):
        fresh.load_state_dict({"epoch": 0, "position": 99})


@pytest.mark.parametrize("n", [90, 91, 95])
@pytest.mark.parametrize("drop_last", [False, True])
def test_ddp_shards_are_disjoint_and_cover_the_epoch(n: int, drop_last: bool) -> None:
    ds = make_ds(n=n)
    ws = 3
    loaders = [
        BatchLoader(ds, 7, seed=2, rank=r, world_size=ws, drop_last=drop_last) for r in range(ws)
    ]
    assert len({len(ld) for ld in loaders}) == 1  # every rank steps the same number of times
    shards = [ld.indices(4) for ld in loaders]
    assert len({len(s) for s in shards}) == 1
    everything = torch.cat(shards)
    if drop_last or n % ws == 0:
        assert len(set(everything.tolist())) == len(everything)  # disjoint
        assert len(everything) == n - n % ws
    else:
        assert set(everything.tolist()) == set(range(n))  # covering, tail padded with repeats
        assert len(everything) == n + (ws - n % ws)
    # the epoch's order is shared by the ranks: interleaving the shards gives it back
    single = BatchLoader(ds, 7, seed=2).indices(4)
    inter = torch.stack(shards, 1).flatten()
    assert torch.equal(inter[: min(n, len(inter))], single[: min(n, len(inter))])
    # and the ranks' augmentation draws differ
    aug_loaders = [
        BatchLoader(ds, 7, seed=2, rank=r, world_size=ws, augment=FULL) for r in range(2)
    ]
    x0, x1 = (next(iter(ld))[0] for ld in aug_loaders)
    assert not torch.equal(x0, x1)


# ------------------------------------------------------------------------------- val split


def test_train_val_split_is_seeded_disjoint_and_complete() -> None:
    ds = make_ds(n=200)
    tr, va = train_val_split(ds, val_size=50, seed=0)
    assert (len(tr), len(va)) == (150, 50) and (tr.split, va.split) == ("train", "val")
    rows = {bytes(img.numpy()) for img in ds.images}
    got = [bytes(img.numpy()) for img in torch.cat([tr.images, va.images])]
    assert len(got) == 200 and set(got) == rows
    tr2, va2 = train_val_split(ds, val_size=50, seed=0)
    assert torch.equal(va.images, va2.images) and torch.equal(tr.labels, tr2.labels)
    assert not torch.equal(va.images, train_val_split(ds, val_size=50, seed=1)[1].images)
    assert len(train_val_split(ds, val_size=0.1)[1]) == 20
    assert va.mean == ds.mean and va.classes == ds.classes
    for bad in (0, 200, 1.5):
        with pytest.raises(DataError):
            train_val_split(ds, val_size=bad)


# ---------------------------------------------------------------------------- bad settings


def test_bad_settings_are_refused() -> None:
    for kw, msg in (
        ({"pad_mode": "edge"}, "pad_mode"),
        ({"padding": -1}, "padding"),
        ({"erase_prob": 2.0}, "erase_prob"),
        ({"crop": 0}, "crop"),
        ({"resize": (1, 2, 3)}, "resize"),
    ):
        with pytest.raises(ValueError, match=msg):
            Augment(**kw)
    ds = make_ds(h=12, w=12)
    with pytest.raises(ValueError, match="larger than the 12x12 images padded by 1"):
        BatchLoader(ds, 8, augment=Augment(crop=15, padding=1))
    with pytest.raises(ValueError, match="rank"):
        BatchLoader(ds, 8, rank=2, world_size=2)
    with pytest.raises(ValueError, match="batch_size"):
        BatchLoader(ds, 0)
    with pytest.raises(DataError, match="label 7 out of range for 5 classes"):
        ImageDataset(ds.images[:2], torch.tensor([0, 7]), ds.classes, (0.5,), (0.25,))
    with pytest.raises(DataError, match="uint8"):
        ImageDataset(ds.images.float(), ds.labels, ds.classes, (0.5,), (0.25,))
