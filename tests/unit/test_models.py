import itertools

from agent.models import Action, ChangeSet, ChangeSetEntry, HealthStatus, ObjectKey


def test_object_key_display_and_roundtrip() -> None:
    key = ObjectKey.of(
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "prod"}}
    )
    assert key == ObjectKey("apps", "Deployment", "prod", "web")
    assert str(key) == "Deployment/prod/web"
    assert str(ObjectKey("", "Namespace", "", "prod")) == "Namespace/prod"
    assert str(ObjectKey("stable.example.com", "CronTab", "ns", "c")) == "CronTab.stable.example.com/ns/c"
    assert ObjectKey.from_dict(key.to_dict()) == key


def test_health_order_aggregates_to_the_worst() -> None:
    order = [
        HealthStatus.HEALTHY,
        HealthStatus.SUSPENDED,
        HealthStatus.PROGRESSING,
        HealthStatus.MISSING,
        HealthStatus.DEGRADED,
        HealthStatus.UNKNOWN,
    ]
    for better, worse in itertools.pairwise(order):
        assert worse.is_worse(better)
        assert HealthStatus.worst([better, worse, better]) is worse
    assert HealthStatus.worst([]) is HealthStatus.HEALTHY


def test_changeset_summary_counts_actions() -> None:
    k = ObjectKey("", "ConfigMap", "a", "b")
    cs = ChangeSet(
        (
            ChangeSetEntry(k, Action.CREATED),
            ChangeSetEntry(k, Action.UNCHANGED),
            ChangeSetEntry(k, Action.UNCHANGED),
        )
    )
    assert cs.summary() == {"created": 1, "unchanged": 2}
    assert cs.changed
    assert not ChangeSet((ChangeSetEntry(k, Action.UNCHANGED),)).changed
