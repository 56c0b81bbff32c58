"""Persistence of the emulated cluster: objects in SQLite.

One transaction per write, WAL journal: a write is on disk when the call
returns, and a killed process loses nothing it acknowledged.  Every write
also appends to ``events``, whose row id *is* the cluster's global,
monotonically increasing resourceVersion and the log that watches replay
(the last :data:`EVENTS_KEPT` are kept; older ones are compacted away, and a
watch from before them gets 410 Expired).  ``owners`` indexes
ownerReferences by owner uid for garbage collection, ``labels`` every
object's labels (key, value -> object: :mod:`.index`); ``meta`` keeps the
server's settings (token, address, fault rules) across restarts.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from agent.emulator.storage import index

JSON = dict[str, Any]
Key = tuple[str, str, str, str]  # group, resource, namespace, name
Keys = list[Key]
Names = list[tuple[str, str]]  # namespace, name
Objects = list[JSON]
Events = list[tuple[int, str, JSON]]
EVENTS_KEPT = 10_000

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
CREATE INDEX IF NOT EXISTS events_by_resource ON events (grp, resource, rv);
CREATE TABLE IF NOT EXISTS owners (
    owner_uid TEXT NOT NULL,
    grp TEXT NOT NULL,
    resource TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (owner_uid, grp, resource, namespace, name)
);
CREATE INDEX IF NOT EXISTS owners_by_object ON owners (grp, resource, namespace, name);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS labels (
    grp TEXT NOT NULL,
    resource TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (grp, resource, namespace, name, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS labels_by_value ON labels (grp, resource, key, value, namespace, name);
"""


def _dump(body: JSON) -> str:
    return json.dumps(body, separators=(",", ":"))


