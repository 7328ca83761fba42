"""`reconciler app ...` as a person runs it: a subprocess talking to Redis directly.

Exit status: 0 success, 1 refused or failed (reason on stderr), 2 usage."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import GitRepo


@pytest.fixture
def cli(redis_url: str, redis_client: Any, tmp_path: Path) -> Any:
    env = {**os.environ, "REDIS_URL": redis_url, "RECONCILER_DATA_DIR": str(tmp_path / "data")}
    env.pop("RECONCILER_SERVER", None)

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "reconciler.cli", *args],
            env=env, input=stdin, capture_output=True, text=True, timeout=60, check=False,
        )

    return run


def test_app_create_registers_the_seed_applications(cli: Any, seed_repo: GitRepo) -> None:
    result = cli("app", "create", "-f", str(seed_repo.path / "argocd" / "apps" / "api.yaml"))
    assert result.returncode == 0, result.stderr
    assert "application 'api' registered" in result.stdout
    listing = json.loads(cli("app", "list", "-o", "json").stdout)
    assert [app["name"] for app in listing] == ["api"]
    assert listing[0]["repoURL"] == seed_repo.url


def test_app_create_of_an_invalid_manifest_names_file_and_field_and_exits_1(cli: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: x\nspec:\n  source: {}\n")
    result = cli("app", "create", "-f", str(bad))
    assert result.returncode == 1
    assert "bad.yaml" in result.stderr and "spec.source.repoURL" in result.stderr


def test_app_get_of_an_unknown_app_exits_1_and_says_how_to_register(cli: Any) -> None:
    result = cli("app", "get", "nope")
    assert result.returncode == 1
    assert "'nope' is not registered" in result.stderr
    assert "reconciler app create -f" in result.stderr


def test_usage_errors_exit_2(cli: Any) -> None:
    assert cli("app", "rollback", "api").returncode == 2
    assert cli("app", "frobnicate").returncode == 2


def test_app_rollback_is_refused_under_auto_sync_with_the_reason(cli: Any, seed_repo: GitRepo) -> None:
    cli("app", "create", "-f", str(seed_repo.path / "argocd" / "apps" / "api.yaml"))
    result = cli("app", "rollback", "api", "1")
    assert result.returncode == 1
    assert "rollback cannot be initiated when auto-sync is enabled" in result.stderr


def test_app_history_of_a_new_app_is_empty_json(cli: Any, seed_repo: GitRepo) -> None:
    cli("app", "create", "-f", str(seed_repo.path / "argocd" / "apps" / "api.yaml"))
    result = cli("app", "history", "api", "-o", "json")
    assert result.returncode == 0
    assert json.loads(result.stdout) == []


def test_app_delete_forgets_the_app(cli: Any, seed_repo: GitRepo) -> None:
    cli("app", "create", "-f", "-", stdin=(seed_repo.path / "argocd" / "apps" / "api.yaml").read_text())
    assert cli("app", "delete", "api").returncode == 0
    assert json.loads(cli("app", "list", "-o", "json").stdout) == []
    assert cli("app", "delete", "api").returncode == 1


def test_terminate_op_without_a_running_sync_exits_1_and_confirm_prune_exits_0(
    cli: Any, seed_repo: GitRepo
) -> None:
    assert cli("app", "create", "-f", str(seed_repo.path / "argocd" / "apps" / "api.yaml")).returncode == 0
    result = cli("app", "terminate-op", "api")
    assert result.returncode == 1 and "no running operation to terminate" in result.stderr
    confirmed = cli("app", "confirm-prune", "api")
    assert confirmed.returncode == 0 and "prune confirmed" in confirmed.stdout
