"""Deciding notifications against real Redis: a condition that keeps holding is claimed once, is
claimed again after it stopped holding (no oncePer), and once per value with oncePer; an ended
operation waits for the poll after it (Argo CD's isAppSyncStatusRefreshed)."""

from __future__ import annotations

import time
from typing import Any

from reconciler.control.notifications.config import parse_config
from reconciler.control.notifications.events import _decide
from reconciler.control.notifications.secrets import Secrets
from reconciler.state import Keys, Store

MANIFEST = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Application",
    "metadata": {"name": "web", "namespace": "argocd",
                 "annotations": {"notifications.argoproj.io/subscribe.on-degraded.hook": "",
                                 "notifications.argoproj.io/subscribe.on-failed.hook": ""}},
    "spec": {"project": "default", "source": {"repoURL": "https://example.com/r.git", "path": "."},
             "destination": {"server": "https://kubernetes.default.svc", "namespace": "web"}},
}
CONFIG = parse_config(
    {
        "service.webhook.hook": "url: https://hooks.example.com\n",
        "template.t": "message: x\n",
        "trigger.on-degraded": "- when: app.status.health.status == 'Degraded'\n  send: [t]\n",
        "trigger.on-failed": (
            "- when: app.status.operationState != nil and app.status.operationState.phase == 'Failed'\n"
            "  oncePer: app.status.operationState?.syncResult?.revision\n  send: [t]\n"
        ),
    },
    Secrets(),
    source="test",
    check_templates=False,
)


def poll(store: Store, health: str, observed: float | None = None) -> int:
    observed = observed or time.time()
    store.write_status("web", {"sync": {"status": "Synced", "revision": "a"}, "health": {"status": health},
                               "observedAt": observed, "reconciledAt": observed})
    return _decide(store, CONFIG, "web", deleting=False)


def queued(store: Store) -> list[dict[str, Any]]:
    return [store.delivery(i) for i in store.r.lrange(Keys.notify_ready, 0, -1)]


def test_a_condition_that_keeps_holding_is_claimed_once_and_again_after_it_stopped(redis_client: Any) -> None:
    store = Store(redis_client)
    store.put_app("web", MANIFEST)
    assert [poll(store, "Degraded"), poll(store, "Degraded"), poll(store, "Degraded")] == [1, 0, 0]
    assert [poll(store, "Healthy"), poll(store, "Degraded")] == [0, 1]
    assert [entry["trigger"] for entry in queued(store)] == ["on-degraded", "on-degraded"]


def test_once_per_sends_once_per_value_and_waits_for_the_poll_after_the_operation(redis_client: Any) -> None:
    store = Store(redis_client)
    store.put_app("web", MANIFEST)
    finished = time.time()
    poll(store, "Healthy", observed=finished - 100)
    for revision in ("r1", "r1", "r2"):
        store.put_operation_state("web", {"id": revision, "phase": "Failed", "startedAt": finished - 5,
                                          "finishedAt": finished, "revision": revision})
        # The status was computed before the operation ended: nothing is decided yet.
        assert poll(store, "Healthy", observed=finished - 1) == 0
        poll(store, "Healthy", observed=finished + 1)
        finished += 10
    assert [entry["stateKey"].split(":")[0] for entry in queued(store)] == ["r1", "r2"]
