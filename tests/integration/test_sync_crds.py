"""A CustomResourceDefinition and its custom resources in one app (issue 17), registered with
`reconciler app create` (a subprocess) and synced by the real workers against kubesim."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import GitRepo
from tests.integration.conftest import System
from tests.integration.sync_helpers import NAMESPACE, app_manifest, sync_now, wait_operation_end


def crd(group: str, kind: str, plural: str, scope: str = "Namespaced") -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": scope,
            "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": f"{kind}List"},
            "versions": [{
                "name": "v1alpha1" if group == "bitnami.com" else "v1beta1",
                "served": True,
                "storage": True,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
            }],
        },
    }


SEALED_SECRETS_CRD = crd("bitnami.com", "SealedSecret", "sealedsecrets")
SEALED_SECRET = {
    "apiVersion": "bitnami.com/v1alpha1",
    "kind": "SealedSecret",
    "metadata": {"name": "db-credentials", "namespace": "shop"},
    "spec": {"encryptedData": {"password": "AgBy3i4OJSWK+PiTySYZZA=="}, "template": {"metadata": {"name": "db"}}},
}
STORE_CRD = crd("external-secrets.io", "ClusterSecretStore", "clustersecretstores", scope="Cluster")
EXTERNAL_SECRET_CRD = crd("external-secrets.io", "ExternalSecret", "externalsecrets")
CLUSTER_SECRET_STORE = {
    "apiVersion": "external-secrets.io/v1beta1",
    "kind": "ClusterSecretStore",
    "metadata": {"name": "vault"},
    "spec": {"provider": {"vault": {"server": "https://vault.example.com", "path": "secret"}}},
}
EXTERNAL_SECRET = {
    "apiVersion": "external-secrets.io/v1beta1",
    "kind": "ExternalSecret",
    "metadata": {"name": "api-keys", "namespace": "shop"},
    "spec": {"secretStoreRef": {"kind": "ClusterSecretStore", "name": "vault"}, "target": {"name": "api-keys"}},
}


@pytest.fixture
def cli(redis_url: str, system: System, tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    env = {**os.environ, "REDIS_URL": redis_url, "RECONCILER_DATA_DIR": str(tmp_path / "cli-data"),
           "KUBECONFIG": str(system.kubeconfig)}
    env.pop("RECONCILER_SERVER", None)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "reconciler.cli", *args], env=env, capture_output=True,
                              text=True, timeout=60, check=False)

    return run


def create_app(cli: Callable[..., Any], tmp_path: Path, manifest: str) -> None:
    path = tmp_path / "app.json"
    path.write_text(manifest)
    result = cli("app", "create", "-f", str(path))
    assert result.returncode == 0, result.stderr


def repo_of(git_repo_factory: Callable[..., GitRepo], *docs: dict[str, Any], path: str = "app") -> GitRepo:
    files = {f"{path}/{index:02d}.yaml": json.dumps(doc) for index, doc in enumerate(docs)}
    files[f"{path}/namespace.yaml"] = NAMESPACE
    return git_repo_factory(files)


def compared(system: System, name: str, repo: GitRepo) -> dict[str, Any] | None:
    """The app's status once compared at this repository's head (not a status left by an earlier
    test's task that finished after the flush: the app names repeat across tests)."""
    status = system.status(name)
    return status if status.get("observedAt") and status.get("sync", {}).get("revision") == repo.head() else None


def served_object(system: System, api_version: str, kind: str, namespace: str | None, name: str) -> Any:
    from reconciler.engine.cluster import UnknownKindError

    try:
        return system.cluster.get(api_version, kind, namespace, name)
    except UnknownKindError:
        return None


def synced(system: System, name: str) -> dict[str, Any] | None:
    status = system.status(name)
    return status if status.get("sync", {}).get("status") == "Synced" else None


@pytest.mark.timeout(90)
def test_sealed_secrets_crd_and_a_sealed_secret_sync_in_one_app(
    system: System, cli: Any, git_repo_factory: Callable[..., GitRepo], tmp_path: Path
) -> None:
    repo = repo_of(git_repo_factory, SEALED_SECRETS_CRD, SEALED_SECRET)
    create_app(cli, tmp_path, app_manifest("secrets", repo, auto=True))
    system.wait_for(lambda: served_object(system, "bitnami.com/v1alpha1", "SealedSecret", "shop", "db-credentials"),
                    what="the SealedSecret applied")
    system.wait_for(lambda: synced(system, "secrets"), what="the app Synced")
    op = wait_operation_end(system, "secrets")
    assert op["phase"] == "Succeeded", op["message"]


@pytest.mark.timeout(90)
def test_unserved_kind_with_its_crd_in_the_app_is_missing_with_a_message_not_an_app_error(
    system: System, cli: Any, git_repo_factory: Callable[..., GitRepo], tmp_path: Path
) -> None:
    repo = repo_of(git_repo_factory, SEALED_SECRETS_CRD, SEALED_SECRET)
    create_app(cli, tmp_path, app_manifest("secrets", repo))  # no auto-sync: look at the comparison
    status = system.wait_for(lambda: compared(system, "secrets", repo), what="a comparison of the repository's head")
    assert status["sync"]["status"] == "OutOfSync" and not status["conditions"], status["conditions"]
    sealed = next(r for r in status["resources"] if r["kind"] == "SealedSecret")
    assert sealed["status"] == "Missing"
    assert "CustomResourceDefinition sealedsecrets.bitnami.com first" in sealed["message"]
    namespace = next(r for r in status["resources"] if r["kind"] == "Namespace")
    assert namespace["status"] == "Missing" and not namespace["error"]  # the rest compared normally


@pytest.mark.timeout(90)
def test_cluster_secret_store_and_external_secret_with_their_crds(
    system: System, cli: Any, git_repo_factory: Callable[..., GitRepo], tmp_path: Path
) -> None:
    repo = repo_of(git_repo_factory, STORE_CRD, EXTERNAL_SECRET_CRD, CLUSTER_SECRET_STORE, EXTERNAL_SECRET)
    create_app(cli, tmp_path, app_manifest("eso", repo, auto=True))
    system.wait_for(lambda: synced(system, "eso"), what="the app Synced")
    store = system.cluster.get("external-secrets.io/v1beta1", "ClusterSecretStore", None, "vault")
    assert store is not None and "namespace" not in store["metadata"]
    assert system.cluster.get("external-secrets.io/v1beta1", "ExternalSecret", "shop", "api-keys") is not None


@pytest.mark.timeout(90)
def test_crd_with_a_wave_two_custom_resource(
    system: System, cli: Any, git_repo_factory: Callable[..., GitRepo], tmp_path: Path
) -> None:
    late = {**SEALED_SECRET, "metadata": {**SEALED_SECRET["metadata"],
                                          "annotations": {"argocd.argoproj.io/sync-wave": "2"}}}
    repo = repo_of(git_repo_factory, SEALED_SECRETS_CRD, late)
    create_app(cli, tmp_path, app_manifest("secrets", repo))
    sync_now(system, "secrets")
    op = wait_operation_end(system, "secrets")
    assert op["phase"] == "Succeeded", op["message"]
    assert system.cluster.get("bitnami.com/v1alpha1", "SealedSecret", "shop", "db-credentials") is not None


@pytest.mark.timeout(90)
def test_custom_resource_whose_crd_is_not_in_the_app_is_an_error_naming_the_crd(
    system: System, cli: Any, git_repo_factory: Callable[..., GitRepo], tmp_path: Path
) -> None:
    repo = repo_of(git_repo_factory, SEALED_SECRET)
    create_app(cli, tmp_path, app_manifest("secrets", repo))
    status = system.wait_for(lambda: compared(system, "secrets", repo), what="a comparison of the repository's head")
    sealed = next(r for r in status["resources"] if r["kind"] == "SealedSecret")
    assert sealed["status"] == "Missing"
    assert "sealedsecrets.bitnami.com" in sealed["error"]
    sync_now(system, "secrets")
    op = wait_operation_end(system, "secrets")
    assert op["phase"] == "Failed" and "sealedsecrets.bitnami.com" in op["message"]


@pytest.mark.timeout(90)
def test_skip_dry_run_on_missing_resource_waits_for_a_crd_installed_elsewhere(
    system: System, cli: Any, git_repo_factory: Callable[..., GitRepo], tmp_path: Path
) -> None:
    waiting = {**SEALED_SECRET, "metadata": {**SEALED_SECRET["metadata"], "annotations": {
        "argocd.argoproj.io/sync-options": "SkipDryRunOnMissingResource=true"}}}
    repo = repo_of(git_repo_factory, waiting)
    create_app(cli, tmp_path, app_manifest("secrets", repo))
    sync_now(system, "secrets")
    system.wait_for(lambda: "SkipDryRunOnMissingResource: waiting" in system.operation("secrets").get("message", ""),
                    what="the sync waiting for the kind")
    system.cluster.apply(SEALED_SECRETS_CRD)  # someone else installs the CRD
    op = wait_operation_end(system, "secrets")
    assert op["phase"] == "Succeeded", op["message"]
    assert system.cluster.get("bitnami.com/v1alpha1", "SealedSecret", "shop", "db-credentials") is not None


@pytest.mark.timeout(90)
def test_prune_deletes_the_custom_resource_before_its_crd(
    system: System, cli: Any, git_repo_factory: Callable[..., GitRepo], tmp_path: Path
) -> None:
    repo = repo_of(git_repo_factory, SEALED_SECRETS_CRD, SEALED_SECRET)
    create_app(cli, tmp_path, app_manifest("secrets", repo))
    sync_now(system, "secrets")
    assert wait_operation_end(system, "secrets")["phase"] == "Succeeded"
    first = system.operation("secrets")["id"]
    repo.remove("app/00.yaml", "app/01.yaml")
    repo.commit(message="drop sealed secrets")
    sync_now(system, "secrets", prune=True)
    op = wait_operation_end(system, "secrets", after=first)
    assert op["phase"] == "Succeeded", op["message"]
    pruned = [r["resource"] for r in op["resources"] if r["status"] == "Pruned"]
    kinds = [p.split(" ")[0] for p in pruned]
    assert kinds == ["SealedSecret.bitnami.com", "CustomResourceDefinition.apiextensions.k8s.io"], pruned


@pytest.mark.timeout(90)
def test_pruning_a_crd_with_instances_the_app_does_not_own_is_refused(
    system: System, cli: Any, git_repo_factory: Callable[..., GitRepo], tmp_path: Path
) -> None:
    repo = repo_of(git_repo_factory, SEALED_SECRETS_CRD)
    create_app(cli, tmp_path, app_manifest("secrets", repo))
    sync_now(system, "secrets")
    first = wait_operation_end(system, "secrets")
    assert first["phase"] == "Succeeded", first["message"]
    system.cluster.apply({**SEALED_SECRET, "metadata": {"name": "someone-elses", "namespace": "shop"}})
    repo.remove("app/00.yaml")
    repo.commit(message="drop the CRD")
    sync_now(system, "secrets", prune=True)
    op = wait_operation_end(system, "secrets", after=first["id"])
    assert op["phase"] == "Failed"
    assert "would delete 1 object(s)" in op["message"] and "someone-elses" in op["message"]
    assert system.cluster.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", None,
                              "sealedsecrets.bitnami.com") is not None


