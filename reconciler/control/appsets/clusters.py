"""The clusters the system knows, as Argo CD lists them: every registered cluster Secret, and
the cluster this system runs in (`in-cluster`, https://kubernetes.default.svc) unless a Secret
declares that server itself. Used by the cluster generator, project checks (names to servers)
and `reconciler cluster list`; credentials (a Secret's config) are never part of a row."""

from __future__ import annotations

from typing import Any

from reconciler.control.appsets.context import ClusterInfo
from reconciler.model import IN_CLUSTER_SERVER
from reconciler.model.appset_types import IN_CLUSTER_NAME, ClusterSecret
from reconciler.services import registered_cluster_secrets
from reconciler.state import Store


def registered_clusters(store: Store) -> list[ClusterSecret]:
    """Registered cluster Secrets, by Secret name; one that no longer parses is left out."""
    return registered_cluster_secrets(store)


def known_clusters(store: Store) -> list[ClusterInfo]:
    """In-cluster first (when no Secret declares it), then every registered cluster."""
    secrets = registered_clusters(store)
    infos = []
    if not any(c.server.rstrip("/") == IN_CLUSTER_SERVER for c in secrets):
        infos.append(ClusterInfo(name=IN_CLUSTER_NAME, server=IN_CLUSTER_SERVER, local=True))
    infos.extend(
        ClusterInfo(
            name=c.name, server=c.server, labels=dict(c.labels), annotations=dict(c.annotations), project=c.project
        )
        for c in secrets
    )
    return infos


def cluster_names(store: Store) -> dict[str, str]:
    """Cluster name -> server, for destinations given by name."""
    return {info.name: info.server for info in known_clusters(store)}


def register_cluster(store: Store, cluster: ClusterSecret) -> str:
    """Store a cluster Secret (sealed: its config holds credentials); returns the cluster name.
    A Secret registered earlier under another cluster name for the same Secret is replaced."""
    for old in registered_clusters(store):
        if old.secret_name == cluster.secret_name and old.name != cluster.name:
            store.delete_cluster(old.name)
    store.put_cluster(cluster.name, cluster.manifest)
    return cluster.name


def cluster_rows(store: Store) -> list[dict[str, Any]]:
    """`reconciler cluster list` / GET /api/v1/clusters: names, servers, labels; no credentials."""
    rows = []
    secrets = {c.name: c for c in registered_clusters(store)}
    for info in known_clusters(store):
        secret = secrets.get(info.name)
        rows.append(
            {
                "name": info.name,
                "server": info.server,
                "labels": dict(info.labels),
                "annotations": dict(info.annotations),
                "project": info.project,
                "source": "in-cluster"
                if info.local
                else f"secret {secret.namespace}/{secret.secret_name}"
                if secret
                else "",
                "credentials": "kubeconfig" if info.local or not (secret and secret.config) else "secret config",
                "namespaces": list(secret.namespaces) if secret else [],
            }
        )
    return rows
