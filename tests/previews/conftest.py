"""Fixtures for pull-request previews on the running system: Redis, Celery workers (with the
`preview` queue), kubesim, the seed's app-of-apps repository synced, the API, and a loopback
server speaking the Git hosts' comment and status APIs (git_host.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from reconciler.control.catalog import register
from reconciler.model import load_file
from reconciler.services import Services
from reconciler.settings.preview import PreviewSettings
from tests.api import conftest as api_fixtures
from tests.conftest import GitRepo
from tests.integration import conftest as system_fixtures
from tests.integration.conftest import System
from tests.previews.git_host import HostState, git_host

# The running system's fixtures, for these tests (Redis, Celery workers, kubesim; the API).
celery_app = system_fixtures.celery_app
system = system_fixtures.system
serve_api = api_fixtures.serve_api
PUBLIC_URL = "https://reconciler.example.com"


def synced_at(system: System, name: str, revision: str) -> bool:
    sync = system.status(name).get("sync") or {}
    return sync.get("status") == "Synced" and sync.get("revision") == revision


@pytest.fixture
def synced_seed(system: System, seed_repo: GitRepo) -> GitRepo:
    """The seed's app-of-apps (root -> api, worker, infrastructure) registered and synced at HEAD."""
    register(system.store, load_file(seed_repo.path / "argocd" / "root.yaml"), first_poll_in=0)
    head = seed_repo.head()
    for name in ("root", "api", "worker", "infrastructure"):
        system.wait_for(lambda n=name: synced_at(system, n, head), 90, f"{name} Synced at {head[:7]}")
    return seed_repo


@pytest.fixture
def services(system: System, redis_url: str) -> Iterator[Services]:
    """This process's clients on the system's Redis and kubesim (what `reconciler preview` builds)."""
    made = Services.create(system.app.conf.reconciler_settings, redis_url)
    yield made
    made.close()


@pytest.fixture
def host(system: System, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, HostState]]:
    """A Git host on loopback, and the workers configured to post to it (tokens for GitHub and
    GitLab, their API URLs pointing at it, RECONCILER_URL for the report's link)."""
    from workers import tasks

    with git_host() as (url, state):
        monkeypatch.setenv("RECONCILER_ALLOWED_PRIVATE_HOSTS", url.removeprefix("http://"))
        preview = PreviewSettings(
            tokens={"github": "gh-token-secret", "gitlab": "gl-token-secret", "gitea": "gt-token-secret"},
            api_urls={"github": url, "gitlab": url + "/api/v4", "gitea": url + "/api/v1"},
        )
        before = system.app.conf.reconciler_settings
        system.app.conf.reconciler_settings = dataclasses.replace(before, preview=preview, public_url=PUBLIC_URL)
        tasks.reset_services()
        yield url, state
        system.app.conf.reconciler_settings = before
        tasks.reset_services()


def writes(system: System) -> list[dict[str, Any]]:
    """kubesim's requests that would change something: any write not sent as a dry-run."""
    return [
        e for e in system.kubesim.api.requests()
        if e["method"] in ("POST", "PUT", "PATCH", "DELETE") and "dryRun=All" not in (e.get("query") or "")
    ]  # fmt: skip


Wait = Callable[..., Any]
