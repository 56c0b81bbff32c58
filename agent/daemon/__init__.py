"""The long-running agent: scheduler, webhook and status HTTP app.

Everything here drives the same engine as the one-shot commands
(:mod:`agent.sync.pipeline`); nothing below ``agent.daemon`` imports it.

How it is cut, and why:

- :mod:`.service` is the composition root (it wires the parts and handles
  the signals) and nothing but the CLI imports it;
- :mod:`.protocol` is all the HTTP app knows of the daemon
  (:class:`~.protocol.DaemonView`), so :mod:`.api` (which only assembles the
  app), :mod:`.routers` (probes, apps, drift, history, triggers, webhooks:
  one module each) and :mod:`.views` (the status summaries, made from state
  snapshots) stand without the service: no import circle, and the app can be
  served over a stub;
- :mod:`.reconciler` decides one run of one app (observe, then sync or
  report), :mod:`.scheduler` decides when (one job per app), :mod:`.state`
  holds what the daemon knows between runs (with the run's
  :class:`~.state.Outcome`);
- :mod:`.webhooks` verifies and parses pushes, :mod:`.matching` maps them to
  apps, :mod:`.limits` keeps the server hard to abuse, :mod:`.logs` writes
  the structured log lines.

What a run's result *says* (metrics, notifications, messages, documents) is
in :mod:`agent.report`, shared with the CLI, as Argo CD keeps its
notifications and metrics apart from the application controller.
"""
