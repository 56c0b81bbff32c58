"""The HTTP app's routes, one module per concern: probes (and metrics),
apps (the list, one app, the page), drift, history, triggers (sync and
rollback by hand) and webhooks.

Each router reaches the daemon only through the
:class:`~agent.daemon.protocol.DaemonView` dependency in :mod:`.common`, as
FastAPI's bigger applications split their routes (one ``APIRouter`` per
concern, dependencies injected); :func:`agent.daemon.api.create_app` mounts
them in the order the OpenAPI document lists them.
"""
