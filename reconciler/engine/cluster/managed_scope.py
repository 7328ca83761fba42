"""What a namespace-scoped cluster lets this system manage, as Argo CD's cluster Secret says it.

A cluster Secret with `namespaces: a,b` is a cluster in namespaced mode: Argo CD (gitops-engine's
cluster cache) manages objects in those namespaces only, and cluster-scoped objects only with
`clusterResources: "true"`. Anything else is refused before the sync starts, with Argo CD's
words ("Namespace "x" for Deployment "web" is not managed", "Cluster level ClusterRole "r" can
not be managed when in namespaced mode") and what to change.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.model.resources import ResourceKey


@dataclass(frozen=True)
class ManagedScope:
    """The namespaces (and whether cluster-scoped kinds) a cluster Secret allows."""

    cluster: str  # the cluster's name, for messages
    secret: str  # namespace/name of its Secret
    namespaces: tuple[str, ...]
    cluster_resources: bool = False

    def problem(self, key: ResourceKey, namespaced: bool, shown: str = "") -> str | None:
        """Why `key` may not be managed on this cluster, or None."""
        what = shown or f"{key.kind} {key.name!r}"
        if not namespaced:
            if self.cluster_resources:
                return None
            return (
                f'Cluster level {key.kind} "{key.name}" can not be managed when in namespaced mode ({what}): '
                f"cluster {self.cluster!r} (Secret {self.secret}) lists namespaces only; set its "
                'clusterResources: "true" to allow cluster-scoped objects'
            )
        if key.namespace in self.namespaces:
            return None
        return (
            f'Namespace "{key.namespace}" for {key.kind} "{key.name}" is not managed ({what}): cluster '
            f"{self.cluster!r} (Secret {self.secret}) manages namespaces {', '.join(self.namespaces)}; "
            "add it to the Secret's namespaces or deploy to one of them"
        )
