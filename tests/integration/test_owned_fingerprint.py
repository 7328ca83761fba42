"""The owned-fields fingerprint (engine/live_view.py): what tells a poll that none of the fields
this system's server-side apply owns has moved. Written against kubesim's real field-ownership
tracking: other managers' writes go through the API as a controller's or kubectl's would."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from reconciler.engine.cluster import DEFAULT_FIELD_MANAGER, Cluster
from reconciler.engine.live_view import live_fingerprint, owned_fingerprint
from reconciler.engine.verified_marks import OWNED, still_verified, verified_mark

DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]},
        },
    },
}
TARGET = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"}}
MERGE = "application/merge-patch+json"


@pytest.fixture
def ours(kubesim: Any) -> Cluster:
    cluster = Cluster.for_host(kubesim.url)
    cluster.apply(copy.deepcopy(DEPLOYMENT))
    return cluster


def other(ours: Cluster, manager: str) -> Cluster:
    return Cluster(ours.api_client, field_manager=manager)


def live(cluster: Cluster) -> dict[str, Any]:
    obj = cluster.get("apps/v1", "Deployment", "default", "web")
    assert obj is not None
    return obj


def test_no_apply_entry_of_ours_has_no_owned_fingerprint(ours: Cluster) -> None:
    assert owned_fingerprint(live(ours), "someone-else") == ""
    assert owned_fingerprint(live(ours), DEFAULT_FIELD_MANAGER) != ""


def test_writes_to_fields_we_do_not_own_keep_it(ours: Cluster) -> None:
    before = live(ours)
    controller = other(ours, "kube-controller-manager")
    controller.patch(TARGET, {"metadata": {"annotations": {"deployment.kubernetes.io/revision": "1"},
                                           "finalizers": ["example.com/cleanup"]}}, MERGE)
    # Another manager's own container, merged into the list by its key (name).
    other(ours, "sidecar-injector").apply({**TARGET, "spec": {"template": {"spec": {"containers": [
        {"name": "proxy", "image": "envoy:1"}]}}}})
    after = live(ours)

    assert live_fingerprint(after) != live_fingerprint(before)
    assert owned_fingerprint(after, DEFAULT_FIELD_MANAGER) == owned_fingerprint(before, DEFAULT_FIELD_MANAGER)


@pytest.mark.parametrize(
    "change",
    [
        {"spec": {"replicas": 5}},  # kubectl scale
        {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.28"}]}}}},  # kubectl edit
        {"metadata": {"labels": {"app": "other"}}},
    ],
    ids=["replicas", "image in a keyed list item", "label"],
)
def test_a_write_to_a_field_we_own_changes_it(ours: Cluster, change: dict[str, Any]) -> None:
    before = owned_fingerprint(live(ours), DEFAULT_FIELD_MANAGER)
    body = copy.deepcopy(change)
    if "containers" in str(change):  # a strategic merge by the container's name, as kubectl sends
        other(ours, "kubectl-edit").patch(TARGET, body, "application/strategic-merge-patch+json")
    else:
        other(ours, "kubectl-edit").patch(TARGET, body, MERGE)
    assert owned_fingerprint(live(ours), DEFAULT_FIELD_MANAGER) != before


def test_verified_mark_vouches_by_owned_fields_only_for_this_manifests_apply(ours: Cluster) -> None:
    obj = live(ours)
    owned = verified_mark(obj, DEPLOYMENT, DEFAULT_FIELD_MANAGER, applied=obj)
    assert owned.startswith(f"{OWNED}:")
    assert still_verified(owned, DEPLOYMENT, "changed-whole-object", owned_fingerprint(obj, DEFAULT_FIELD_MANAGER))

    # An apply of a different manifest owns other fields: the whole object vouches instead.
    smaller = copy.deepcopy(DEPLOYMENT)
    del smaller["spec"]["replicas"]
    would_store = ours.dry_run_apply(copy.deepcopy(smaller))[0]
    whole = verified_mark(obj, smaller, DEFAULT_FIELD_MANAGER, applied=would_store)
    assert not whole.startswith(f"{OWNED}:")
    assert still_verified(whole, smaller, live_fingerprint(obj), "")
    # No server-side apply answer (client-side apply): the whole object vouches.
    assert not verified_mark(obj, DEPLOYMENT, DEFAULT_FIELD_MANAGER, applied=None).startswith(f"{OWNED}:")
