"""`POST /api/v1/previews`, `GET /api/v1/previews/{id}`, the dashboard's preview page and
`reconciler preview` (through the API and locally), on the running system."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from reconciler.control.access.project_tokens import create_token, signing_secret
from reconciler.control.catalog import register
from reconciler.model import parse_manifests
from tests.api.conftest import READONLY_TOKEN, Api
from tests.conftest import GitRepo
from tests.integration.conftest import System
from tests.previews.conftest import writes
from tests.previews.test_preview_system import PROD_VALUES, branch

SIGNING_KEY = "preview-tests-signing-key-0123456789abcdef"
DEFAULT_PROJECT_WITH_ROLE = """\
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: default, namespace: argocd}
spec:
  sourceRepos: ["*"]
  destinations: [{server: "*", namespace: "*"}]
  clusterResourceWhitelist: [{group: "*", kind: "*"}]
  roles:
    - name: api-reader
      policies:
        - p, proj:default:api-reader, applications, get, default/api, allow
"""


def bump(repo: GitRepo) -> str:
    values = (repo.path / PROD_VALUES).read_text()
    return branch(repo, "bump", {PROD_VALUES: values.replace("abc123def", "fed321cba")})


def finished(http: httpx.Client, answer: httpx.Response, system: System) -> dict[str, Any]:
    assert answer.status_code in (200, 202), answer.text
    location = answer.headers.get("Location") or f"/api/v1/previews/{answer.json()['id']}"

    def done() -> dict[str, Any] | None:
        polled = http.get(location)
        return polled.json() if polled.status_code == 200 else None

    return system.wait_for(done, 90, "the preview to finish")


@pytest.mark.timeout(180)
def test_a_read_only_caller_previews_through_the_api_and_polls_the_location(
    system: System, synced_seed: GitRepo, serve_api: Callable[..., Api]
) -> None:
    bump(synced_seed)
    system.kubesim.api.clear_log()
    api = serve_api()
    with api.client(READONLY_TOKEN) as http:
        answer = http.post("/api/v1/previews", json={"repoURL": synced_seed.url, "base": "main", "head": "bump"})
        assert answer.status_code == 202 and answer.headers["Location"] == f"/api/v1/previews/{answer.json()['id']}"
        view = finished(http, answer, system)
        page = http.get(f"/previews/{view['id']}")
    apps = {app["name"]: app for app in view["apps"]}
    assert view["state"] == "finished" and view["exitCode"] == 1 and view["commitState"] == "success"
    assert apps["api"]["status"] == "changed" and apps["worker"]["status"] == "unchanged"
    assert page.status_code == 200 and "/ui/static/preview.js" in page.text
    assert writes(system) == []


@pytest.mark.timeout(180)
def test_a_preview_covers_only_the_apps_its_caller_may_get(
    system: System, synced_seed: GitRepo, serve_api: Callable[..., Api]
) -> None:
    bump(synced_seed)
    [project] = parse_manifests(DEFAULT_PROJECT_WITH_ROLE)
    register(system.store, [project], owner="api")
    api = serve_api(token_signing_key=SIGNING_KEY)
    token = create_token(system.store, signing_secret(api.settings), project, "api-reader")["token"]
    with api.client(token) as http:
        answer = http.post("/api/v1/previews", json={"repoURL": synced_seed.url, "base": "main", "head": "bump"})
        view = finished(http, answer, system)
    assert [app["name"] for app in view["apps"]] == ["api"]
    # Not rendered at all: the worker was told the caller's apps, not only the reader filtered.
    assert system.store.preview(view["id"])["request"]["apps"] == ["api"]


def test_a_preview_request_names_the_field_at_fault_and_an_unused_repository(
    system: System, synced_seed: GitRepo, serve_api: Callable[..., Api]
) -> None:
    with serve_api().client(READONLY_TOKEN) as http:
        bad = http.post("/api/v1/previews", json={"repoURL": synced_seed.url, "base": "--upload-pack=x", "head": "b"})
        unused = http.post("/api/v1/previews", json={"repoURL": "https://git.example.com/other", "base": "a",
                                                     "head": "b"})  # fmt: skip
        missing = http.get("/api/v1/previews/nope")
    assert bad.status_code == 400 and bad.json()["error"].startswith("base: ")
    assert unused.status_code == 404 and "no application you may get uses repository" in unused.json()["error"]
    assert missing.status_code == 404


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reconciler.cli", *args], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip


@pytest.mark.timeout(240)
def test_reconciler_preview_exits_1_on_changes_locally_and_through_the_api(
    system: System, synced_seed: GitRepo, serve_api: Callable[..., Api]
) -> None:
    bump(synced_seed)
    api = serve_api()
    remote = cli({"RECONCILER_SERVER": api.url, "RECONCILER_API_TOKEN": READONLY_TOKEN},
                 "preview", "--repo", synced_seed.url, "--base", "main", "--head", "bump", "-o", "json")
    assert remote.returncode == 1, remote.stderr
    assert {app["name"]: app["status"] for app in json.loads(remote.stdout)["apps"]}["api"] == "changed"
    local = cli({"KUBECONFIG": str(system.kubeconfig), "RECONCILER_SERVER": ""},
                "preview", "--repo", synced_seed.url, "--base", "main", "--head", "bump")
    assert local.returncode == 1, local.stderr
    assert "✏️ api (changed)" in local.stdout and "+        image: registry.example.com/api:fed321cba" in local.stdout
    same = cli({"KUBECONFIG": str(system.kubeconfig), "RECONCILER_SERVER": ""},
               "preview", "--repo", synced_seed.url, "--base", "main", "--head", "main")
    assert same.returncode == 0, same.stdout + same.stderr
