"""Persistence of the emulated cluster: objects in SQLite.

One transaction per write, WAL journal: a write is on disk when the call
returns, and a killed process loses nothing it acknowledged.  Every write
also appends to ``events``, whose row id *is* the cluster's global,
monotonically increasing resourceVersion (and, later, the watch log).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

JSON = dict[str, Any]
EVENTS_KEPT = 10_000  # watch history kept; older events are compacted away

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    grp TEXT NOT NULL,
    resource TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    rv INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (grp, resource, namespace, name)
);
CREATE TABLE IF NOT EXISTS events (
    rv INTEGER PRIMARY KEY AUTOINCREMENT,
    type TEXT NOT NULL,
    grp TEXT NOT NULL,
    resource TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL
);
"""


class Store:
    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._lock = threading.RLock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL mode
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(self._db)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def get(self, grp: str, resource: str, namespace: str, name: str) -> JSON | None:
        with self._lock:
            row = self._db.execute(
                "SELECT body FROM objects WHERE grp=? AND resource=? AND namespace=? AND name=?",
                (grp, resource, namespace, name),
            ).fetchone()
        return None if row is None else json.loads(row[0])

    def list(self, grp: str, resource: str, namespace: str | None = None) -> list[JSON]:
        sql = "SELECT body FROM objects WHERE grp=? AND resource=?"
        args: tuple[str, ...] = (grp, resource)
        if namespace is not None:
            sql += " AND namespace=?"
            args += (namespace,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY namespace, name", args).fetchall()
        return [json.loads(r[0]) for r in rows]

    def current_rv(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT seq FROM sqlite_sequence WHERE name='events'").fetchone()
        return int(row[0]) if row else 0


class Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def next_rv(self, kind: str, grp: str, resource: str, namespace: str, name: str) -> int:
        """Reserve the next resourceVersion by logging an event for it."""
        cur = self._db.execute(
            "INSERT INTO events (type, grp, resource, namespace, name, body) VALUES (?, ?, ?, ?, ?, '')",
            (kind, grp, resource, namespace, name),
        )
        rv = int(cur.lastrowid or 0)
        if rv % 1000 == 0:
            self._db.execute("DELETE FROM events WHERE rv <= ?", (rv - EVENTS_KEPT,))
        return rv

    def put(self, grp: str, resource: str, namespace: str, name: str, rv: int, body: JSON) -> None:
        text = json.dumps(body, separators=(",", ":"))
        self._db.execute(
            "INSERT OR REPLACE INTO objects (grp, resource, namespace, name, rv, body) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (grp, resource, namespace, name, rv, text),
        )
        self._db.execute("UPDATE events SET body=? WHERE rv=?", (text, rv))

    def remove(self, grp: str, resource: str, namespace: str, name: str, rv: int, body: JSON) -> None:
        self._db.execute(
            "DELETE FROM objects WHERE grp=? AND resource=? AND namespace=? AND name=?",
            (grp, resource, namespace, name),
        )
        self._db.execute("UPDATE events SET body=? WHERE rv=?", (json.dumps(body, separators=(",", ":")), rv))

    def namespaced_in(self, namespace: str) -> list[tuple[str, str, str, JSON]]:
        rows = self._db.execute(
            "SELECT grp, resource, name, body FROM objects WHERE namespace=?", (namespace,)
        ).fetchall()
        return [(r[0], r[1], r[2], json.loads(r[3])) for r in rows]
