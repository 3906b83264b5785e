"""The runs store: one SQLite file, no server.

It records every training run (config, status, metrics per epoch, timings, paths) and, for
design-space sweeps, every trial. SQLite in WAL mode with a busy timeout lets several processes
write to the same file at once without corrupting it; every write is one short transaction.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cnnzoo.errors import MissingError, StateError

__all__ = ["RunStore", "SQLiteStore", "best_acc_split", "runs_under"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id          TEXT PRIMARY KEY,
    model       TEXT NOT NULL,
    dataset     TEXT NOT NULL,
    status      TEXT NOT NULL,
    config      TEXT NOT NULL,
    out_dir     TEXT NOT NULL,
    created     REAL NOT NULL,
    updated     REAL NOT NULL,
    epochs_done INTEGER NOT NULL DEFAULT 0,
    best_acc    REAL,
    test_acc    REAL,
    wall_time   REAL,
    error       TEXT
);
CREATE TABLE IF NOT EXISTS epochs (
    run_id  TEXT NOT NULL REFERENCES runs(id),
    epoch   INTEGER NOT NULL,
    metrics TEXT NOT NULL,
    PRIMARY KEY (run_id, epoch)
);
"""


class SQLiteStore:
    """One SQLite file shared by processes: WAL mode, a busy timeout, and every ``_connect()``
    block one short ``BEGIN IMMEDIATE`` transaction; ``_read()`` blocks only read, and work on
    a store the user may not write to. Subclasses give their ``_SCHEMA``.

    ``readonly=True`` opens an existing store for reading only (it is never created or
    changed). A file that is not an SQLite database is refused with a :class:`StateError`.
    """

    _SCHEMA = ""

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        if readonly:
            if not self.path.is_file():
                raise MissingError(f"{self.path}: no such store")
            with self._read() as db:
                db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _retry_locked(self._create)

    def _create(self) -> None:
        db = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout=60000")
            # readers never block the writer; switching needs the file to itself, so only the
            # first process does it (a second one opening the file meanwhile is retried)
            if str(db.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                db.execute("PRAGMA journal_mode=WAL")
            db.executescript(self._SCHEMA)  # CREATE ... IF NOT EXISTS: safe to race
        except sqlite3.DatabaseError as e:
            raise _explain(self.path, e) from None
        finally:
            db.close()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        if self.readonly:
            raise StateError(f"{self.path} was opened for reading only")
        db = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            db.execute("PRAGMA busy_timeout=60000")
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        except sqlite3.DatabaseError as e:
            raise _explain(self.path, e) from None
        finally:
            db.close()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A connection for reading: read-only, so that listing works on a store (or in a
        directory) the user may not write to."""
        uri = self.path.resolve().as_uri()
        try:
            db = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=60.0)
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError:
            # a WAL database whose directory is read-only cannot make its -shm file: read the
            # file as it is (nobody can be writing to it there anyway)
            db = sqlite3.connect(f"{uri}?immutable=1", uri=True)
        except sqlite3.DatabaseError as e:
            raise _explain(self.path, e) from None
        db.row_factory = sqlite3.Row
        try:
            db.execute("PRAGMA busy_timeout=60000")
            yield db
        except sqlite3.DatabaseError as e:
            raise _explain(self.path, e) from None
        finally:
            db.close()


def _explain(path: Path, e: sqlite3.DatabaseError) -> Exception:
    """A database error as the user should see it (a lock timeout stays what it is)."""
    text = str(e)
    if "not a database" in text or "malformed" in text or "no such table" in text:
        return StateError(
            f"{path} is not a cnnzoo store ({text}); move it away (a new one is made) or point "
            "at the right file"
        )
    if "readonly" in text or "unable to open" in text:
        return StateError(f"{path}: cannot write the store ({text}); check the permissions")
    return e


def _retry_locked(fn, seconds: float = 60.0) -> None:
    """Run ``fn``, again while another process holds the file ("database is locked")."""
    deadline, wait = time.monotonic() + seconds, 0.02
    while True:
        try:
            return fn()
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(wait)
            wait = min(0.5, wait * 2)


#: columns added after the first stores were written (added to an older file when opened)
_LATER_COLUMNS = {"pid": "INTEGER", "host": "TEXT", "heartbeat": "REAL"}

#: a running run on another machine whose last sign of life is older than this is stale
STALE_AFTER = 30 * 60.0


class RunStore(SQLiteStore):
    """A SQLite file of runs. Open one per process; each method is its own transaction.

    A running run records its process id, host and a heartbeat (at every checkpoint), so that
    :meth:`runs` tells a live run from one whose process was killed (``stale``).
    """

    _SCHEMA = _SCHEMA

    def _create(self) -> None:
        super()._create()
        db = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
        try:
            have = {r[1] for r in db.execute("PRAGMA table_info(runs)")}
            for name, kind in _LATER_COLUMNS.items():
                if name not in have:
                    try:
                        db.execute(f"ALTER TABLE runs ADD COLUMN {name} {kind}")
                    except sqlite3.OperationalError as e:  # another process added it first
                        if "duplicate column" not in str(e):
                            raise
        finally:
            db.close()

    def start_run(self, run_id: str, model: str, dataset: str, config: dict, out_dir: str) -> None:
        now = time.time()
        me = (os.getpid(), socket.gethostname())
        with self._connect() as db:
            db.execute(
                "INSERT INTO runs (id, model, dataset, status, config, out_dir, created, updated,"
                " pid, host, heartbeat) VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(id) DO UPDATE SET status='running', updated=excluded.updated,"
                " error=NULL, pid=excluded.pid, host=excluded.host, heartbeat=excluded.heartbeat",
                (run_id, model, dataset, json.dumps(config, default=str), out_dir, now, now,
                 *me, now),
            )  # fmt: skip

    def heartbeat(self, run_id: str) -> None:
        """The run is alive (called at every checkpoint)."""
        with self._connect() as db:
            db.execute("UPDATE runs SET heartbeat=? WHERE id=?", (time.time(), run_id))

    def log_epoch(self, run_id: str, epoch: int, metrics: dict) -> None:
        """Record an epoch's metrics; the run's ``best_acc`` is the best epoch evaluation's
        accuracy: ``val_acc`` with a validation split, else ``test_acc`` (see
        :func:`best_acc_split`)."""
        acc = metrics.get("val_acc", metrics.get("test_acc"))
        with self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO epochs (run_id, epoch, metrics) VALUES (?, ?, ?)",
                (run_id, epoch, json.dumps(metrics)),
            )
            db.execute(
                "UPDATE runs SET epochs_done=?, updated=?,"
                " best_acc=MAX(COALESCE(best_acc, 0), COALESCE(?, 0)) WHERE id=?",
                (epoch + 1, time.time(), acc, run_id),
            )

    def finish_run(
        self,
        run_id: str,
        status: str,
        test_acc: float | None = None,
        wall_time: float | None = None,
        error: str | None = None,
    ) -> None:
        with self._connect() as db:
            db.execute(
                "UPDATE runs SET status=?, test_acc=COALESCE(?, test_acc), wall_time=?, error=?,"
                " updated=? WHERE id=?",
                (status, test_acc, wall_time, error, time.time(), run_id),
            )

    def runs(self) -> list[dict]:
        """Every run, oldest first; a ``running`` run whose process is gone is ``stale``."""
        with self._read() as db:
            rows = db.execute("SELECT * FROM runs ORDER BY created").fetchall()
        out = [dict(r) for r in rows]
        for r in out:
            if r["status"] == "running" and not _alive(r):
                r["status"] = "stale"
        return out

    def epochs(self, run_id: str) -> list[dict]:
        with self._read() as db:
            rows = db.execute(
                "SELECT metrics FROM epochs WHERE run_id=? ORDER BY epoch", (run_id,)
            ).fetchall()
        return [json.loads(r["metrics"]) for r in rows]


def runs_under(root: str | Path) -> tuple[list[dict], list[str]]:
    """Every training run under ``root``, whatever folder each was trained into (as
    ``tensorboard --logdir`` finds event files): the runs of every ``runs.sqlite`` under
    ``root`` (recursively), plus run directories under ``root`` that no store found there
    records (trained with a store elsewhere), read from their own ``config.json`` and
    ``eval.json``. Oldest first; each run also says its ``store`` (None for those read from
    their folder). Returns the runs and the problems met (a damaged store: its runs are
    left out, the others listed)."""
    root = Path(root)
    if not root.exists():
        raise MissingError(f"{root}: no such folder")
    stores = [root] if root.is_file() else sorted(_files_named(root, "runs.sqlite"))
    found: dict[str, dict] = {}
    problems: list[str] = []
    for path in stores:
        try:
            runs = RunStore(path, readonly=True).runs()
        except StateError as e:
            problems.append(str(e))
            continue
        for r in runs:
            r["store"] = str(path)
            key = str(Path(r["out_dir"]).resolve())
            if key not in found or r["updated"] > found[key]["updated"]:
                found[key] = r  # the same run in two stores: the later record wins
    if root.is_dir():
        for config in _files_named(root, "config.json"):
            run_dir = config.parent
            key = str(run_dir.resolve())
            if key not in found and (run := _run_from_folder(run_dir)) is not None:
                found[key] = run
    return sorted(found.values(), key=lambda r: r["created"]), problems


def _files_named(root: Path, name: str) -> Iterator[Path]:
    """Files called ``name`` under ``root``, not looking inside checkpoint folders."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "checkpoints" and not d.startswith("."))
        if name in files:
            yield Path(folder) / name


def _run_from_folder(run_dir: Path) -> dict | None:
    """A run directory's own account of itself (config.json, eval.json, metrics.jsonl) in the
    store's row format; None when the folder is not a training run."""
    if not ((run_dir / "checkpoints").is_dir() or (run_dir / "eval.json").is_file()):
        return None
    try:
        config = json.loads((run_dir / "config.json").read_text())
        result = (
            json.loads((run_dir / "eval.json").read_text())
            if (run_dir / "eval.json").is_file()
            else {}
        )
        epochs = (
            (run_dir / "metrics.jsonl").read_text().splitlines()
            if (run_dir / "metrics.jsonl").is_file()
            else []
        )
        history = [json.loads(line) for line in epochs if line.strip()]
    except (OSError, ValueError):
        return None
    if not isinstance(config, dict) or "model" not in config or not isinstance(result, dict):
        return None
    accs = [
        a for h in history if isinstance(h, dict)
        if isinstance(a := h.get("val_acc", h.get("test_acc")), (int, float))
    ]  # fmt: skip
    mtime = (run_dir / "config.json").stat().st_mtime
    return {
        "id": str(run_dir.resolve()), "model": config["model"],
        "dataset": config.get("data", "?"),
        "status": result.get("status", "unrecorded"), "config": json.dumps(config),
        "out_dir": str(run_dir.resolve()), "created": mtime, "updated": mtime,
        "epochs_done": len(history), "best_acc": max(accs) if accs else None,
        "test_acc": result.get("test_acc"), "wall_time": result.get("wall_time"),
        "error": result.get("diagnosis"), "store": None,
    }  # fmt: skip


def best_acc_split(run: dict) -> str:
    """Which split a run's ``best_acc`` was measured on: ``val`` when its config holds out a
    validation split, else ``test`` (runs recorded before the epochs said which, too)."""
    try:
        val_size = json.loads(run.get("config") or "{}").get("val_size")
    except (TypeError, ValueError):
        val_size = None
    return "val" if val_size else "test"


def _alive(run: dict) -> bool:
    """Whether a run recorded as running still has its process: on this machine, its pid
    (a process of the same pid that started after the run's last heartbeat is another one);
    elsewhere, a heartbeat in the last :data:`STALE_AFTER` seconds."""
    pid, host, beat = run.get("pid"), run.get("host"), run.get("heartbeat")
    if pid is None or host is None:
        return True  # recorded before runs kept their pid: cannot tell
    if host != socket.gethostname():
        return beat is not None and time.time() - beat < STALE_AFTER
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie, or the pid reused by a process started after the run's last heartbeat
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        if fields[0] == "Z":
            return False
        ticks = os.sysconf("SC_CLK_TCK")
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        started = time.time() - uptime + int(fields[19]) / ticks
        return beat is None or started <= beat + 1.0
    except (OSError, ValueError, IndexError):
        return True
