"""The catalogue: the known data sets (Fashion-MNIST, MNIST, Kuzushiji-MNIST, CIFAR-10,
CIFAR-100) as :class:`~cnnzoo.data.entries.DatasetEntry` values, and looking one up by name.

Each entry lists its files with their published checksums and sizes, class names, the training
split's per-channel mean/std and the mirrors it can be downloaded from. Finding the files on
this machine and fetching them is :mod:`cnnzoo.data.lookup`; loading a split,
:mod:`cnnzoo.data.load`.
"""

from __future__ import annotations

import difflib

from cnnzoo.data.entries import CifarEntry, DatasetEntry, IdxEntry, PublishedFile
from cnnzoo.data.errors import DataError

__all__ = ["CATALOGUE", "CIFAR100_CLASSES", "get_entry", "is_catalogue_name", "list_datasets"]


_IDX_NAMES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def _idx_files(
    md5: dict[str, str], sizes: dict[str, int] | None = None, content: dict[str, str] | None = None
) -> dict[str, tuple[PublishedFile, PublishedFile]]:
    def published(name: str) -> PublishedFile:
        return PublishedFile(name, md5[name], (sizes or {}).get(name), (content or {}).get(name))

    return {split: (published(x), published(y)) for split, (x, y) in _IDX_NAMES.items()}


_CIFAR100_NAMES = """
apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus
butterfly camel can castle caterpillar cattle chair chimpanzee clock cloud cockroach couch
crab crocodile cup dinosaur dolphin elephant flatfish forest fox girl hamster house kangaroo
keyboard lamp lawn_mower leopard lion lizard lobster man maple_tree motorcycle mountain
mouse mushroom oak_tree orange orchid otter palm_tree pear pickup_truck pine_tree plain
plate poppy porcupine possum rabbit raccoon ray road rocket rose sea seal shark shrew skunk
skyscraper snail snake spider squirrel streetcar sunflower sweet_pepper table tank telephone
television tiger tractor train trout tulip turtle wardrobe whale willow_tree wolf woman worm
"""
# The fine labels, alphabetical as in fine_label_names.txt.
CIFAR100_CLASSES: tuple[str, ...] = tuple(_CIFAR100_NAMES.split())

