"""The per-app series kept as dict entries read as prometheus_client's own classes would."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

import agent.report.metrics  # noqa: F401 - as in the daemon: no *_created samples
from agent.report.series import LabeledCounter, LabeledGauge, LabeledHistogram

BUCKETS = (0.05, 1, 2.5, 300)


def _feed(gauge: object, counter: object, histogram: object) -> None:
    for app in ("a", "b", "c"):
        for status in ("Synced", "OutOfSync"):
            gauge.labels(app, status).set(1 if status == "Synced" else 0)  # type: ignore[attr-defined]
        counter.labels(app, "webhook").inc()  # type: ignore[attr-defined]
        counter.labels(app, "webhook").inc()  # type: ignore[attr-defined]
        for seconds in (0.01, 0.05, 1.5, 400):  # on a bound, between two, above the last
            histogram.labels(app).observe(seconds)  # type: ignore[attr-defined]
    gauge.remove("b", "Synced")  # type: ignore[attr-defined]
    counter.remove("c", "webhook")  # type: ignore[attr-defined]
    histogram.remove("a")  # type: ignore[attr-defined]


def test_the_same_samples_as_prometheus_client() -> None:
    theirs, ours = CollectorRegistry(), CollectorRegistry()
    _feed(
        Gauge("t_status", "Status.", ["app", "status"], registry=theirs),
        Counter("t_runs", "Runs.", ["app", "trigger"], registry=theirs),
        Histogram("t_seconds", "Seconds.", ["app"], buckets=BUCKETS, registry=theirs),
    )
    _feed(
        LabeledGauge("t_status", "Status.", ["app", "status"], registry=ours),
        LabeledCounter("t_runs", "Runs.", ["app", "trigger"], registry=ours),
        LabeledHistogram("t_seconds", "Seconds.", ["app"], buckets=BUCKETS, registry=ours),
    )
    text = generate_latest(ours).decode()
    assert 't_seconds_bucket{app="b",le="1.0"} 2.0' in text
    assert 't_runs_total{app="a",trigger="webhook"} 2.0' in text
    assert text == generate_latest(theirs).decode()


def test_a_missing_series_or_wrong_labels_fail_as_prometheus_clients_do() -> None:
    gauge = LabeledGauge("t_status", "Status.", ["app", "status"], registry=CollectorRegistry())
    with pytest.raises(KeyError):
        gauge.remove("nobody", "Synced")
    with pytest.raises(ValueError, match="t_status: expected 2 label values, got 1"):
        gauge.labels("a")
