"""Cluster access, built on the official `kubernetes` client's DynamicClient.

    client          Cluster: discovery, server-side and client-side apply (and their dry-runs), get, list, delete
    three_way       client-side apply's last-applied annotation and three-way (strategic) merge patch
    patch_schema    strategic-merge-patch metadata of built-in kinds, from the server's OpenAPI v3
    csa_migration   client-side-apply field ownership moved to our apply manager (csaupgrade)
    connections     Clusters: the Cluster an Application destination means (kubeconfig, in-cluster)
    resource_types  served types as discovery reports them; kinds no app owns
    errors          KubeError and UnknownKindError: each names the object and the server's answer
"""

from reconciler.engine.cluster.client import Cluster
from reconciler.engine.cluster.connections import Clusters
from reconciler.engine.cluster.errors import KubeError, UnknownKindError
from reconciler.engine.cluster.resource_types import DEFAULT_FIELD_MANAGER, UNTRACKED_KINDS, ResourceType

__all__ = [
    "DEFAULT_FIELD_MANAGER",
    "UNTRACKED_KINDS",
    "Cluster",
    "Clusters",
    "KubeError",
    "ResourceType",
    "UnknownKindError",
]
