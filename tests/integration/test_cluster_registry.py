"""Clients per Application destination: the in-cluster address means the current kubeconfig
context (outside a pod); other servers and names are found among the kubeconfig's contexts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kubesim import KubeSim
from reconciler.engine.cluster import Clusters, KubeError
from reconciler.model import Destination


def two_cluster_kubeconfig(path: Path, current: str, other: str) -> Path:
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: home\n  cluster:\n    server: {current}\n"
        f"- name: staging\n  cluster:\n    server: {other}\n"
        "users:\n- name: u\n  user: {}\n"
        "contexts:\n- name: home-ctx\n  context: {cluster: home, user: u}\n"
        "- name: staging-ctx\n  context: {cluster: staging, user: u}\n"
        "current-context: home-ctx\n"
    )
    return path


@pytest.fixture
def clusters(tmp_path: Path) -> tuple[KubeSim, KubeSim, Clusters]:
    with KubeSim() as home, KubeSim() as staging:
        config = two_cluster_kubeconfig(tmp_path / "kubeconfig", home.url, staging.url)
        home.api.put_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "only-at-home"}})
        staging.api.put_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "only-in-staging"}})
        yield home, staging, Clusters(str(config))


def test_in_cluster_destination_uses_the_current_context(clusters: tuple[KubeSim, KubeSim, Clusters]) -> None:
    _, _, registry = clusters
    cluster = registry.for_destination(Destination(server="https://kubernetes.default.svc"))
    assert cluster.get("v1", "Namespace", None, "only-at-home") is not None


def test_other_server_is_found_by_its_kubeconfig_cluster_url(
    clusters: tuple[KubeSim, KubeSim, Clusters],
) -> None:
    _, staging, registry = clusters
    cluster = registry.for_destination(Destination(server=staging.url + "/"))
    assert cluster.get("v1", "Namespace", None, "only-in-staging") is not None


def test_destination_name_matches_a_context_or_cluster_name(clusters: tuple[KubeSim, KubeSim, Clusters]) -> None:
    _, _, registry = clusters
    cluster = registry.for_destination(Destination(name="staging"))
    assert cluster.get("v1", "Namespace", None, "only-in-staging") is not None


def test_unknown_destination_says_to_add_a_kubeconfig_context(
    clusters: tuple[KubeSim, KubeSim, Clusters],
) -> None:
    _, _, registry = clusters
    with pytest.raises(KubeError, match=re.escape("no kubeconfig context for destination 'https://prod.example.com'")):
        registry.for_destination(Destination(server="https://prod.example.com"))
