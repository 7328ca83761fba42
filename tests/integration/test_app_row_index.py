"""The API's in-memory list rows (control/app_rows.py RowIndex) follow every change through the
app event stream, and rebuild when the stream no longer holds what they missed; on a real Redis."""

from __future__ import annotations

from typing import Any

from reconciler.control.app_rows import RowIndex, rows
from reconciler.state import Keys, Store


def manifest(name: str, project: str = "default") -> dict[str, Any]:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": name},
            "spec": {"project": project, "source": {"repoURL": "https://git.example/cfg.git", "path": name},
                     "destination": {"server": "https://kubernetes.default.svc", "namespace": name}}}


def status(health: str) -> dict[str, Any]:
    return {"sync": {"status": "Synced", "revision": "a" * 40}, "health": {"status": health}, "resources": [],
            "conditions": [], "observedAt": 1.0}


def test_the_index_answers_what_a_fresh_read_answers_after_each_kind_of_change(redis_client: Any) -> None:
    store = Store(redis_client)
    for name in ("a", "b", "c"):
        store.put_app(name, manifest(name), owner="cli")
        store.write_status(name, status("Healthy"))
    index = RowIndex(store)
    assert index.rows() == rows(store)

    store.write_status("b", status("Degraded"))  # a status
    store.put_app("c", manifest("c", project="team-a"), owner="api")  # a manifest and its owner
    store.put_app("d", manifest("d"), owner="cli")  # a new app
    store.delete_app("a")  # a deleted one
    assert index.rows() == rows(store)
    assert [(r["name"], r["health"], r["project"]) for r in index.rows()] == [
        ("b", "Degraded", "default"), ("c", "Healthy", "team-a"), ("d", "Unknown", "default")
    ]


def test_the_index_rebuilds_when_the_stream_lost_what_it_missed(redis_client: Any) -> None:
    store = Store(redis_client)
    store.put_app("a", manifest("a"), owner="cli")
    index = RowIndex(store)
    index.rows()
    store.write_status("a", status("Degraded"))
    store.put_app("b", manifest("b"), owner="cli")
    redis_client.xtrim(Keys.app_events, maxlen=0)  # as the stream's cap does after a long pause
    store.put_app("c", manifest("c"), owner="cli")
    assert [(r["name"], r["health"]) for r in index.rows()] == [("a", "Degraded"), ("b", "Unknown"), ("c", "Unknown")]
