"""Using a trained checkpoint: rebuild the model, evaluate it on a split, predict images."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from cnnzoo.errors import DataError
from cnnzoo.models import create_model
from cnnzoo.train.checkpoint import load_checkpoint, load_weights
from cnnzoo.train.device import pick_channels_last, pick_device, pick_precision
from cnnzoo.train.evaluation import EvalResult, evaluate, fixed_subset

__all__ = [
    "evaluate_checkpoint",
    "load_images",
    "load_trained_model",
    "predict_images",
    "top_predictions",
]


def load_trained_model(
    path: str | Path, which: str = "best", ema: bool = False, device: str = "cpu"
) -> tuple[nn.Module, dict]:
    """The model of a run directory or checkpoint directory, in eval mode, and its metadata
    (classes, normalisation, input size)."""
    ckpt = load_checkpoint(path, which=which, state=False)
    meta = ckpt.meta
    model = create_model(
        meta["model"],
        num_classes=meta["num_classes"],
        in_channels=meta["in_channels"],
        **meta.get("model_options", {}),
    )
    weights = ckpt.ema if ema and ckpt.ema is not None else ckpt.model
    load_weights(model, weights, ckpt.path)
    model.to(pick_device(device)).eval()
    meta = dict(meta, checkpoint=str(ckpt.path))
    return model, meta


def evaluate_checkpoint(
    path: str | Path,
    split: str = "test",
    data: str | None = None,
    data_dir: str | None = None,
    tta: bool = False,
    batch_size: int = 512,
    device: str = "auto",
    precision: str = "auto",
    which: str = "best",
    subset: int | None = None,
) -> tuple[EvalResult, dict]:
    """Evaluate a checkpoint on a split of its data set (or of ``data``); ``subset``: on a
    fixed subset of that many images (the same one training's ``test_subset`` picks)."""
    from cnnzoo.data import Augment, BatchLoader, load_dataset

    dev = pick_device(device)
    model, meta = load_trained_model(path, which=which, device=str(dev))
    ds = load_dataset(data or meta["data"], split=split, data_dir=data_dir)
    ds = _match_classes(ds, list(meta["classes"]))
    if subset is not None and subset < len(ds):
        ds = fixed_subset(ds, subset)
    c = meta["input_size"][0]
    if ds.images.shape[1] != c:
        raise DataError(
            f"{ds.name}: the images have {ds.images.shape[1]} channel(s), the network was "
            f"trained on {c}"
        )
    prec = pick_precision(dev, precision)
    channels_last = pick_channels_last(prec, device=dev)
    loader = BatchLoader(
        ds, batch_size=batch_size, shuffle=False, seed=0, augment=Augment(resize=meta["resize"]),
        drop_last=False, device=dev, channels_last=channels_last,
        normalize=(tuple(meta["mean"]), tuple(meta["std"])),  # the training split's
    )  # fmt: skip
    if channels_last:
        model.to(memory_format=torch.channels_last)
    return evaluate(model, loader, meta["num_classes"], dev, prec, tta), meta


def _match_classes(ds, classes: list[str]):
    """The data set with its labels in the checkpoint's class order, matched by name: the
    same classes in another order are mapped (with a warning); a class the network does not
    know is refused."""
    import warnings

    if list(ds.classes) == classes:
        return ds
    unknown = [name for name in ds.classes if name not in classes]
    if unknown:
        raise DataError(
            f"{ds.name}: class(es) {', '.join(map(repr, unknown[:5]))} are not among the "
            f"{len(classes)} the network was trained on ({', '.join(classes[:6])}"
            f"{', ...' if len(classes) > 6 else ''}); evaluate it on data with its classes"
        )
    index = torch.tensor([classes.index(name) for name in ds.classes], dtype=torch.int64)
    warnings.warn(
        f"{ds.name}: its classes are in another order than the network's; matched by name",
        stacklevel=3,
    )
    return ds.with_labels(index[ds.labels], classes)


def _load_image(path: Path, channels: int, size: tuple[int, int]) -> torch.Tensor:
    """An image as the network saw its training images: the data package's one reader."""
    from cnnzoo.data.formats import read_image

    a = read_image(path, grayscale=channels == 1, size=size)
    return torch.from_numpy(a.copy()).permute(2, 0, 1)


def load_images(
    images: list[str | Path],
    input_size: tuple[int, int, int] | list[int],
    mean: list[float] | None = None,
    std: list[float] | None = None,
) -> torch.Tensor:
    """Image files as one float32 batch (N, C, H, W) the way the network saw its training
    images: converted to its C channels, resized to H x W, scaled to [0, 1] and normalised
    with the training split's ``mean`` and ``std`` (none when they are None). The one
    preprocessing of ``predict``, from a checkpoint and from an exported ONNX file alike."""
    c, h, w = input_size
    batch = torch.stack([_load_image(Path(p), c, (h, w)) for p in images]).float() / 255.0
    if mean is None or std is None:
        return batch
    mean_ = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
    std_ = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
    return (batch - mean_) / std_


def top_predictions(
    logits: torch.Tensor, classes: list[str], images: list[str | Path], top_k: int
) -> list[dict]:
    """Per image, its ``top_k`` most likely classes with their softmax probabilities."""
    probs = F.softmax(logits.float(), dim=1).cpu()
    k = min(top_k, probs.shape[1])
    out = []
    for p, img in zip(probs, images, strict=True):
        top = torch.topk(p, k)
        out.append(
            {
                "image": str(img),
                "predictions": [
                    {"class": classes[i], "prob": float(v)}
                    for v, i in zip(top.values.tolist(), top.indices.tolist(), strict=True)
                ],
            }
        )
    return out


@torch.no_grad()
def predict_images(
    path: str | Path, images: list[str | Path], top_k: int = 3, device: str = "cpu"
) -> list[dict]:
    """Class probabilities for image files (PNG, JPEG, anything Pillow reads). Each image is
    converted to the checkpoint's channels, resized to its input size and normalised."""
    model, meta = load_trained_model(path, device=device)
    x = load_images(images, meta["input_size"], meta["mean"], meta["std"])
    logits = model(x.to(next(model.parameters()).device))
    return top_predictions(logits, meta["classes"], images, top_k)
