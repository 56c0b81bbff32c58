"""A gauge of many labelled series held as one dict.

prometheus_client's ``Gauge`` keeps an object, a value object and a lock
per series, about 700 bytes each; the daemon's per-app gauges (sync status,
health, drifted objects, info) are 12 series an app, 8 MiB at 1,000 apps.
:class:`LabeledGauge` keeps each series as one dict entry and answers the
calls the daemon makes (``labels(...).set(v)``, ``remove(...)``); a scrape
reads the same samples as before.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable, Sequence

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


class _Series:
    __slots__ = ("gauge", "key")

    def __init__(self, gauge: LabeledGauge, key: tuple[str, ...]) -> None:
        self.gauge, self.key = gauge, key

    def set(self, value: float) -> None:
        with self.gauge.lock:
            self.gauge.values[self.key] = float(value)


class LabeledGauge(Collector):
    def __init__(
        self, name: str, documentation: str, labelnames: Sequence[str], registry: CollectorRegistry
    ) -> None:
        self.name, self.documentation, self.labelnames = name, documentation, tuple(labelnames)
        self.values: dict[tuple[str, ...], float] = {}
        self.lock = threading.Lock()
        registry.register(self)

    def _key(self, values: Sequence[object]) -> tuple[str, ...]:
        if len(values) != len(self.labelnames):
            raise ValueError(f"{self.name}: expected {len(self.labelnames)} label values, got {len(values)}")
        return tuple(sys.intern(str(v)) for v in values)  # an app's name once for its series

    def labels(self, *values: object) -> _Series:
        return _Series(self, self._key(values))

    def remove(self, *values: object) -> None:
        """Drop one series (KeyError when there is none, as prometheus_client's)."""
        with self.lock:
            del self.values[self._key(values)]

    def describe(self) -> Iterable[Metric]:
        return [GaugeMetricFamily(self.name, self.documentation, labels=self.labelnames)]

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(self.name, self.documentation, labels=self.labelnames)
        with self.lock:
            samples = list(self.values.items())
        for key, value in samples:
            family.add_metric(key, value)
        return [family]
