"""The pure field machinery: patches, field sets and managed fields.

No storage, no types lookup, no I/O: functions over JSON objects and
:class:`agent.kube.nodes.Node` schemas, so each is unit-tested on its own
(``tests/unit/emulator``).  :mod:`.patching` applies merge, JSON and
strategic merge patches; :mod:`.fieldsets` flattens objects into field paths
and reads and writes ``fieldsV1``; :mod:`.managed` keeps ``managedFields``
(who owns which field) through updates and server-side apply, as
structured-merge-diff does for the API server.
"""