@pytest.mark.timeout(90)
def test_deleting_the_app_keeps_a_crd_with_instances_it_does_not_own(
    system: System, cli: Any, git_repo_factory: Callable[..., GitRepo], tmp_path: Path
) -> None:
    from tests.integration.sync_helpers import delete_app

    repo = repo_of(git_repo_factory, SEALED_SECRETS_CRD)
    create_app(cli, tmp_path, app_manifest("secrets", repo))
    sync_now(system, "secrets")
    assert wait_operation_end(system, "secrets")["phase"] == "Succeeded"
    system.cluster.apply({**SEALED_SECRET, "metadata": {"name": "someone-elses", "namespace": "default"}})
    result = delete_app(system, "secrets")
    assert result.failed and "someone-elses" in result.failed[0]
    assert system.store.app_manifest("secrets") is not None  # kept, so nothing is orphaned silently
    assert system.cluster.get("bitnami.com/v1alpha1", "SealedSecret", "default", "someone-elses") is not None


def test_a_custom_resource_applies_in_a_process_that_saw_its_kind_missing_before_another_installed_the_crd(
    kubesim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two worker processes are two Cluster clients, each with its own discovery notes. The first
    # compared the app while the CRD was not installed (a recent "not served" note, kept long here
    # so the order of events, not the machine's speed, decides); the second applied the CRD and
    # saw it Established. The first then runs the custom resource's apply step.
    from reconciler.control.sync.steps.health import crd_kind_unserved
    from reconciler.engine.cluster import Cluster
    from reconciler.engine.cluster import client as cluster_client
    from reconciler.engine.served_kinds import served

    monkeypatch.setattr(cluster_client, "MISSING_KIND_RECHECK_SECONDS", 3600.0)
    comparing, installing = Cluster.for_host(kubesim.url), Cluster.for_host(kubesim.url)
    installing.apply(json.loads(NAMESPACE))
    assert not served(comparing, SEALED_SECRET)
    installing.apply(SEALED_SECRETS_CRD)
    assert crd_kind_unserved(installing, SEALED_SECRETS_CRD) == ""
    stored = comparing.apply(SEALED_SECRET)
    assert stored["metadata"]["name"] == "db-credentials"
    # A compare in the first process may still trust its note for a moment; a write never does.
    assert comparing.get("bitnami.com/v1alpha1", "SealedSecret", "shop", "db-credentials") is not None
