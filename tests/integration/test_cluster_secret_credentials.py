"""A cluster registered from an Argo CD cluster Secret is reached with the Secret's `config`:
a second kubesim serving HTTPS with a certificate of the test's own CA and static bearer tokens
(kube-apiserver's --token-auth-file), no kubeconfig context for it anywhere."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubesim import KubeSim
from reconciler.control.appsets.clusters import register_cluster
from reconciler.engine.cluster import KubeError, connections
from reconciler.model import Destination
from reconciler.model.parse_appset import parse_cluster_secret
from reconciler.services import clusters_of
from tests.conftest import GitRepo
from tests.integration.conftest import System
from tests.integration.sync_helpers import wait_operation_end
from tests.tls_certs import Certificates, make_certificates

TOKEN = "remote-cluster-token-0123456789"


@pytest.fixture
def certificates(tmp_path: Path) -> Certificates:
    return make_certificates(tmp_path / "tls")


@pytest.fixture
def remote(certificates: Certificates, tmp_path: Path) -> Iterator[KubeSim]:
    tokens = tmp_path / "tokens.csv"
    tokens.write_text(f'{TOKEN},reconciler,1,"system:masters"\n')
    with KubeSim(token_auth_file=str(tokens), tls_cert_file=str(certificates.cert),
                 tls_private_key_file=str(certificates.key)) as sim:  # fmt: skip
        sim.api.put_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "only-remote"}})
        sim.api.put_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}})
        yield sim


def cluster_secret(server: str, config: dict[str, Any], name: str = "remote") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": f"{name}-secret", "namespace": "argocd",
                     "labels": {"argocd.argoproj.io/secret-type": "cluster"}},
        "type": "Opaque",
        "stringData": {"name": name, "server": server, "config": json.dumps(config)},
    }  # fmt: skip


def tls_config(certificates: Certificates, token: str = TOKEN) -> dict[str, Any]:
    return {"bearerToken": token, "tlsClientConfig": {"caData": base64.b64encode(certificates.ca_pem()).decode()}}


def register(system_store: Any, manifest: dict[str, Any]) -> None:
    register_cluster(system_store, parse_cluster_secret(manifest))


def test_a_registered_cluster_is_reached_with_the_secrets_token_and_ca_by_name_and_by_server(
    system: System, remote: KubeSim, certificates: Certificates
) -> None:
    register(system.store, cluster_secret(remote.url, tls_config(certificates)))
    clusters = clusters_of(system.app.conf.reconciler_settings, system.store)
    by_name = clusters.for_destination(Destination(name="remote"))
    by_server = clusters.for_destination(Destination(server=remote.url + "/"))
    assert by_name.get("v1", "Namespace", None, "only-remote") is not None
    assert by_server.get("v1", "Namespace", None, "only-remote") is not None
    # The in-cluster destination is still the kubeconfig's (the first kubesim).
    home = clusters.for_destination(Destination(server="https://kubernetes.default.svc"))
    assert home.get("v1", "Namespace", None, "only-remote") is None


def test_a_wrong_token_is_refused_by_the_cluster_and_the_error_never_shows_it(
    system: System, remote: KubeSim, certificates: Certificates
) -> None:
    register(system.store, cluster_secret(remote.url, tls_config(certificates, token="not-the-token-42")))
    clusters = clusters_of(system.app.conf.reconciler_settings, system.store)
    with pytest.raises(KubeError) as refused:
        clusters.for_destination(Destination(name="remote")).get("v1", "Namespace", None, "only-remote")
    assert "401" in str(refused.value) and "not-the-token-42" not in str(refused.value)
    assert "cluster 'remote' (Secret argocd/remote-secret)" in str(refused.value)
    assert "check the Secret's config" in str(refused.value)


def test_a_server_certificate_of_another_ca_is_not_trusted(
    system: System, remote: KubeSim, certificates: Certificates, tmp_path: Path
) -> None:
    other = make_certificates(tmp_path / "other")
    register(system.store, cluster_secret(remote.url, tls_config(other)))
    clusters = clusters_of(system.app.conf.reconciler_settings, system.store)
    with pytest.raises(KubeError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        clusters.for_destination(Destination(name="remote")).get("v1", "Namespace", None, "only-remote")


def test_a_rotated_token_gets_a_new_client(
    system: System, remote: KubeSim, certificates: Certificates, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connections, "REGISTERED_TTL_SECONDS", 0.0)  # read the Secrets at every lookup
    register(system.store, cluster_secret(remote.url, tls_config(certificates, token="stale-token-0000")))
    clusters = clusters_of(system.app.conf.reconciler_settings, system.store)
    with pytest.raises(KubeError, match="401"):
        clusters.for_destination(Destination(name="remote")).get("v1", "Namespace", None, "only-remote")
    register(system.store, cluster_secret(remote.url, tls_config(certificates)))
    assert clusters.for_destination(Destination(name="remote")).get("v1", "Namespace", None, "only-remote")
    assert len(clusters.clusters()) == 1  # the client of the stale token is gone


def test_tls_data_that_is_not_base64_pem_is_named_without_its_content(
    system: System, remote: KubeSim, certificates: Certificates
) -> None:
    register(system.store, cluster_secret(remote.url, {"bearerToken": TOKEN, "tlsClientConfig": {"caData": "@@@"}}))
    clusters = clusters_of(system.app.conf.reconciler_settings, system.store)
    with pytest.raises(KubeError, match=re.escape("config.tlsClientConfig.caData is not base64")):
        clusters.for_destination(Destination(name="remote"))


@pytest.mark.timeout(120)
def test_an_app_whose_destination_is_a_registered_cluster_syncs_into_that_cluster(
    system: System, remote: KubeSim, certificates: Certificates, git_repo_factory: Any
) -> None:
    from reconciler.control.catalog import register as register_documents
    from reconciler.control.user_actions import sync
    from reconciler.model import parse_manifests
    from workers.tasks import request_sync

    repo: GitRepo = git_repo_factory({"app/cm.yaml": yaml.safe_dump(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "remote-settings"}, "data": {"a": "1"}})})
    app = {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": "far-away", "namespace": "argocd"},
        "spec": {"project": "default",
                 "source": {"repoURL": f"file://{repo.path}", "path": "app", "targetRevision": "HEAD"},
                 "destination": {"name": "remote", "namespace": "only-remote"}},
    }  # fmt: skip
    # One file, as `reconciler app create -f` takes it: the cluster Secret and the app using it.
    text = yaml.safe_dump_all([cluster_secret(remote.url, tls_config(certificates)), app])
    register_documents(system.store, parse_manifests(text), first_poll_in=0)
    system.wait_for(lambda: system.status("far-away").get("sync", {}).get("status") == "OutOfSync",
                    what="far-away compared against the remote cluster")  # fmt: skip
    request_sync(system.store, sync(system.store, "far-away"))
    operation = wait_operation_end(system, "far-away")
    assert operation["phase"] == "Succeeded", operation
    assert remote.api.get_object("v1", "ConfigMap", "only-remote", "remote-settings") is not None
    assert system.cluster.get("v1", "ConfigMap", "only-remote", "remote-settings") is None

    # The watcher reaches it through the Secret too: it holds the cluster and indexes the app's objects.
    from reconciler.live.records import cluster_id
    from tests.integration.live_fixtures import start_watcher

    running = start_watcher(system)
    try:
        remote_id = cluster_id(remote.url)
        system.wait_for(lambda: system.store.watch_lease_holder(remote_id), 30, "the watcher holding the cluster")

        def indexed() -> bool:
            _, records = system.store.live_objects(remote_id, "far-away")
            return any("remote-settings" in key for key in records)

        system.wait_for(indexed, 30, "the app's ConfigMap in the live index")
    finally:
        running.stop.set()
        running.thread.join(timeout=30)


def app_into(repo: GitRepo, name: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {"project": "default",
                 "source": {"repoURL": f"file://{repo.path}", "path": "app", "targetRevision": "HEAD"},
                 "destination": {"name": "remote", "namespace": namespace}},
    }  # fmt: skip


@pytest.mark.timeout(120)
def test_a_cluster_secret_listing_namespaces_manages_only_those_and_no_cluster_scoped_objects(
    system: System, remote: KubeSim, certificates: Certificates, git_repo_factory: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Argo CD's namespaced mode (gitops-engine's cluster cache): with `namespaces` set, an object
    in another namespace "is not managed", and a cluster-scoped one "can not be managed when in
    namespaced mode" unless `clusterResources: "true"`; nothing of such an app is applied."""
    from reconciler.control.catalog import register as register_documents
    from reconciler.control.user_actions import sync
    from reconciler.model import parse_manifests
    from workers.tasks import request_sync

    scoped = cluster_secret(remote.url, tls_config(certificates))
    scoped["stringData"]["namespaces"] = "only-remote"
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "wide"},
            "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "elsewhere"}, "data": {"a": "1"}}
    with_role = git_repo_factory({"app/role.yaml": yaml.safe_dump(role), "app/cm.yaml": yaml.safe_dump(
        {**config_map, "metadata": {"name": "inside"}})}, name="with-role")
    elsewhere = git_repo_factory({"app/cm.yaml": yaml.safe_dump(config_map)}, name="elsewhere")
    text = yaml.safe_dump_all([scoped, app_into(with_role, "with-role", "only-remote"),
                               app_into(elsewhere, "elsewhere", "kube-system")])
    register_documents(system.store, parse_manifests(text), first_poll_in=0)

    for name in ("with-role", "elsewhere"):
        system.wait_for(lambda n=name: system.status(n).get("observedAt"), what=f"{name} compared")  # type: ignore[misc]
        request_sync(system.store, sync(system.store, name))
    role_sync, other_sync = wait_operation_end(system, "with-role"), wait_operation_end(system, "elsewhere")
    assert role_sync["phase"] in ("Failed", "Error")
    assert 'Cluster level ClusterRole "wide" can not be managed when in namespaced mode' in role_sync["message"]
    assert 'clusterResources: "true"' in role_sync["message"]
    assert other_sync["phase"] in ("Failed", "Error")
    assert 'Namespace "kube-system" for ConfigMap "elsewhere" is not managed' in other_sync["message"]
    # One refusal refuses the whole sync: not even the app's allowed ConfigMap was applied.
    assert remote.api.get_object("rbac.authorization.k8s.io/v1", "ClusterRole", None, "wide") is None
    assert remote.api.get_object("v1", "ConfigMap", "only-remote", "inside") is None
    assert remote.api.get_object("v1", "ConfigMap", "kube-system", "elsewhere") is None

    # clusterResources: "true" lets the ClusterRole through; the namespaces still bind the rest.
    scoped["stringData"]["clusterResources"] = "true"
    register(system.store, scoped)
    monkeypatch.setattr(connections, "REGISTERED_TTL_SECONDS", 0.0)  # the workers read the Secret again
    request_sync(system.store, sync(system.store, "with-role"))
    second = wait_operation_end(system, "with-role", after=role_sync["id"])
    assert second["phase"] == "Succeeded", second["message"]
    assert remote.api.get_object("rbac.authorization.k8s.io/v1", "ClusterRole", None, "wide") is not None
