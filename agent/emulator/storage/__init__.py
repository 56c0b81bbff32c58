"""Storage: objects and their event log in SQLite, and how lists are cut.

:mod:`.store` persists objects (one transaction per write; the event log's
row id is the resourceVersion), :mod:`.listing` pages lists with ``limit``
and ``continue`` tokens, :mod:`.selectors` parses label and field selectors.
It knows nothing of admission or of the resource types' semantics, as etcd
knows nothing of the API server's.  In-process watches, which also run the
controllers while they wait, live beside the registry (:mod:`agent.emulator.watch`):
they need the ports protocol, and storage stays below it.
"""
