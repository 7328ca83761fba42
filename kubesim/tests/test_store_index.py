"""kubesim's store keeps an index of what each object controls (ownerReferences with
controller: true), which its simulated controllers read instead of scanning every object."""

from __future__ import annotations

from typing import Any

from kubesim.storage.store import Store

PODS = ("", "pods")


def pod(name: str, owner: str | None, namespace: str = "shop", controller: bool = True) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if owner:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner,
                                    "uid": f"uid-{owner}", "controller": controller}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta}


def names(store: Store, owner: str, namespace: str = "shop") -> list[str]:
    return sorted(o["metadata"]["name"] for o in store.controlled_by(PODS, namespace, f"uid-{owner}"))


def test_index_follows_creates_owner_changes_and_deletes() -> None:
    store = Store()
    store.commit(PODS, pod("a", "web-1"), None)
    store.commit(PODS, pod("b", "web-1"), None)
    store.commit(PODS, pod("c", None), None)
    store.commit(PODS, pod("d", "web-1", namespace="other"), None)
    assert names(store, "web-1") == ["a", "b"]

    store.commit(PODS, pod("b", "web-2"), store.get(PODS, "shop", "b"))  # adopted by another owner
    assert names(store, "web-1") == ["a"] and names(store, "web-2") == ["b"]

    store.commit(PODS, pod("a", None), store.get(PODS, "shop", "a"))  # orphaned
    assert names(store, "web-1") == []

    store.remove(PODS, store.get(PODS, "shop", "b"))
    assert names(store, "web-2") == [] and names(store, "web-1", namespace="other") == ["d"]


def test_an_owner_that_is_not_the_controller_is_not_indexed() -> None:
    store = Store()
    store.commit(PODS, pod("a", "web-1", controller=False), None)
    assert names(store, "web-1") == []
