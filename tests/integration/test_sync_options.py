"""Argo CD sync options and sync windows in real syncs (Celery workers, Redis, kubesim)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from reconciler.control import user_actions as actions
from tests.conftest import GitRepo
from tests.integration.conftest import System
from tests.integration.sync_helpers import (
    NAMESPACE,
    app_get_text,
    app_manifest,
    config_map,
    delete_app,
    register_app,
    sync_now,
    wait_operation_end,
)

OPTIONS = "argocd.argoproj.io/sync-options"


def files(**docs: str) -> dict[str, str]:
    return {f"app/{name}.yaml": text for name, text in docs.items()}


def first_sync(system: System, repo: GitRepo, manifest: str, name: str = "shop") -> dict[str, Any]:
    register_app(system, manifest)
    sync_now(system, name)
    op = wait_operation_end(system, name)
    assert op["phase"] == "Succeeded", op["message"]
    return op


def with_project(manifest: str, project: str) -> str:
    doc = json.loads(manifest)
    doc["spec"]["project"] = project
    return json.dumps(doc)


@pytest.mark.timeout(90)
def test_prune_confirm_waits_for_confirm_prune(system: System, git_repo_factory: Callable[..., GitRepo]) -> None:
    repo = git_repo_factory(files(ns=NAMESPACE, old=config_map("old", annotations={OPTIONS: "Prune=confirm"})))
    first = first_sync(system, repo, app_manifest("shop", repo))
    repo.remove("app/old.yaml")
    repo.commit(message="drop old")
    sync_now(system, "shop", prune=True)
    system.wait_for(lambda: "confirm-prune shop" in system.operation("shop").get("message", ""),
                    what="the prune waiting for confirmation")
    assert system.cluster.get("v1", "ConfigMap", "shop", "old") is not None
    actions.confirm_prune(system.store, "shop")
    op = wait_operation_end(system, "shop", after=first["id"])
    assert op["phase"] == "Succeeded", op["message"]
    assert system.cluster.get("v1", "ConfigMap", "shop", "old") is None


@pytest.mark.timeout(90)
def test_delete_false_keeps_the_object_when_the_app_is_deleted(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    # The namespace is not the app's: deleting it would take the kept object with it.
    system.cluster.apply(json.loads(NAMESPACE))
    repo = git_repo_factory(files(keep=config_map("keep", annotations={OPTIONS: "Delete=false"}),
                                  go=config_map("go")))
    first_sync(system, repo, app_manifest("shop", repo))
    result = delete_app(system, "shop")
    assert not result.failed
    assert system.cluster.get("v1", "ConfigMap", "shop", "keep") is not None
    assert system.cluster.get("v1", "ConfigMap", "shop", "go") is None


@pytest.mark.timeout(90)
def test_replace_true_puts_the_object_instead_of_applying_it(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    repo = git_repo_factory(files(ns=NAMESPACE, cm=config_map("cm", annotations={OPTIONS: "Replace=true"})))
    op = first_sync(system, repo, app_manifest("shop", repo))
    assert any(r["message"] == "created (Replace=true)" for r in op["resources"])
    repo.commit({"app/cm.yaml": config_map("cm", annotations={OPTIONS: "Replace=true"}).replace('"v"', '"v2"')})
    sync_now(system, "shop")
    second = wait_operation_end(system, "shop", after=op["id"])
    assert any(r["message"] == "replaced (Replace=true)" for r in second["resources"]), second
    live = system.cluster.get("v1", "ConfigMap", "shop", "cm")
    assert live["data"] == {"k": "v2"}
    # A PUT leaves no server-side-apply field manager of ours behind.
    assert not [m for m in live["metadata"].get("managedFields", []) if m.get("operation") == "Apply"]


def service(selector: str, options: str = "") -> str:
    meta: dict[str, Any] = {"name": "web", "namespace": "shop"}
    if options:
        meta["annotations"] = {OPTIONS: options}
    return json.dumps({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": {
        "replicas": 1, "selector": {"matchLabels": {"app": selector}},
        "template": {"metadata": {"labels": {"app": selector}},
                     "spec": {"containers": [{"name": "main", "image": "nginx:1.27"}]}}}})


@pytest.mark.timeout(90)
def test_force_true_recreates_an_object_whose_immutable_field_changed(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    repo = git_repo_factory(files(ns=NAMESPACE, web=service("web", "Force=true")))
    op = first_sync(system, repo, app_manifest("shop", repo))
    uid = system.cluster.get("apps/v1", "Deployment", "shop", "web")["metadata"]["uid"]
    repo.commit({"app/web.yaml": service("web2", "Force=true")}, message="new selector (immutable)")
    sync_now(system, "shop")
    second = wait_operation_end(system, "shop", after=op["id"])
    assert second["phase"] == "Succeeded", second["message"]
    live = system.cluster.get("apps/v1", "Deployment", "shop", "web")
    assert live["metadata"]["uid"] != uid and live["spec"]["selector"]["matchLabels"] == {"app": "web2"}


@pytest.mark.timeout(90)
def test_without_force_an_immutable_change_fails_the_sync(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    repo = git_repo_factory(files(ns=NAMESPACE, web=service("web")))
    op = first_sync(system, repo, app_manifest("shop", repo))
    repo.commit({"app/web.yaml": service("web2")}, message="new selector (immutable)")
    sync_now(system, "shop")
    second = wait_operation_end(system, "shop", after=op["id"])
    assert second["phase"] == "Failed" and "immutable" in second["message"]


@pytest.mark.timeout(90)
def test_create_namespace_puts_managed_namespace_metadata_on_it(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    repo = git_repo_factory(files(cm=config_map("cm", namespace="made")))
    doc = json.loads(app_manifest("shop", repo, namespace="made", sync_options=["CreateNamespace=true"]))
    doc["spec"]["syncPolicy"]["managedNamespaceMetadata"] = {"labels": {"team": "a"}, "annotations": {"note": "x"}}
    first_sync(system, repo, json.dumps(doc))
    namespace = system.cluster.get("v1", "Namespace", None, "made")
    assert namespace["metadata"]["labels"]["team"] == "a" and namespace["metadata"]["annotations"]["note"] == "x"


@pytest.mark.timeout(90)
def test_after_create_namespace_an_invalid_label_fails_the_sync_with_the_api_servers_message(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    # Argo CD's e2e fixture: before the namespace exists the API server can only say it is missing;
    # once CreateNamespace made it, the apply fails with the validation error, which the sync reports.
    invalid = json.dumps({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {
        "name": "failure-during-sync", "namespace": "made", "labels": {"my-label": "has-inva/id-character!"}}})
    repo = git_repo_factory(files(cm=config_map("cm", namespace="made"), sa=invalid))
    register_app(system, app_manifest("shop", repo, namespace="made", sync_options=["CreateNamespace=true"]))
    sync_now(system, "shop")
    op = wait_operation_end(system, "shop")
    assert op["phase"] == "Failed"
    assert ('ServiceAccount "failure-during-sync" is invalid: metadata.labels: Invalid value: '
            '"has-inva/id-character!": a valid label must be an empty string') in op["message"]
    assert system.cluster.get("v1", "Namespace", None, "made") is not None
    assert system.cluster.get("v1", "ServiceAccount", "made", "failure-during-sync") is None


@pytest.mark.timeout(90)
def test_respect_ignore_differences_keeps_the_live_value_of_an_ignored_field(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    repo = git_repo_factory(files(ns=NAMESPACE, web=service("web")))
    doc = json.loads(app_manifest("shop", repo, sync_options=["RespectIgnoreDifferences=true"]))
    doc["spec"]["ignoreDifferences"] = [{"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}]
    op = first_sync(system, repo, json.dumps(doc))
    scaled = system.cluster.get("apps/v1", "Deployment", "shop", "web")
    scaled["spec"]["replicas"] = 4
    scaled["metadata"].pop("managedFields", None)
    system.cluster.replace(scaled, scaled["metadata"]["resourceVersion"])  # an autoscaler's change
    changed = service("web").replace("nginx:1.27", "nginx:1.28")
    repo.commit({"app/web.yaml": changed}, message="new image")
    sync_now(system, "shop")
    second = wait_operation_end(system, "shop", after=op["id"])
    assert second["phase"] == "Succeeded", second["message"]
    live = system.cluster.get("apps/v1", "Deployment", "shop", "web")
    assert live["spec"]["replicas"] == 4
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28"


@pytest.mark.timeout(90)
def test_fail_on_shared_resource_refuses_an_object_another_app_tracks_and_both_report_it(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    repo = git_repo_factory(files(ns=NAMESPACE, shared=config_map("shared")))
    first_sync(system, repo, app_manifest("first", repo), name="first")
    register_app(system, app_manifest("second", repo, sync_options=["FailOnSharedResource=true"]))
    status = system.wait_for(lambda: system.status("second").get("observedAt") and system.status("second"),
                             what="second app compared")
    assert any(c["type"] == "SharedResourceWarning" and "'first'" in c["message"] for c in status["conditions"])
    sync_now(system, "second")
    op = wait_operation_end(system, "second")
    assert op["phase"] == "Failed" and "tracked by application 'first'" in op["message"]
    assert "FailOnSharedResource=true" in op["message"]
    system.next_poll("first")  # the owner reports it too
    system.wait_for(lambda: any(c["type"] == "SharedResourceWarning" and "'second'" in c["message"]
                                for c in system.status("first").get("conditions", [])),
                    what="SharedResourceWarning on the first app")


def test_an_unsupported_resource_sync_option_is_an_error_naming_it(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    repo = git_repo_factory(files(cm=config_map("cm", annotations={OPTIONS: "ServerSideApply=sometimes"})))
    register_app(system, app_manifest("shop", repo))
    status = system.wait_for(lambda: system.status("shop").get("conditions") and system.status("shop"),
                             what="a condition")
    message = status["conditions"][0]["message"]
    assert "ConfigMap cm" in message and "ServerSideApply=sometimes" in message


DENY_ALWAYS = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "AppProject",
    "metadata": {"name": "frozen", "namespace": "argocd"},
    "spec": {
        "sourceRepos": ["*"],
        "destinations": [{"server": "*", "namespace": "*"}],
        "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
        "syncWindows": [{"kind": "deny", "schedule": "* * * * *", "duration": "1h", "applications": ["*"]}],
    },
}


@pytest.mark.timeout(90)
def test_deny_window_holds_an_auto_sync_and_refuses_a_manual_one(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    repo = git_repo_factory(files(ns=NAMESPACE, cm=config_map("cm")))
    register_app(system, json.dumps(DENY_ALWAYS))
    register_app(system, with_project(app_manifest("shop", repo, auto=True), "frozen"))
    status = system.wait_for(lambda: system.status("shop").get("syncHeld") and system.status("shop"),
                             what="the auto-sync held")
    assert "deny window '* * * * *'" in status["syncHeld"]
    assert status["syncWindows"][0]["active"] is True
    assert system.cluster.get("v1", "Namespace", None, "shop") is None
    with pytest.raises(actions.ActionRefused, match="manualSync: true"):
        actions.sync(system.store, "shop")
    detail = actions.get_app(system.store, "shop")
    assert detail["syncHeld"] == status["syncHeld"]
    shown = app_get_text(system, "shop")
    assert "Sync Window:    deny * * * * * for 1h (active)" in shown
    assert "Sync Held:      automated syncs held: deny window" in shown


@pytest.mark.timeout(90)
def test_deny_window_with_manual_sync_lets_a_manual_sync_run(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    project = json.loads(json.dumps(DENY_ALWAYS))
    project["spec"]["syncWindows"][0]["manualSync"] = True
    repo = git_repo_factory(files(ns=NAMESPACE, cm=config_map("cm")))
    register_app(system, json.dumps(project))
    register_app(system, with_project(app_manifest("shop", repo), "frozen"))
    sync_now(system, "shop")
    op = wait_operation_end(system, "shop")
    assert op["phase"] == "Succeeded", op["message"]
    assert system.cluster.get("v1", "ConfigMap", "shop", "cm") is not None


@pytest.mark.timeout(90)
def test_deny_window_holds_self_heal(system: System, git_repo_factory: Callable[..., GitRepo]) -> None:
    open_project = json.loads(json.dumps(DENY_ALWAYS))
    open_project["spec"]["syncWindows"] = []
    repo = git_repo_factory(files(ns=NAMESPACE, cm=config_map("cm")))
    register_app(system, json.dumps(open_project))
    doc = json.loads(with_project(app_manifest("shop", repo, auto=True), "frozen"))
    doc["spec"]["syncPolicy"]["automated"]["selfHeal"] = True
    register_app(system, json.dumps(doc))
    system.wait_for(lambda: system.status("shop").get("sync", {}).get("status") == "Synced", what="first auto-sync")
    register_app(system, json.dumps(DENY_ALWAYS))  # the window closes
    live = system.cluster.get("v1", "ConfigMap", "shop", "cm")
    live["data"] = {"k": "drifted"}
    live["metadata"].pop("managedFields", None)
    system.cluster.replace(live, live["metadata"]["resourceVersion"])
    system.next_poll("shop")
    status = system.wait_for(lambda: system.status("shop").get("syncHeld") and system.status("shop"),
                             what="self-heal held")
    assert status["sync"]["status"] == "OutOfSync"
    assert system.cluster.get("v1", "ConfigMap", "shop", "cm")["data"] == {"k": "drifted"}