_ENTRIES: tuple[DatasetEntry, ...] = (
    IdxEntry(
        name="fashion-mnist",
        title="Fashion-MNIST",
        homepage="https://github.com/zalandoresearch/fashion-mnist",
        classes=(
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
        # Computed from the 60,000 training images.
        mean=(0.2860,),
        std=(0.3530,),
        image_shape=(1, 28, 28),
        split_sizes={"train": 60_000, "test": 10_000},
        mirrors=(
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
        ),
        folders=("fashion-mnist", "FashionMNIST/raw"),
        apt_package="dataset-fashion-mnist",
        # md5 of the .gz files as published in the data set's README; content md5 computed
        # from Debian's dataset-fashion-mnist files, which hold the same deflate streams
        # (24/23 bytes shorter: no file name in the gzip header).
        files=_idx_files(
            md5={
                "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
                "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
                "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
            },
            sizes={
                "train-images-idx3-ubyte.gz": 26_421_880,
                "train-labels-idx1-ubyte.gz": 29_515,
                "t10k-images-idx3-ubyte.gz": 4_422_102,
                "t10k-labels-idx1-ubyte.gz": 5_148,
            },
            content={
                "train-images-idx3-ubyte.gz": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
                "train-labels-idx1-ubyte.gz": "9018921c3c673c538a1fc5bad174d6f9",
                "t10k-images-idx3-ubyte.gz": "8181f5470baa50b63fa0f6fddb340f0a",
                "t10k-labels-idx1-ubyte.gz": "15d484375f8d13e6eb1aabb0c3f46965",
            },
        ),
    ),
    IdxEntry(
        name="mnist",
        title="MNIST",
        homepage="http://yann.lecun.com/exdb/mnist/",
        classes=tuple(str(i) for i in range(10)),
        mean=(0.1307,),
        std=(0.3081,),
        image_shape=(1, 28, 28),
        split_sizes={"train": 60_000, "test": 10_000},
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        folders=("mnist", "MNIST/raw"),
        files=_idx_files(
            md5={
                "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
                "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
                "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
            },
            sizes={
                "train-images-idx3-ubyte.gz": 9_912_422,
                "train-labels-idx1-ubyte.gz": 28_881,
                "t10k-images-idx3-ubyte.gz": 1_648_877,
                "t10k-labels-idx1-ubyte.gz": 4_542,
            },
            content={
                "train-images-idx3-ubyte.gz": "6bbc9ace898e44ae57da46a324031adb",
                "train-labels-idx1-ubyte.gz": "a25bea736e30d166cdddb491f175f624",
                "t10k-images-idx3-ubyte.gz": "2646ac647ad5339dbf082846283269ea",
                "t10k-labels-idx1-ubyte.gz": "27ae3e4e09519cfbb04c329615203637",
            },
        ),
    ),
    IdxEntry(
        name="kmnist",
        title="Kuzushiji-MNIST",
        homepage="https://github.com/rois-codh/kmnist",
        classes=("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
        mean=(0.1918,),
        std=(0.3483,),
        image_shape=(1, 28, 28),
        split_sizes={"train": 60_000, "test": 10_000},
        mirrors=("http://codh.rois.ac.jp/kmnist/dataset/kmnist/",),
        folders=("kmnist", "KMNIST/raw"),
        files=_idx_files(
            md5={
                "train-images-idx3-ubyte.gz": "bdb82020997e1d708af4cf47b453dcf7",
                "train-labels-idx1-ubyte.gz": "e144d726b3acfaa3e44228e80efcd344",
                "t10k-images-idx3-ubyte.gz": "5c965bf0a639b31b8f53240b1b52f4d7",
                "t10k-labels-idx1-ubyte.gz": "7320c461ea6c1c855c0b718fb2a4b134",
            }
        ),
    ),
    CifarEntry(
        name="cifar10",
        title="CIFAR-10",
        homepage="https://www.cs.toronto.edu/~kriz/cifar.html",
        classes=(
            "airplane",
            "automobile",
            "bird",
            "cat",
            "deer",
            "dog",
            "frog",
            "horse",
            "ship",
            "truck",
        ),
        mean=(0.4914, 0.4822, 0.4465),
        std=(0.2470, 0.2435, 0.2616),
        image_shape=(3, 32, 32),
        split_sizes={"train": 50_000, "test": 10_000},
        mirrors=("https://www.cs.toronto.edu/~kriz/",),
        folders=("cifar10", "cifar-10"),
        archive=PublishedFile(
            "cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530", 170_052_171
        ),
        member_dir="cifar-10-batches-bin",
        members={
            "train": (
                PublishedFile("data_batch_1.bin", "5dd7e06a14cb22eb9f671a540d1b7c25", 30_730_000),
                PublishedFile("data_batch_2.bin", "5ea93a67294ea407fff1d09f752e9692", 30_730_000),
                PublishedFile("data_batch_3.bin", "942cd6a4bcdd0dd3c604fbe906cb4421", 30_730_000),
                PublishedFile("data_batch_4.bin", "ae636b3ba5c66a11e91e8cb52e771fcb", 30_730_000),
                PublishedFile("data_batch_5.bin", "53f37980c15c3d472c316c40844f3f0d", 30_730_000),
            ),
            "test": (
                PublishedFile("test_batch.bin", "803d5f7f4d78ea53de84dbe85f74fb6d", 30_730_000),
            ),
        },
        label_bytes=1,
        label_index=0,
    ),
    CifarEntry(
        name="cifar100",
        title="CIFAR-100",
        homepage="https://www.cs.toronto.edu/~kriz/cifar.html",
        classes=tuple(CIFAR100_CLASSES),
        mean=(0.5071, 0.4865, 0.4409),
        std=(0.2673, 0.2564, 0.2762),
        image_shape=(3, 32, 32),
        split_sizes={"train": 50_000, "test": 10_000},
        mirrors=("https://www.cs.toronto.edu/~kriz/",),
        folders=("cifar100", "cifar-100"),
        archive=PublishedFile(
            "cifar-100-binary.tar.gz", "03b5dce01913d631647c71ecec9e9cb8", 168_513_733
        ),
        member_dir="cifar-100-binary",
        members={
            "train": (PublishedFile("train.bin", "6172c7755cfe09b2fe270c85cebc1b15", 153_700_000),),
            "test": (PublishedFile("test.bin", "4499cfba6c016c1be1438163640a0898", 30_740_000),),
        },
        label_bytes=2,  # coarse label, then fine label
        label_index=1,  # the 100 fine classes
    ),
)

CATALOGUE: dict[str, DatasetEntry] = {e.name: e for e in _ENTRIES}
_ALIASES = {
    "fashionmnist": "fashion-mnist",
    "fmnist": "fashion-mnist",
    "cifar-10": "cifar10",
    "cifar-100": "cifar100",
    "kuzushiji-mnist": "kmnist",
}


def list_datasets() -> list[str]:
    """Names of the catalogue's data sets."""
    return list(CATALOGUE)


def _key(name: object) -> str:
    key = str(name).strip().lower().replace("_", "-")
    return _ALIASES.get(key, key)


def is_catalogue_name(name: object) -> bool:
    """Whether ``name`` names a catalogue entry (case and ``_``/``-`` insensitive, aliases
    such as ``fmnist`` too)."""
    return _key(name) in CATALOGUE


def get_entry(name: str | DatasetEntry) -> DatasetEntry:
    """The catalogue entry for ``name`` (case and ``_``/``-`` insensitive); an entry is
    returned as it is."""
    if isinstance(name, DatasetEntry):
        return name
    key = _key(name)
    if key in CATALOGUE:
        return CATALOGUE[key]
    close = difflib.get_close_matches(key, list(CATALOGUE) + list(_ALIASES), n=3, cutoff=0.5)
    close = list(dict.fromkeys(_ALIASES.get(c, c) for c in close))
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise DataError(
        f"unknown data set {name!r}.{hint} Known: {', '.join(CATALOGUE)}; or give the path "
        "of an image folder (one sub-folder per class)"
    )
