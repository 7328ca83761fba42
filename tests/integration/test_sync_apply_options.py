"""Sync options ServerSideApply, Validate and ClientSideApplyMigration in real syncs (Celery
workers, Redis, kubesim), per resource (`argocd.argoproj.io/sync-options`) and per app."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import GitRepo
from tests.integration.conftest import System
from tests.integration.sync_helpers import NAMESPACE, app_manifest, register_app, sync_now, wait_operation_end

OPTIONS = "argocd.argoproj.io/sync-options"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
KUBECTL = shutil.which("kubectl")


def cm(data: dict[str, str], options: str = "") -> str:
    meta: dict[str, Any] = {"name": "cm", "namespace": "shop"}
    if options:
        meta["annotations"] = {OPTIONS: options}
    return json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data})


def deployment(options: str = "", **extra_spec: Any) -> str:
    meta: dict[str, Any] = {"name": "web", "namespace": "shop"}
    if options:
        meta["annotations"] = {OPTIONS: options}
    return json.dumps({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}},
                     "spec": {"containers": [{"name": "main", "image": "nginx:1.27"}]}},
        **extra_spec}})


def sync_and_wait(system: System, name: str = "shop", after: str = "") -> dict[str, Any]:
    sync_now(system, name)
    return wait_operation_end(system, name, after=after)


def live_cm(system: System) -> dict[str, Any]:
    found = system.cluster.get("v1", "ConfigMap", "shop", "cm")
    assert found is not None
    return found


@pytest.mark.timeout(90)
@pytest.mark.parametrize("where", ["resource", "app"])
def test_server_side_apply_false_applies_client_side(
    system: System, git_repo_factory: Callable[..., GitRepo], where: str
) -> None:
    options = "ServerSideApply=false" if where == "resource" else ""
    app_options = ["ServerSideApply=false"] if where == "app" else None
    repo = git_repo_factory({"app/ns.yaml": NAMESPACE, "app/cm.yaml": cm({"A": "1", "B": "2"}, options)})
    register_app(system, app_manifest("shop", repo, sync_options=app_options))
    op = sync_and_wait(system)
    assert op["phase"] == "Succeeded", op["message"]
    assert any(r["message"] == "applied (client-side)" for r in op["resources"]), op["resources"]
    live = live_cm(system)
    assert json.loads(live["metadata"]["annotations"][LAST_APPLIED])["data"] == {"A": "1", "B": "2"}
    assert {(e["manager"], e["operation"]) for e in live["metadata"]["managedFields"]} == {
        (system.cluster.field_manager, "Update")}
    repo.commit({"app/cm.yaml": cm({"A": "1"}, options)}, message="drop B")
    # The diff's dry-run is a client-side one too: it predicts B's removal.
    system.next_poll("shop")
    status = system.wait_for(lambda: system.status("shop").get("sync", {}).get("status") == "OutOfSync"
                             and system.status("shop"), what="OutOfSync after dropping B")
    assert any(r["kind"] == "ConfigMap" and r["status"] == "OutOfSync" for r in status["resources"])
    second = sync_and_wait(system, after=op["id"])
    assert second["phase"] == "Succeeded", second["message"]
    assert live_cm(system)["data"] == {"A": "1"}


@pytest.mark.timeout(90)
def test_an_unknown_field_fails_the_sync_naming_the_resource_and_field(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    repo = git_repo_factory({"app/ns.yaml": NAMESPACE,
                             "app/web.yaml": deployment("ServerSideApply=false", replicaz=2)})
    register_app(system, app_manifest("shop", repo))
    op = sync_and_wait(system)
    assert op["phase"] == "Failed"
    assert "Deployment" in op["message"] and "shop/web" in op["message"]
    assert 'unknown field "spec.replicaz"' in op["message"]
    assert system.cluster.get("apps/v1", "Deployment", "shop", "web") is None


@pytest.mark.timeout(90)
@pytest.mark.parametrize("where", ["resource", "app"])
def test_validate_false_lets_the_server_drop_an_unknown_field(
    system: System, git_repo_factory: Callable[..., GitRepo], where: str
) -> None:
    options = "ServerSideApply=false" + (",Validate=false" if where == "resource" else "")
    app_options = ["Validate=false"] if where == "app" else None
    repo = git_repo_factory({"app/ns.yaml": NAMESPACE, "app/web.yaml": deployment(options, replicaz=2)})
    register_app(system, app_manifest("shop", repo, sync_options=app_options))
    op = sync_and_wait(system)
    assert op["phase"] == "Succeeded", op["message"]
    live = system.cluster.get("apps/v1", "Deployment", "shop", "web")
    assert live is not None and "replicaz" not in live["spec"]


def kubectl_apply(system: System, doc: str) -> None:
    assert KUBECTL is not None
    env = {**os.environ, "KUBECONFIG": str(system.kubeconfig)}
    subprocess.run([KUBECTL, "apply", "-f", "-"], input=doc, env=env, check=True, capture_output=True, text=True,
                   timeout=60)


@pytest.mark.skipif(KUBECTL is None, reason="no kubectl on PATH")
@pytest.mark.timeout(90)
@pytest.mark.parametrize("migrate", [True, False])
def test_client_side_apply_migration_takes_over_kubectl_fields(
    system: System, git_repo_factory: Callable[..., GitRepo], migrate: bool
) -> None:
    kubectl_apply(system, NAMESPACE)
    kubectl_apply(system, cm({"A": "1", "B": "2"}))
    repo = git_repo_factory({"app/cm.yaml": cm({"A": "1"})})
    app_options = None if migrate else ["ClientSideApplyMigration=false"]
    register_app(system, app_manifest("shop", repo, sync_options=app_options))
    op = sync_and_wait(system)
    assert op["phase"] == "Succeeded", op["message"]
    live = live_cm(system)
    if migrate:
        assert live["data"] == {"A": "1"}
        assert "kubectl-client-side-apply" not in {e["manager"] for e in live["metadata"]["managedFields"]}
    else:  # what a real server does: kubectl's field stays under kubectl's manager
        assert live["data"] == {"A": "1", "B": "2"}
        assert "kubectl-client-side-apply" in {e["manager"] for e in live["metadata"]["managedFields"]}