class Store:
    def __init__(self, path: str | Path, events_kept: int = EVENTS_KEPT) -> None:
        self.path = str(path)
        self.events_kept = events_kept
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._lock = threading.RLock()
        self._depth = 0  # open transactions and savepoints (under the lock)
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL mode
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.executescript(_SCHEMA)
            columns = {r[1] for r in self._db.execute("PRAGMA table_info(objects)")}
            if "uid" not in columns:  # databases written before uids were indexed
                self._db.execute("ALTER TABLE objects ADD COLUMN uid TEXT NOT NULL DEFAULT ''")
            self._db.execute("CREATE INDEX IF NOT EXISTS objects_by_uid ON objects (uid)")
            if self.get_meta("labels-indexed") is None:  # databases written before labels were indexed
                index.backfill(self._db)
                self.set_meta("labels-indexed", "1")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One write, all or nothing; inside :meth:`batch` a savepoint of the batch's
        transaction (undone alone when it fails), committed with the batch."""
        with self._lock:
            depth = self._depth
            begin, undo, done = (
                ("BEGIN IMMEDIATE", "ROLLBACK", "COMMIT")
                if depth == 0
                else (f"SAVEPOINT w{depth}", f"ROLLBACK TO w{depth}; RELEASE w{depth}", f"RELEASE w{depth}")
            )
            self._db.execute(begin)
            self._depth = depth + 1
            try:
                yield Transaction(self._db, self.events_kept)
            except BaseException:
                self._depth = depth
                for statement in undo.split("; "):
                    self._db.execute(statement)
                raise
            self._depth = depth
            self._db.execute(done)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Writes made inside commit together when it ends, whatever ends it (each stays
        all or nothing on its own): the many small writes of one controllers' pass cost
        one commit.  Holds the lock throughout, so no other thread sees them before."""
        with self._lock:
            if self._depth:
                yield
                return
            self._db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
            finally:
                self._depth = 0
                self._db.execute("COMMIT")

    def get(self, grp: str, resource: str, namespace: str, name: str) -> JSON | None:
        with self._lock:
            row = self._db.execute(
                "SELECT body FROM objects WHERE grp=? AND resource=? AND namespace=? AND name=?",
                (grp, resource, namespace, name),
            ).fetchone()
        return None if row is None else json.loads(row[0])

    def list(self, grp: str, resource: str, namespace: str | None = None) -> Objects:
        sql = "SELECT body FROM objects WHERE grp=? AND resource=?"
        args: tuple[str, ...] = (grp, resource)
        if namespace is not None:
            sql += " AND namespace=?"
            args += (namespace,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY namespace, name", args).fetchall()
        return [json.loads(r[0]) for r in rows]

    def select(self, query: index.Query) -> Iterator[JSON]:
        """Objects of one kind in key order (namespace, name) that meet the
        query's indexable label requirements, after its start key, read a
        few hundred at a time: a page of 10 of 100,000 objects reads about
        10 rows, not the whole kind (the caller filters the rest and stops)."""
        while True:
            sql, args = query.sql()
            with self._lock:
                rows = self._db.execute(sql + " LIMIT ?", (*args, index.BATCH)).fetchall()
            body: JSON = {}
            for row in rows:
                body = json.loads(row[0])
                yield body
            if len(rows) < index.BATCH:
                return
            meta = body.get("metadata") or {}
            query = query.following(str(meta.get("namespace") or ""), str(meta.get("name") or ""))

    def count(self, query: index.Query) -> int:
        sql, args = query.sql(count=True)
        with self._lock:
            return int(self._db.execute(sql, args).fetchone()[0])

    def keys_in(self, namespace: str) -> Keys:
        with self._lock:
            rows = self._db.execute(
                "SELECT grp, resource, namespace, name FROM objects WHERE namespace=? "
                "ORDER BY grp, resource, name",
                (namespace,),
            ).fetchall()
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    def all_keys(self, grp: str, resource: str) -> Keys:
        with self._lock:
            rows = self._db.execute(
                "SELECT grp, resource, namespace, name FROM objects WHERE grp=? AND resource=?",
                (grp, resource),
            ).fetchall()
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    def dependents(self, owner_uid: str) -> Keys:
        with self._lock:
            rows = self._db.execute(
                "SELECT grp, resource, namespace, name FROM owners WHERE owner_uid=?", (owner_uid,)
            ).fetchall()
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    def uid_exists(self, uid: str) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM objects WHERE uid=?", (uid,)).fetchone() is not None

    def key_of_uid(self, uid: str) -> Key | None:
        with self._lock:
            row = self._db.execute(
                "SELECT grp, resource, namespace, name FROM objects WHERE uid=?", (uid,)
            ).fetchone()
        return None if row is None else (row[0], row[1], row[2], row[3])

    def current_rv(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT seq FROM sqlite_sequence WHERE name='events'").fetchone()
        return int(row[0]) if row else 0

    def oldest_event_rv(self) -> int:
        """The lowest resourceVersion still in the watch log (0: nothing compacted yet)."""
        with self._lock:
            row = self._db.execute("SELECT MIN(rv) FROM events").fetchone()
        return int(row[0]) if row and row[0] is not None else self.current_rv() + 1

    def events_since(
        self, rv: int, grp: str, resource: str, namespace: str | None = None, limit: int = 500
    ) -> Events:
        sql = "SELECT rv, type, body FROM events WHERE grp=? AND resource=? AND rv>? AND body!=''"
        args: tuple[Any, ...] = (grp, resource, rv)
        if namespace:
            sql += " AND namespace=?"
            args += (namespace,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY rv LIMIT ?", (*args, limit)).fetchall()
        return [(int(r[0]), str(r[1]), json.loads(r[2])) for r in rows]

    def body_before(self, rv: int, grp: str, resource: str, namespace: str, name: str) -> JSON | None:
        """The object as the event log last had it before ``rv`` (None: not in the log)."""
        sql = (
            "SELECT body FROM events WHERE grp=? AND resource=? AND rv<? AND namespace=? AND name=?"
            " AND body!='' ORDER BY rv DESC LIMIT 1"
        )
        with self._lock:
            row = self._db.execute(sql, (grp, resource, rv, namespace, name)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def written_since(self, rv: int, grp: str, resource: str, namespace: str | None) -> Names:
        """The (namespace, name) of the objects of a kind written after ``rv``."""
        sql = "SELECT DISTINCT namespace, name FROM events WHERE grp=? AND resource=? AND rv>?"
        args: tuple[Any, ...] = (grp, resource, rv)
        if namespace is not None:
            sql += " AND namespace=?"
            args += (namespace,)
        with self._lock:
            return [(str(r[0]), str(r[1])) for r in self._db.execute(sql, args).fetchall()]

    def state_at(
        self, rv: int, grp: str, resource: str, namespace: str, name: str
    ) -> tuple[bool, JSON | None]:
        """An object as it was at ``rv``: (known, body), the body None when it did not exist
        then; not known when the log no longer holds its state at ``rv``."""
        with self._lock:
            row = self._db.execute(
                "SELECT type, body FROM events WHERE grp=? AND resource=? AND namespace=? AND name=?"
                " AND rv<=? AND body!='' ORDER BY rv DESC LIMIT 1",
                (grp, resource, namespace, name, rv),
            ).fetchone()
            if row is not None:
                return True, None if row[0] == "DELETED" else dict(json.loads(row[1]))
            first = self._db.execute(
                "SELECT type FROM events WHERE grp=? AND resource=? AND namespace=? AND name=?"
                " AND rv>? AND body!='' ORDER BY rv LIMIT 1",
                (grp, resource, namespace, name, rv),
            ).fetchone()
        return (first is not None and first[0] == "ADDED"), None  # created after rv, or unknown

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


class Transaction:
    def __init__(self, db: sqlite3.Connection, events_kept: int = EVENTS_KEPT) -> None:
        self._db = db
        self._kept = events_kept

    def next_rv(self, kind: str, grp: str, resource: str, namespace: str, name: str) -> int:
        """Reserve the next resourceVersion by logging an event for it."""
        cur = self._db.execute(
            "INSERT INTO events (type, grp, resource, namespace, name, body) VALUES (?, ?, ?, ?, ?, '')",
            (kind, grp, resource, namespace, name),
        )
        rv = int(cur.lastrowid or 0)
        if rv % max(1, self._kept // 10) == 0:
            self._db.execute("DELETE FROM events WHERE rv <= ?", (rv - self._kept,))
        return rv

    def put(  # noqa: PLR0917 - a row's four key columns, then its version and body
        self,
        grp: str,
        resource: str,
        namespace: str,
        name: str,
        rv: int,
        body: JSON,
        *,
        previous: JSON | None = None,
        created: bool = False,
    ) -> None:
        """Store ``body``; ``previous``: the stored object it replaces, ``created``: there is
        none (its owner and label rows are then rewritten only when they changed)."""
        text = _dump(body)
        self._db.execute(
            "INSERT OR REPLACE INTO objects (grp, resource, namespace, name, rv, body, uid) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (grp, resource, namespace, name, rv, text, str((body.get("metadata") or {}).get("uid", ""))),
        )
        self._db.execute("UPDATE events SET body=? WHERE rv=?", (text, rv))
        meta = body.get("metadata") or {}
        before = {} if created else (previous or {}).get("metadata")
        if before is None or before.get("ownerReferences") != meta.get("ownerReferences"):
            self._index_owners(grp, resource, namespace, name, body)
        if before is None or before.get("labels") != meta.get("labels"):
            index.put(self._db, (grp, resource, namespace, name), body)

    def remove(  # noqa: PLR0917 - as put()
        self, grp: str, resource: str, namespace: str, name: str, rv: int, body: JSON
    ) -> None:
        self._db.execute(
            "DELETE FROM objects WHERE grp=? AND resource=? AND namespace=? AND name=?",
            (grp, resource, namespace, name),
        )
        self._db.execute("UPDATE events SET body=? WHERE rv=?", (_dump(body), rv))
        self._db.execute(
            "DELETE FROM owners WHERE grp=? AND resource=? AND namespace=? AND name=?",
            (grp, resource, namespace, name),
        )
        index.remove(self._db, (grp, resource, namespace, name))

    def _index_owners(self, grp: str, resource: str, namespace: str, name: str, body: JSON) -> None:
        refs = (body.get("metadata") or {}).get("ownerReferences") or ()
        if (
            not refs
            and not self._db.execute(
                "SELECT 1 FROM owners WHERE grp=? AND resource=? AND namespace=? AND name=? LIMIT 1",
                (grp, resource, namespace, name),
            ).fetchone()
        ):
            return
        self._db.execute(
            "DELETE FROM owners WHERE grp=? AND resource=? AND namespace=? AND name=?",
            (grp, resource, namespace, name),
        )
        for ref in refs:
            uid = ref.get("uid") if isinstance(ref, dict) else None
            if uid:
                self._db.execute(
                    "INSERT OR IGNORE INTO owners VALUES (?, ?, ?, ?, ?)",
                    (uid, grp, resource, namespace, name),
                )
