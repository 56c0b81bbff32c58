"""Metrics of many labelled series, each held as one dict entry.

prometheus_client keeps an object, a value object and a lock per series
(about 700 bytes; a histogram's series one per bucket besides): the
daemon's per-app series (sync status, health, drifted objects, info,
reconciles and their durations) took 11 MiB at 1,000 apps.  These keep
each series as a dict entry and answer the calls the daemon makes
(``labels(...).set(v)``, ``.inc()``, ``.observe(s)``, ``remove(...)``);
a scrape reads the same samples as before.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable, Sequence

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString


def _key(name: str, labelnames: tuple[str, ...], values: Sequence[object]) -> tuple[str, ...]:
    if len(values) != len(labelnames):
        raise ValueError(f"{name}: expected {len(labelnames)} label values, got {len(values)}")
    return tuple(sys.intern(str(v)) for v in values)  # an app's name once for all its series


class _Series:
    __slots__ = ("gauge", "key")

    def __init__(self, gauge: LabeledGauge, key: tuple[str, ...]) -> None:
        self.gauge, self.key = gauge, key

    def set(self, value: float) -> None:
        with self.gauge.lock:
            self.gauge.values[self.key] = float(value)

    def inc(self, amount: float = 1) -> None:
        with self.gauge.lock:
            self.gauge.values[self.key] = self.gauge.values.get(self.key, 0.0) + amount


class LabeledGauge(Collector):
    def __init__(
        self, name: str, documentation: str, labelnames: Sequence[str], registry: CollectorRegistry
    ) -> None:
        self.name, self.documentation, self.labelnames = name, documentation, tuple(labelnames)
        self.values: dict[tuple[str, ...], float] = {}
        self.lock = threading.Lock()
        registry.register(self)

    def labels(self, *values: object) -> _Series:
        return _Series(self, _key(self.name, self.labelnames, values))

    def remove(self, *values: object) -> None:
        """Drop one series (KeyError when there is none, as prometheus_client's)."""
        with self.lock:
            del self.values[_key(self.name, self.labelnames, values)]

    def _family(self) -> GaugeMetricFamily | CounterMetricFamily:
        return GaugeMetricFamily(self.name, self.documentation, labels=self.labelnames)

    def describe(self) -> Iterable[Metric]:
        return [self._family()]

    def collect(self) -> Iterable[Metric]:
        family = self._family()
        with self.lock:
            samples = list(self.values.items())
        for key, value in samples:
            family.add_metric(key, value)
        return [family]


class LabeledCounter(LabeledGauge):
    """A counter (``name`` without ``_total``, as prometheus_client's ``Counter`` takes it)."""

    def _family(self) -> GaugeMetricFamily | CounterMetricFamily:
        return CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)


class _Observed:
    __slots__ = ("histogram", "key")

    def __init__(self, histogram: LabeledHistogram, key: tuple[str, ...]) -> None:
        self.histogram, self.key = histogram, key

    def observe(self, value: float) -> None:
        h = self.histogram
        with h.lock:
            counts = h.counts.get(self.key)
            if counts is None:  # one count per bucket (+Inf last), then the sum
                counts = h.counts[self.key] = [0.0] * (len(h.bounds) + 1)
            for i, bound in enumerate(h.bounds):
                if value <= bound:
                    counts[i] += 1
                    break
            counts[-1] += value


class LabeledHistogram(Collector):
    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        buckets: Sequence[float],
        registry: CollectorRegistry,
    ) -> None:
        self.name, self.documentation, self.labelnames = name, documentation, tuple(labelnames)
        self.bounds = (*sorted(float(b) for b in buckets), float("inf"))
        self.counts: dict[tuple[str, ...], list[float]] = {}
        self.lock = threading.Lock()
        registry.register(self)

    def labels(self, *values: object) -> _Observed:
        return _Observed(self, _key(self.name, self.labelnames, values))

    def remove(self, *values: object) -> None:
        with self.lock:
            del self.counts[_key(self.name, self.labelnames, values)]

    def describe(self) -> Iterable[Metric]:
        return [HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)]

    def collect(self) -> Iterable[Metric]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        with self.lock:
            samples = [(key, list(counts)) for key, counts in self.counts.items()]
        for key, counts in samples:
            buckets, total = [], 0.0
            for bound, count in zip(self.bounds, counts, strict=False):
                total += count
                buckets.append((floatToGoString(bound), total))  # type: ignore[no-untyped-call]
            family.add_metric(key, buckets, counts[-1])
        return [family]
