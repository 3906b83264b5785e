"""Where a data set's files are on this machine, and fetching them when they are nowhere.

A data set is looked for, in this order, under

1. the ``data_dir`` argument (``--data-dir``): ``DIR/<name>/`` or ``DIR`` itself,
2. ``$CNNZOO_DATA/<name>/`` (several roots may be given, separated by ``:``),
3. ``~/.cache/cnnzoo/<name>/`` (where downloads go by default),
4. ``/usr/share/datasets/<name>/`` (Debian's ``dataset-fashion-mnist`` installs
   ``/usr/share/datasets/fashion-mnist/*.gz``).

When it is nowhere, :func:`download_dataset` fetches its files (each one with
:func:`cnnzoo.data.download.fetch`: progress bar, checksum, atomic rename) into the first of
1–3; when that fails, a :class:`DataError` says exactly which files to put where
(:func:`missing_message`). Presence only: checksums are verified when the files are read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from cnnzoo.data.catalogue import CATALOGUE, get_entry
from cnnzoo.data.download import DownloadError, fetch
from cnnzoo.data.entries import DatasetEntry, Location
from cnnzoo.data.errors import DataError

__all__ = [
    "ENV_VAR",
    "SYSTEM_ROOTS",
    "DatasetStatus",
    "cache_dir",
    "dataset_status",
    "download_dataset",
    "download_target",
    "locate",
    "missing_message",
    "search_roots",
]

SYSTEM_ROOTS: tuple[str, ...] = ("/usr/share/datasets",)
ENV_VAR = "CNNZOO_DATA"


def cache_dir() -> Path:
    """``~/.cache/cnnzoo``: where downloads go when neither ``data_dir`` nor ``$CNNZOO_DATA``
    is given."""
    return Path.home() / ".cache" / "cnnzoo"


def search_roots(data_dir: str | os.PathLike[str] | None = None) -> list[tuple[Path, str]]:
    """The roots searched, in order, each with the reason it is searched."""
    roots: list[tuple[Path, str]] = []
    if data_dir is not None:
        roots.append((Path(data_dir).expanduser(), "--data-dir"))
    for part in os.environ.get(ENV_VAR, "").split(os.pathsep):
        if part.strip():
            roots.append((Path(part).expanduser(), f"${ENV_VAR}"))
    roots.append((cache_dir(), "cache"))
    roots += [(Path(r), "system") for r in SYSTEM_ROOTS]
    return roots


def _candidate_folders(entry: DatasetEntry, data_dir: str | os.PathLike[str] | None):
    for root, why in search_roots(data_dir):
        for sub in entry.folder_names:
            yield root / sub, why
        if why == "--data-dir":  # --data-dir may name the data set's own folder
            yield root, why


def locate(
    name: str | DatasetEntry,
    split: str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> Location | None:
    """Where the files of ``split`` (every split when None) are, searching the roots in order;
    None when they are nowhere. Presence only: checksums are verified when the files are read."""
    entry = get_entry(name)
    for folder, why in _candidate_folders(entry, data_dir):
        paths = entry.find(folder, split)
        if paths is not None:
            return Location(folder, paths, why)
    return None


def download_target(entry: DatasetEntry, data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder a download goes to: ``data_dir``, else the first ``$CNNZOO_DATA`` root, else
    ``~/.cache/cnnzoo``; then the data set's own sub-folder."""
    roots = [r for r, why in search_roots(data_dir) if why != "system"]
    return roots[0] / entry.folder_names[0]


def missing_message(
    entry: DatasetEntry,
    data_dir: str | os.PathLike[str] | None = None,
    reason: str | None = None,
) -> str:
    """The error text for a data set that is not on this machine: which files to put where."""
    lines = [
        f"{entry.title} ({entry.name}) is not on this machine" + (f": {reason}" if reason else ".")
    ]
    lines.append("Put these files:")
    lines += [f"    {line}" for line in entry.what_to_put()]
    lines.append("into one of these folders (searched in this order):")
    note = {"--data-dir": "--data-dir", f"${ENV_VAR}": f"${ENV_VAR}", "cache": "the cache"}
    for root, why in search_roots(data_dir):
        folder = root / entry.folder_names[0]
        have = ""
        for f in (folder, root) if why == "--data-dir" else (folder,):
            lacks = entry.missing(f) if f.is_dir() else entry.downloads
            if len(lacks) < len(entry.downloads):  # some files are there: say which are not
                have = f"; {f} lacks {', '.join(lacks)}"
                break
        lines.append(f"    {folder}/  ({note.get(why, 'system-wide')}{have})")
    if not os.environ.get(ENV_VAR):
        lines.append(f"    (or set ${ENV_VAR} to a folder of your choice)")
    urls = ", ".join(f"{m}{entry.downloads[0].name}" for m in entry.mirrors[:1])
    lines.append(
        f"Download from {entry.mirrors[0]} (e.g. {urls}), or run "
        f"`cnnzoo data download {entry.name}` where the network allows."
    )
    if entry.apt_package:
        lines.append(
            f"On Debian/Ubuntu, `apt-get install {entry.apt_package}` (as root) provides "
            f"{entry.title} in {SYSTEM_ROOTS[0]}/{entry.folder_names[0]}/."
        )
    return "\n".join(lines)


def download_dataset(
    name: str | DatasetEntry,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    progress: bool | TextIO = True,
    timeout: float = 30.0,
) -> Path:
    """Fetch the files of ``name`` that the download folder lacks (see :func:`download_target`),
    each from the first mirror that serves it with the right checksum. Returns the folder.
    On failure a :class:`DataError` with :func:`missing_message`; nothing half-written is left."""
    entry = get_entry(name)
    target = download_target(entry, data_dir)
    created = not target.exists()
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(
            missing_message(entry, data_dir, f"cannot create {target} ({e.strerror or e})")
        ) from None
    failures: list[str] = []
    try:
        for fs in entry.downloads:
            if (target / fs.name).is_file():
                continue
            errors = []
            for mirror in entry.mirrors:
                try:
                    fetch(
                        mirror + fs.name,
                        target / fs.name,
                        md5=fs.md5,
                        progress=progress,
                        timeout=timeout,
                    )
                    break
                except DownloadError as e:
                    errors.append(str(e))
                except OSError as e:
                    errors.append(f"{mirror + fs.name}: {e.strerror or e}")
            else:
                failures.append("; ".join(errors))
                break  # the network is down or the mirrors are wrong: do not try every file
    finally:
        if created and target.is_dir() and not any(target.iterdir()):
            target.rmdir()
    if failures:
        raise DataError(missing_message(entry, data_dir, f"downloading failed ({failures[0]})"))
    return target


@dataclass
class DatasetStatus:
    """What :func:`dataset_status` reports for one data set."""

    entry: DatasetEntry
    location: Location | None
    download_to: Path

    @property
    def spec(self) -> DatasetEntry:
        """The former name of :attr:`entry` (``cnnzoo data list`` reads it)."""
        return self.entry


def dataset_status(data_dir: str | os.PathLike[str] | None = None) -> list[DatasetStatus]:
    """For each catalogue entry, where its files are (presence only, no checksums)."""
    return [
        DatasetStatus(entry, locate(entry, None, data_dir), download_target(entry, data_dir))
        for entry in CATALOGUE.values()
    ]
