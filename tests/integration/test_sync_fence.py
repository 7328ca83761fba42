"""The sync fence in the cluster (engine/cluster/fence.py, control/fencing.py) against kubesim:
one operation holds an app's Lease at a time, and a step checks it before each write, so a
copy of a step that stalled mid-way (its Redis riding a failover) while a redelivered copy
ended the operation stops before its next write once another operation holds the fence."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.control import fencing
from reconciler.control.sync import drive
from reconciler.engine.cluster import Cluster
from reconciler.engine.cluster.fence import SyncFence
from reconciler.model import Application, parse_application
from reconciler.services import Services
from reconciler.settings import Settings

LOCK_TTL = 10.0  # the reuse window of a renewal is a tenth of it: 1 s
APP = {
    "apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "fenced", "namespace": "argocd"},
    "spec": {"project": "default", "source": {"repoURL": "https://example.com/r.git", "path": "."},
             "destination": {"server": "https://kubernetes.default.svc", "namespace": "default"}},
}


def config_map(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"},
            "data": {"k": "v"}}


@pytest.fixture
def services(redis_url: str, redis_client: Any, kubeconfig: Path, tmp_path: Path) -> Iterator[Services]:
    settings = Settings(redis_url=redis_url, data_dir=tmp_path, kubeconfig=str(kubeconfig))
    svc = Services.create(settings, redis_url)
    yield svc
    svc.close()


@pytest.fixture
def app() -> Application:
    return parse_application(APP, source_file="test")


def claimed_by_op_a(services: Services, app: Application) -> tuple[Cluster, Callable[[], None]]:
    """The app's cluster, its fence claimed by operation op-a, and the check op-a's steps make
    before each write."""
    cluster = services.clusters.for_destination(app.destination)
    assert fencing.claim(services, app, "op-a", LOCK_TTL, probably_new=True) is None
    return cluster, drive._fence_guard(services, app, cluster, "op-a", LOCK_TTL)


def lease_requests(kubesim: Any) -> list[str]:
    return [e["method"] for e in kubesim.api.requests() if "/leases" in e["path"]]


def test_a_held_fence_refuses_another_operation_until_released(
    services: Services, app: Application, kubesim: Any
) -> None:
    cluster = Cluster.for_host(kubesim.url)
    fence = SyncFence(cluster, "kube-system", app.name)
    assert fence.claim("op-a", LOCK_TTL, probably_new=True) is None
    refused = fence.claim("op-b", LOCK_TTL)
    assert refused is not None and refused.holder == "op-a"
    assert "sync operation op-a holds Lease kube-system/reconciler-sync-fenced until" in refused.message
    fence.release("op-a")
    assert fence.claim("op-b", LOCK_TTL) is None
    assert not fence.renew("op-a", LOCK_TTL)  # the compare-and-swap refuses the old holder


def test_a_stalled_step_stops_before_its_next_write_once_another_operation_holds_the_fence(
    services: Services, app: Application, kubesim: Any
) -> None:
    cluster, guard = claimed_by_op_a(services, app)
    with cluster.acting_for("op-a", before_write=guard):
        cluster.apply(config_map("first"))
        before = len(lease_requests(kubesim))
        cluster.apply(config_map("second"))  # within the claim's reuse window: no request for the fence
        assert len(lease_requests(kubesim)) == before
        # The step stalls; meanwhile a redelivered copy ends op-a (releasing the fence) and the
        # app's next operation claims it.
        fence = SyncFence(cluster, "kube-system", app.name)
        fence.release("op-a")
        assert fence.claim("op-b", LOCK_TTL) is None
        time.sleep(LOCK_TTL / 10 + 0.2)
        with pytest.raises(drive._FencedOff):
            cluster.apply(config_map("third"))
    assert kubesim.api.get_object("v1", "ConfigMap", "default", "third") is None
    writes_by_a = [e for e in kubesim.api.requests()
                   if "(operation op-a)" in (e.get("userAgent") or "") and e["method"] != "GET"
                   and "/leases" not in e["path"]]
    assert [e["path"].rsplit("/", 1)[-1] for e in writes_by_a] == ["first", "second"]


def test_a_step_renews_the_fence_before_a_write_once_the_reuse_window_passed(
    services: Services, app: Application, kubesim: Any
) -> None:
    cluster, guard = claimed_by_op_a(services, app)
    time.sleep(LOCK_TTL / 10 + 0.2)
    with cluster.acting_for("op-a", before_write=guard):
        before = len(lease_requests(kubesim))
        cluster.apply(config_map("late"))
    assert lease_requests(kubesim)[before:] == ["PATCH"]  # the renewal, then the write
    assert kubesim.api.get_object("v1", "ConfigMap", "default", "late") is not None
