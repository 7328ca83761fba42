"""`reconciler app ...` with RECONCILER_SERVER set: the same commands, over the HTTP API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable

import pytest

from tests.api.conftest import ADMIN_TOKEN, READONLY_TOKEN, Api
from tests.conftest import GitRepo
from tests.integration.conftest import System


def run_cli(api: Api, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RECONCILER_SERVER": api.url, "RECONCILER_API_TOKEN": token}
    env.pop("REDIS_URL", None)  # must not be needed: everything goes through the API
    return subprocess.run([sys.executable, "-m", "reconciler.cli", *args], env=env, capture_output=True,
                          text=True, timeout=60, check=False)


@pytest.mark.timeout(120)
def test_app_commands_work_through_the_api(
    system: System, serve_api: Callable[..., Api], seed_repo: GitRepo
) -> None:
    api = serve_api()
    created = run_cli(api, ADMIN_TOKEN, "app", "create", "-f", str(seed_repo.path / "argocd/apps/worker.yaml"))
    assert created.returncode == 0, created.stderr
    assert "application 'worker' registered" in created.stdout
    system.wait_for(lambda: system.status("worker").get("sync", {}).get("status") == "Synced", what="worker synced")
    listing = json.loads(run_cli(api, READONLY_TOKEN, "app", "list", "-o", "json").stdout)
    assert [(a["name"], a["sync"]) for a in listing] == [("worker", "Synced")]
    got = json.loads(run_cli(api, READONLY_TOKEN, "app", "get", "worker", "-o", "json").stdout)
    assert {r["kind"] for r in got["resources"]} == {"ConfigMap", "Deployment"}
    synced = run_cli(api, ADMIN_TOKEN, "app", "sync", "worker", "--wait")
    assert synced.returncode == 0, synced.stderr
    assert "Succeeded" in synced.stdout


def test_a_refusal_from_the_api_exits_1_with_the_reason(
    system: System, serve_api: Callable[..., Api], seed_repo: GitRepo
) -> None:
    api = serve_api()
    run_cli(api, ADMIN_TOKEN, "app", "create", "-f", str(seed_repo.path / "argocd/apps/worker.yaml"))
    refused = run_cli(api, ADMIN_TOKEN, "app", "rollback", "worker", "1")
    assert refused.returncode == 1
    assert "rollback cannot be initiated when auto-sync is enabled" in refused.stderr
    readonly = run_cli(api, READONLY_TOKEN, "app", "sync", "worker")
    assert readonly.returncode == 1
    assert "403" in readonly.stderr


def test_an_unreachable_server_says_to_check_reconciler_server() -> None:
    nobody = Api(url="http://127.0.0.1:9", settings=None, services=None)  # port 9: discard, nothing listens
    result = run_cli(nobody, ADMIN_TOKEN, "app", "list")
    assert result.returncode == 1
    assert "RECONCILER_SERVER" in result.stderr


@pytest.mark.timeout(120)
def test_sync_wait_through_the_api_fails_when_resources_require_pruning(
    system: System, serve_api: Callable[..., Api], git_repo_factory: Callable[..., GitRepo]
) -> None:
    from tests.integration.sync_helpers import NAMESPACE, app_manifest, config_map, register_app

    api = serve_api()
    repo = git_repo_factory({"app/ns.yaml": NAMESPACE, "app/a.yaml": config_map("a"), "app/b.yaml": config_map("b")})
    register_app(system, app_manifest("shop", repo))
    assert run_cli(api, ADMIN_TOKEN, "app", "sync", "shop", "--wait").returncode == 0
    repo.remove("app/b.yaml")
    repo.commit(message="b leaves git")
    kept = run_cli(api, ADMIN_TOKEN, "app", "sync", "shop", "--wait")
    assert kept.returncode == 1, kept.stdout
    assert "1 resources require pruning" in kept.stderr
