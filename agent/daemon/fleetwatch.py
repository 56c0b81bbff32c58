"""``agent.yaml`` watched while the daemon runs.

Every few seconds the file is read and hashed (a file of a few kilobytes:
cheaper than a dependency on inotify, and it works on every file system,
a ConfigMap's symlink swap included, where mtime alone can stay the same).
When its content changed, and then held still for one more look (a file
being written is never read half-way: a file cut after its first app would
be valid, and remove the others), it is loaded as at start
(:func:`agent.config.load_config`):

- valid: the new apps (``apps:``, ``appSets:``, ``syncWindows:``) replace
  the fleet; any other setting that changed (the port, the clusters, the
  daemon's limits, source credentials, ...) keeps its running value until a
  restart, and one warning names those settings (never their values);
- invalid (or gone): the running fleet stays as it is (nothing is removed,
  nothing deleted), one error names the file and the field, and the status
  API and page show it until a valid file is written;
- valid but listing no apps and no AppSets while apps are served (an
  emptied file, a mount gone blank): taken as a mistake, as ApplicationSet's
  users asked of a generator that returns nothing (argo-cd#9227): the
  running fleet is kept and the problem shown; a restart with that file
  serves no apps.

As Flux's and Argo CD's controllers pick up a changed object without a
restart; the part of the configuration that shapes the process itself
(the listening socket, the connections) is read once, as Kubernetes'
own components do with their flags.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from agent.config import AgentConfig, load_config
from agent.errors import ConfigError

log = logging.getLogger("gitops_agent.config")
POLL_SECONDS = 2.0
LIVE = frozenset({"apps", "app_sets", "sync_windows"})  # what a new file changes while running


def _differences(old: Any, new: Any, where: str = "") -> list[str]:
    """Dotted paths (as the file writes them) whose values differ; lists
    and leaves are compared whole."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        out: list[str] = []
        for key in sorted(old.keys() | new.keys(), key=str):
            out += _differences(old.get(key), new.get(key), f"{where}.{key}" if where else str(key))
        return out
    return [] if old == new else [where]


def restart_only(running: AgentConfig, new: AgentConfig) -> list[str]:
    """The settings a new file changes that take effect only at a restart."""
    skip = LIVE | {"base_dir"}
    fields = {name for name in type(running).model_fields if name not in skip}
    return _differences(
        running.model_dump(by_alias=True, include=fields), new.model_dump(by_alias=True, include=fields)
    )


def live_part(running: AgentConfig, new: AgentConfig) -> AgentConfig:
    """The running configuration with the new file's apps, AppSets and windows."""
    return running.model_copy(update={name: getattr(new, name) for name in LIVE})


class ConfigWatch:
    """Polls ``path``; ``apply`` gets each valid new configuration (the
    running one with the new live part), ``report`` the problem ("" once
    the file is fine again)."""

    def __init__(
        self,
        path: Path,
        running: AgentConfig,
        apply: Callable[[AgentConfig], None],
        report: Callable[[str], None],
        interval: float = POLL_SECONDS,
    ) -> None:
        self.path = path
        self.running = running
        self.apply = apply
        self.report = report
        self.interval = interval
        self._seen = self._digest()
        self._settling = ""  # a new content seen once: applied if the next look sees it again
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _digest(self) -> str:
        try:
            return hashlib.sha256(self.path.read_bytes()).hexdigest()
        except OSError as e:
            return f"unreadable: {e.errno}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="config-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception:  # a bug here must not end the watch (nor the daemon)
                log.exception("reading %s again failed", self.path, extra={"stage": "config"})

    def check(self) -> bool:
        """Look once; True when a new valid configuration was applied."""
        digest = self._digest()
        if digest == self._seen or digest != self._settling:
            self._settling = "" if digest == self._seen else digest  # changed: wait until it holds still
            return False
        self._seen, self._settling = digest, ""
        try:
            new = load_config(self.path)
            if not (new.apps or new.app_sets) and (self.running.apps or self.running.app_sets):
                raise ConfigError(f"{self.path}: no apps and no appSets (the file emptied?)")
        except ConfigError as e:
            message = f"{e.message}; the running fleet is kept"
            log.error("configuration not applied: %s", message, extra={"stage": "config"})
            self.report(message)
            return False
        later = restart_only(self.running, new)
        if later:
            log.warning(
                "%s: %s changed; kept as running until the agent restarts",
                self.path,
                ", ".join(later),
                extra={"stage": "config"},
            )
        self.running = live_part(self.running, new)
        self.report("")
        log.info("%s read again: %d app(s)", self.path, len(new.apps), extra={"stage": "config"})
        self.apply(self.running)
        return True


__all__ = ["ConfigWatch", "live_part", "restart_only"]
