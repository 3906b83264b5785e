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

Modules, lowest first: ``formats`` (IDX, CIFAR binary, image folders), ``entries`` (what a
data set's files are: ``DatasetEntry``, ``IdxEntry``, ``CifarEntry``), ``catalogue`` (the known
data sets), ``download`` (atomic checksummed fetch of one file), ``lookup`` (where a data set is:
search roots, ``$CNNZOO_DATA``, downloading it), ``load`` (``load_dataset``, ``check_dataset``),
``dataset`` (``ImageDataset``, ``train_val_split``), ``augment`` (batched per-sample
augmentation), ``loader`` (``BatchLoader``), ``seeding`` (seeds derived from (seed, epoch, ...)).

``DatasetSpec``, ``IdxSpec``, ``CifarSpec``, ``FileSpec`` and ``get_spec`` are the former names
of ``DatasetEntry``, ``IdxEntry``, ``CifarEntry``, ``PublishedFile`` and ``get_entry``, kept so
that code written against them still works.
"""

from cnnzoo.data.augment import Augment, AugmentParams
from cnnzoo.data.catalogue import CATALOGUE, get_entry, list_datasets
from cnnzoo.data.dataset import ImageDataset, channel_stats, train_val_split
from cnnzoo.data.entries import CifarEntry, DatasetEntry, IdxEntry, PublishedFile
from cnnzoo.data.errors import DataError
from cnnzoo.data.formats import load_image_folder, read_idx
from cnnzoo.data.load import CheckReport, check_dataset, load_dataset
from cnnzoo.data.loader import BatchLoader
from cnnzoo.data.lookup import (
    DatasetStatus,
    cache_dir,
    dataset_status,
    download_dataset,
    locate,
    search_roots,
)

# former names
DatasetSpec = DatasetEntry
IdxSpec = IdxEntry
CifarSpec = CifarEntry
FileSpec = PublishedFile
get_spec = get_entry

__all__ = [
    "CATALOGUE",
    "Augment",
    "AugmentParams",
    "BatchLoader",
    "CheckReport",
    "CifarEntry",
    "CifarSpec",
    "DataError",
    "DatasetEntry",
    "DatasetSpec",
    "DatasetStatus",
    "FileSpec",
    "IdxEntry",
    "IdxSpec",
    "ImageDataset",
    "PublishedFile",
    "cache_dir",
    "channel_stats",
    "check_dataset",
    "dataset_status",
    "download_dataset",
    "get_entry",
    "get_spec",
    "list_datasets",
    "load_dataset",
    "load_image_folder",
    "locate",
    "read_idx",
    "search_roots",
    "train_val_split",
]
