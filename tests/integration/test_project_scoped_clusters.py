"""spec.permitOnlyProjectScopedClusters, with the cluster Secrets registered in Redis: a project
that sets it deploys only to clusters whose Secret says `project: <it>` (Argo CD's
AppProject.IsDestinationPermitted), checked where every render is authorised."""

from __future__ import annotations

import re
from typing import Any

import pytest

from reconciler.control.appsets.clusters import register_cluster
from reconciler.control.catalog import project_for, register
from reconciler.engine.pipeline import AccessDenied, authorise
from reconciler.model import Application, parse_application, parse_manifests
from reconciler.model.parse_appset import parse_cluster_secret
from reconciler.state import Store

SCOPED_ONLY = "allows only clusters scoped to it (spec.permitOnlyProjectScopedClusters)"
PROJECT = """\
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: team-a, namespace: argocd}
spec:
  sourceRepos: ['*']
  destinations: [{server: '*', namespace: '*'}]
  permitOnlyProjectScopedClusters: true
"""


def cluster_secret(name: str, server: str, project: str = "") -> dict[str, Any]:
    data = {"name": name, "server": server, "config": "{}", **({"project": project} if project else {})}
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": f"{name}-secret", "namespace": "argocd",
                         "labels": {"argocd.argoproj.io/secret-type": "cluster"}},
            "stringData": data}  # fmt: skip


def application(server: str) -> Application:
    return parse_application({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "web", "namespace": "argocd"},
        "spec": {"project": "team-a", "source": {"repoURL": "https://example.com/r.git", "path": "web"},
                 "destination": {"server": server, "namespace": "web"}},
    })  # fmt: skip


def test_only_clusters_whose_secret_names_the_project_are_destinations(redis_client: Any) -> None:
    store = Store(redis_client)
    register(store, parse_manifests(PROJECT, source_file="project.yaml"))
    register_cluster(store, parse_cluster_secret(cluster_secret("team-a-prod", "https://team-a.example.com", "team-a")))
    register_cluster(store, parse_cluster_secret(cluster_secret("shared", "https://shared.example.com")))

    project, problem = project_for(store, application("https://team-a.example.com"))
    assert problem == "" and project is not None
    assert project.scoped_clusters == (("team-a-prod", "https://team-a.example.com"),)
    authorise(application("https://team-a.example.com"), project)
    for server in ("https://shared.example.com", "https://kubernetes.default.svc"):
        with pytest.raises(AccessDenied, match=re.escape(SCOPED_ONLY)):
            authorise(application(server), project)
