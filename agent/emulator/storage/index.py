"""The label index: every stored object's labels as rows (key, value ->
object), so a list by label selector reads the objects it returns and not
the whole kind.

The API server answers such lists from its watch cache, which indexes
labels too; a scan that parses every stored object of a kind made a list of
ten Deployments among a hundred thousand cost as much as listing all of them.
A requirement that says what must be there (``a=b``, ``a in (x,y)``, ``a``)
is answered from the index; one that says what must not be (``a!=b``,
``a notin (x)``, ``!a``) cannot be, and is tested on the objects the others
selected (:mod:`.listing`).  Rows come in key order (namespace, name), the
order of list pages, read a batch at a time from after the page's start key.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from agent.emulator.storage.selectors import Requirement

BATCH = 256  # rows read at a time (a page of 500 reads two batches, a list of 10 one)
Key = tuple[str, str, str, str]  # group, resource, namespace, name


def _labels(body: dict[str, Any]) -> list[tuple[str, str]]:
    labels = (body.get("metadata") or {}).get("labels") or {}
    return [(str(k), str(v)) for k, v in labels.items()] if isinstance(labels, dict) else []


def put(db: sqlite3.Connection, key: Key, body: dict[str, Any]) -> None:
    """The object's labels, as they now are."""
    db.execute("DELETE FROM labels WHERE grp=? AND resource=? AND namespace=? AND name=?", key)
    rows = [(*key, k, v) for k, v in _labels(body)]
    if rows:
        db.executemany("INSERT OR REPLACE INTO labels VALUES (?, ?, ?, ?, ?, ?)", rows)


def remove(db: sqlite3.Connection, key: Key) -> None:
    db.execute("DELETE FROM labels WHERE grp=? AND resource=? AND namespace=? AND name=?", key)


def backfill(db: sqlite3.Connection) -> None:
    """Index the labels of a database written before they were indexed (once)."""
    db.execute("DELETE FROM labels")
    for grp, resource, namespace, name, body in db.execute(
        "SELECT grp, resource, namespace, name, body FROM objects"
    ).fetchall():
        rows = [(grp, resource, namespace, name, k, v) for k, v in _labels(json.loads(body))]
        db.executemany("INSERT OR REPLACE INTO labels VALUES (?, ?, ?, ?, ?, ?)", rows)


def _rank(r: Requirement) -> int:
    """Which requirement drives the query: an exact value selects fewest rows."""
    return {"=": 0, "in": 1}.get(r.op, 2)


def _label_test(alias: str, r: Requirement) -> tuple[str, list[str]]:
    sql = f"{alias}.key=?"
    args = [r.key]
    if r.op in ("=", "in"):
        values = sorted(r.values)
        sql += f" AND {alias}.value IN ({','.join('?' * len(values))})" if values else " AND 0"
        args += values
    return sql, args


@dataclass(frozen=True)
class Query:
    """Objects of one kind (in one namespace, if given) meeting every
    indexable requirement, after ``after`` (namespace, name), in key order."""

    grp: str
    resource: str
    namespace: str | None = None
    labels: Sequence[Requirement] = ()
    after: tuple[str, str] | None = None

    def following(self, namespace: str, name: str) -> Query:
        return replace(self, after=(namespace, name))

    def sql(self, *, count: bool = False) -> tuple[str, list[Any]]:
        """The query: driven by the most selective indexable requirement
        (labels first, so SQLite cannot choose to walk the whole kind and
        probe each object's labels), else by the objects' own key."""
        wanted = sorted((r for r in self.labels if r.indexable), key=_rank)
        what = "COUNT(*)" if count else "o.body"
        args: list[Any] = [self.grp, self.resource]
        if wanted:
            drive, others, at = wanted[0], wanted[1:], "l"
            test, test_args = _label_test("l", drive)
            # fixed fragments only: every value is a parameter
            sql = (
                f"SELECT {what} FROM labels l INDEXED BY labels_by_value CROSS JOIN objects o"  # noqa: S608
                " ON o.grp=l.grp AND o.resource=l.resource AND o.namespace=l.namespace AND o.name=l.name"
                f" WHERE l.grp=? AND l.resource=? AND {test}"
            )
            args += test_args
        else:
            others, at = [], "o"
            sql = f"SELECT {what} FROM objects o WHERE o.grp=? AND o.resource=?"  # noqa: S608 - as above
        for r in others:
            test, test_args = _label_test("x", r)
            sql += (
                " AND EXISTS (SELECT 1 FROM labels x WHERE x.grp=o.grp AND x.resource=o.resource"  # noqa: S608
                f" AND x.namespace=o.namespace AND x.name=o.name AND {test})"
            )
            args += test_args
        where, where_args, order = self._position(at)
        return (sql + where if count else sql + where + order), args + where_args

    def _position(self, at: str) -> tuple[str, list[Any], str]:
        """The namespace and the start key as conditions, and the order.
        Within one namespace the order is by name alone: SQLite then walks
        the index from the start key without sorting."""
        if self.namespace is None:
            if self.after is None:
                return "", [], f" ORDER BY {at}.namespace, {at}.name"
            return (
                f" AND ({at}.namespace, {at}.name) > (?, ?)",
                list(self.after),
                f" ORDER BY {at}.namespace, {at}.name",
            )
        where, args = f" AND {at}.namespace=?", [self.namespace]
        if self.after is not None:
            after_ns, after_name = self.after
            if after_ns == self.namespace:
                where += f" AND {at}.name > ?"
                args.append(after_name)
            elif after_ns > self.namespace:
                where += " AND 0"  # the start key is past this namespace
        return where, args, f" ORDER BY {at}.name"
