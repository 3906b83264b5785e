"""Data sets and the in-memory batched loader.

```python
from cnnzoo.data import load_dataset, train_val_split, BatchLoader, Augment

train, val = train_val_split(load_dataset("fashion-mnist", split="train"), val_size=5000)
loader = BatchLoader(train, batch_size=256, shuffle=True, seed=0, drop_last=True,
                     augment=Augment(crop=28, padding=2, hflip=True))
for epoch in range(10):
    loader.set_epoch(epoch)
    for x, y in loader:  # x float32 [256, 1, 28, 28] normalised, y int64 [256]
        ...
```

Modules: ``formats`` (IDX, CIFAR binary, image folders), ``catalogue`` (the known data sets:
files, checksums, lookup, download), ``download`` (atomic checksummed fetch), ``dataset``
(``ImageDataset``, ``train_val_split``), ``augment`` (batched per-sample augmentation),
``loader`` (``BatchLoader``), ``seeding`` (seeds derived from (seed, epoch, ...)).
"""

from cnnzoo.data.augment import Augment, AugmentParams
from cnnzoo.data.catalogue import (
    CATALOGUE,
    CheckReport,
    CifarSpec,
    DatasetSpec,
    DatasetStatus,
    FileSpec,
    IdxSpec,
    cache_dir,
    check_dataset,
    dataset_status,
    download_dataset,
    get_spec,
    list_datasets,
    load_dataset,
    locate,
    search_roots,
)
from cnnzoo.data.dataset import ImageDataset, channel_stats, train_val_split
from cnnzoo.data.errors import DataError
from cnnzoo.data.formats import load_image_folder, read_idx
from cnnzoo.data.loader import BatchLoader

__all__ = [
    "CATALOGUE",
    "Augment",
    "AugmentParams",
    "BatchLoader",
    "CheckReport",
    "CifarSpec",
    "DataError",
    "DatasetSpec",
    "DatasetStatus",
    "FileSpec",
    "IdxSpec",
    "ImageDataset",
    "cache_dir",
    "channel_stats",
    "check_dataset",
    "dataset_status",
    "download_dataset",
    "get_spec",
    "list_datasets",
    "load_dataset",
    "load_image_folder",
    "locate",
    "read_idx",
    "search_roots",
    "train_val_split",
]
