"""Fixtures for ApplicationSet tests: the system's Services over a real Redis, git repositories,
kubesim (the cluster tokenRef Secrets are read from), and a loopback HTTP server speaking the
hosting APIs' shapes (scm_server.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.services import Services
from reconciler.settings import Settings
from reconciler.state import Store
from tests.api.conftest import serve_api  # noqa: F401 (fixture for the system tests)
from tests.integration.conftest import celery_app, system  # noqa: F401 (fixtures for the system tests)


@pytest.fixture(autouse=True)
def loopback_scm_servers_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SCM servers of these tests listen on loopback: outbound requests there must be allowed
    (the workers' guard reads RECONCILER_ALLOWED_PRIVATE_HOSTS at each connection)."""
    monkeypatch.setenv("RECONCILER_ALLOWED_PRIVATE_HOSTS", "127.0.0.1")


@pytest.fixture
def services(
    redis_client: Any, redis_url: str, kubeconfig: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Services]:
    """Services as a worker builds them, on the test's Redis, kubesim and data dir."""
    monkeypatch.setenv("RECONCILER_DATA_DIR", str(tmp_path / "data"))
    settings = dataclasses.replace(Settings.from_env(), kubeconfig=str(kubeconfig), data_dir=tmp_path / "data")
    svc = Services(
        settings=settings,
        store=Store(redis_client),
        git=_git(settings, redis_client),
        clusters=_clusters(settings),
        charts=_charts(settings),
    )
    yield svc
    svc.git.close()
    svc.charts.close()


def _git(settings: Settings, client: Any) -> Any:
    from reconciler.services import git_source

    return git_source(settings, shared_refs=Store(client))


def _clusters(settings: Settings) -> Any:
    from reconciler.engine.cluster import Clusters

    return Clusters(settings.kubeconfig, settings.field_manager)


def _charts(settings: Settings) -> Any:
    from reconciler.services import chart_repositories

    return chart_repositories(settings)


def appset(name: str, generators: list[dict[str, Any]], template: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {"generators": generators, "template": template, **spec},
    }


def app_template(
    name: str,
    path: str,
    namespace: str,
    server: str = "https://kubernetes.default.svc",
    repo: str = "https://github.com/argoproj/argo-cd.git",
    project: str = "default",
    **extra: Any,
) -> dict[str, Any]:
    spec = {
        "project": project,
        "source": {"repoURL": repo, "targetRevision": "HEAD", "path": path},
        "destination": {"server": server, "namespace": namespace},
        **extra,
    }
    return {"metadata": {"name": name}, "spec": spec}
