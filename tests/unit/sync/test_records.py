"""Revision records: their encoding, made ahead of the record, and the digest (pure)."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from dataclasses import replace

import pytest

from agent.models import Manifest
from agent.results import Operation, RecordResult
from agent.sync.encoding import EncodedManifests, digest
from agent.sync.record import InventoryItem, RevisionRecord, _decode, _encode

MANIFESTS = tuple(
    {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"c{i}", "namespace": "app"},
        "data": {"z": "last", "a": str(i), "text": "é ✓ \u2028"},
    }
    for i in range(30)
)
RECORD = RevisionRecord(
    app="app",
    number=3,
    commit="c0ffee",
    ref="main",
    repo="file:///repo",
    digest="d",
    result="Succeeded",
    started="2026-01-01T00:00:00Z",
    finished="2026-01-01T00:00:01Z",
    inventory=(InventoryItem("v1", "ConfigMap", "app", "c0"),),
    manifests=MANIFESTS,
    message="a message",
    health="Healthy",
)


def secret_of(blob: str) -> dict[str, object]:
    return {"metadata": {"name": "gitops-agent.app.v3"}, "data": {"record": blob}}


def test_a_record_encoded_ahead_reads_back_whole() -> None:
    encoded = EncodedManifests(MANIFESTS)
    blob = encoded.finish(RECORD)
    assert _decode(secret_of(blob)) == RECORD
    assert blob == _encode(RECORD)  # one encoding, however it is made
    # the kept compressor state is copied, not used up: a second record from the same manifests
    failed = replace(RECORD, number=4, result="Failed", message="boom")
    assert _decode(secret_of(encoded.finish(failed))) == failed


def test_records_with_no_manifests_and_records_written_whole_still_read() -> None:
    empty = replace(RECORD, manifests=())
    assert _decode(secret_of(_encode(empty))) == empty
    whole = json.dumps(RECORD.to_json(), separators=(",", ":")).encode()  # a record of an earlier agent
    blob = base64.b64encode(gzip.compress(whole, compresslevel=6, mtime=0)).decode()
    assert _decode(secret_of(blob)) == RECORD


def test_a_record_with_other_manifests_is_refused() -> None:
    other = replace(RECORD, manifests=MANIFESTS[:-1])
    with pytest.raises(ValueError, match="not the ones encoded"):
        EncodedManifests(MANIFESTS).finish(other)


def test_the_digest_is_the_sha256_of_the_sorted_json_list() -> None:
    manifests = tuple(Manifest(m) for m in MANIFESTS)
    whole = json.dumps([m.obj for m in manifests], sort_keys=True, separators=(",", ":"))
    assert digest(manifests) == hashlib.sha256(whole.encode()).hexdigest()
    assert digest(()) == hashlib.sha256(b"[]").hexdigest()
    changed = (*manifests[:-1], Manifest({**MANIFESTS[-1], "data": {"a": "other"}}))
    assert digest(changed) != digest(manifests)


def test_words_of_a_newer_agent_still_read() -> None:
    """A record whose trigger or result this agent does not know reads as written;
    the words it knows read as its own."""
    data = RECORD.to_json() | {"trigger": "drift", "result": "Running", "operation": "rollback"}
    back = RevisionRecord.from_json(data)
    assert (back.trigger, back.result) == ("drift", "Running")
    assert back.operation is Operation.ROLLBACK and not back.succeeded
    assert RevisionRecord.from_json(RECORD.to_json()).result is RecordResult.SUCCEEDED
