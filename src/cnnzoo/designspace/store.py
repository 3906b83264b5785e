"""The sweep store: one SQLite file per sweep directory, ``sweep.sqlite``.

Two tables of its own next to the trainer's ``runs``/``epochs`` (the trainer records each
trial's run in the same file): ``sweep`` (one row: the sweep's settings, as JSON) and
``trials`` (one row per sampled network: its config, cost, design parameters, status, errors
and wall time). WAL mode and a busy timeout, as in :class:`~cnnzoo.store.RunStore`; every write
is one short transaction, and a trial's status moves ``pending`` → ``running`` → ``done`` or
``failed``, so a sweep killed at any moment knows exactly what is finished.
"""

from __future__ import annotations

import json
import sqlite3
import time

from cnnzoo.errors import StateError
from cnnzoo.store import SQLiteStore

__all__ = ["TRIAL_STATUSES", "SweepStore"]

TRIAL_STATUSES = ("pending", "running", "done", "failed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sweep (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    spec     TEXT NOT NULL,
    created  REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS trials (
    idx          INTEGER PRIMARY KEY,
    space        TEXT NOT NULL,
    config       TEXT NOT NULL,
    params       TEXT NOT NULL,
    flops        INTEGER NOT NULL,
    n_params     INTEGER NOT NULL,
    acts         INTEGER NOT NULL,
    status       TEXT NOT NULL DEFAULT 'pending',
    error        REAL,
    best_error   REAL,
    wall_time    REAL,
    train_time   REAL,
    epochs       INTEGER,
    message      TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0,
    worker       TEXT,
    started      REAL,
    finished     REAL
);
CREATE INDEX IF NOT EXISTS trials_status ON trials(status);
"""


class SweepStore(SQLiteStore):
    """The trials of one sweep. Open one per process; each method is its own transaction."""

    _SCHEMA = _SCHEMA

    # ------------------------------------------------------------------ the sweep

    def spec(self) -> dict | None:
        with self._read() as db:
            row = db.execute("SELECT spec FROM sweep WHERE id = 1").fetchone()
        return json.loads(row["spec"]) if row else None

    def create(self, spec: dict, trials: list[dict]) -> None:
        """Record the sweep's settings and its sampled trials, all at once (one transaction:
        a sweep killed while it is being created is simply created again)."""
        now = time.time()
        with self._connect() as db:
            if db.execute("SELECT 1 FROM sweep WHERE id = 1").fetchone():
                raise StateError(f"{self.path} already holds a sweep")
            db.execute(
                "INSERT INTO sweep (id, spec, created) VALUES (1, ?, ?)", (json.dumps(spec), now)
            )
            db.executemany(
                "INSERT INTO trials (idx, space, config, params, flops, n_params, acts)"
                " VALUES (:idx, :space, :config, :params, :flops, :n_params, :acts)",
                [
                    t | {"config": json.dumps(t["config"]), "params": json.dumps(t["params"])}
                    for t in trials
                ],
            )

    # ------------------------------------------------------------------ trials

    def reset_running(self) -> int:
        """Put trials left ``running`` by a killed sweep back to ``pending``; returns how many."""
        with self._connect() as db:
            cur = db.execute(
                "UPDATE trials SET status='pending', worker=NULL, started=NULL"
                " WHERE status='running'"
            )
            return cur.rowcount

    def retry_failed(self) -> int:
        with self._connect() as db:
            cur = db.execute(
                "UPDATE trials SET status='pending', message=NULL WHERE status='failed'"
            )
            return cur.rowcount

    def pending(self) -> list[dict]:
        with self._read() as db:
            rows = db.execute("SELECT * FROM trials WHERE status='pending' ORDER BY idx").fetchall()
        return [_row(r) for r in rows]

    def mark_running(self, idx: int, worker: str) -> None:
        with self._connect() as db:
            db.execute(
                "UPDATE trials SET status='running', worker=?, started=?, attempts=attempts+1"
                " WHERE idx=?",
                (worker, time.time(), idx),
            )

    def finish(self, idx: int, result: dict) -> None:
        """Record a trial's outcome: ``status`` (``done``/``failed``), ``error``,
        ``best_error``, ``wall_time`` (the whole trial), ``train_time`` (the training loop alone),
        ``epochs`` and ``message`` (the failure)."""
        status = result.get("status", "failed")
        if status not in ("done", "failed"):
            raise ValueError(f"a finished trial is done or failed, not {status!r}")
        with self._connect() as db:
            db.execute(
                "UPDATE trials SET status=?, error=?, best_error=?, wall_time=?, train_time=?,"
                " epochs=?, message=?, finished=? WHERE idx=?",
                (
                    status,
                    result.get("error"),
                    result.get("best_error"),
                    result.get("wall_time"),
                    result.get("train_time"),
                    result.get("epochs"),
                    result.get("message"),
                    time.time(),
                    idx,
                ),
            )

    def trials(self, status: str | None = None) -> list[dict]:
        with self._read() as db:
            if status is None:
                rows = db.execute("SELECT * FROM trials ORDER BY idx").fetchall()
            else:
                rows = db.execute(
                    "SELECT * FROM trials WHERE status=? ORDER BY idx", (status,)
                ).fetchall()
        return [_row(r) for r in rows]

    def counts(self) -> dict[str, int]:
        with self._read() as db:
            rows = db.execute("SELECT status, COUNT(*) AS n FROM trials GROUP BY status").fetchall()
        out = dict.fromkeys(TRIAL_STATUSES, 0)
        out.update({r["status"]: r["n"] for r in rows})
        return out


def _row(r: sqlite3.Row) -> dict:
    d = dict(r)
    d["config"] = json.loads(d["config"])
    d["params"] = json.loads(d["params"])
    return d
