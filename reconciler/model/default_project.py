"""Argo CD's built-in `default` AppProject."""

from __future__ import annotations

from typing import Any

from reconciler.model.types import (
    API_VERSION,
    DEFAULT_APP_NAMESPACE,
    DEFAULT_PROJECT,
    PROJECT_KIND,
    AppProject,
    GroupKind,
    ProjectDestination,
)


def default_project() -> AppProject:
    """Argo CD's built-in `default` project: any repository, any destination, any kind."""
    manifest: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": PROJECT_KIND,
        "metadata": {"name": DEFAULT_PROJECT, "namespace": DEFAULT_APP_NAMESPACE},
        "spec": {
            "sourceRepos": ["*"],
            "destinations": [{"server": "*", "name": "*", "namespace": "*"}],
            "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
        },
    }
    return AppProject(
        name=DEFAULT_PROJECT,
        namespace=DEFAULT_APP_NAMESPACE,
        source_repos=("*",),
        destinations=(ProjectDestination(server="*", name="*", namespace="*"),),
        cluster_resource_whitelist=(GroupKind("*", "*"),),
        manifest=manifest,
    )
