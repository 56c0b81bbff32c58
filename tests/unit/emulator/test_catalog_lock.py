"""The catalog of served types and the store share one lock: a write asks the
catalog inside the store's transaction while another thread rebuilds the
catalog from the stored CRDs, and neither may wait for the other for ever."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from agent.emulator import EmulatedCluster


def test_a_catalog_rebuild_beside_a_write_in_progress_does_not_deadlock(tmp_path: Path) -> None:
    cluster = EmulatedCluster(tmp_path / "cluster.db")
    catalog = cluster.registry.catalog
    rt = catalog.resource_type("v1", "ConfigMap")
    finished: list[str] = []

    def writer() -> None:
        with cluster.store.transaction():  # as a create holds it while admitting its object
            catalog.invalidate()
            rebuild = threading.Thread(target=catalog.types, daemon=True)
            rebuild.start()
            time.sleep(0.2)  # the rebuild is now waiting for what the writer holds
            catalog.crd_of(rt)  # the writer asks the catalog, as admission does
        rebuild.join(10)
        finished.append("rebuilt" if not rebuild.is_alive() else "rebuild stuck")

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    thread.join(20)
    if not thread.is_alive():  # a writer stuck in a deadlock would keep close() waiting too
        cluster.close()
    assert finished == ["rebuilt"]
