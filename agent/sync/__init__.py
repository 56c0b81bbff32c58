"""Sync: one reconcile of one app, as the script of its stages.

:mod:`~agent.sync.pipeline` is the script (``reconcile``, ``prepare``);
each stage is a module of its own: :mod:`~agent.sync.fetch`,
:mod:`~agent.sync.render`, :mod:`~agent.sync.live`, :mod:`~agent.sync.plan`
(pure, with :mod:`~agent.sync.waves` and :mod:`~agent.sync.ownership`),
:mod:`~agent.sync.apply` (writes; :mod:`~agent.sync.delete` prunes,
:mod:`~agent.sync.hooks` hook delete policies), :mod:`~agent.sync.settle`
(health waits, per batch, inside the apply run: a wave waits for the one
before it), :mod:`~agent.sync.record` (the revision record, built in one
place) and :mod:`~agent.sync.rollback`.  :mod:`~agent.sync.status` reads an
app without writing (drift, status); :mod:`~agent.sync.context` is what
every stage is handed.  Threads live in the stages that work side by side
(fetch, live, settle, apply, record), never in the script.
"""
