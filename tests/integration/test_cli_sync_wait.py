"""`reconciler app sync NAME --wait` against the real workers, as `argocd app sync` behaves
(cmd/argocd/commands/app.go): after a whole-app sync that succeeded but left resources in
place because pruning was not asked for, it fails with "N resources require pruning"."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

import pytest

from tests.conftest import GitRepo
from tests.integration.conftest import System
from tests.integration.sync_helpers import NAMESPACE, app_manifest, config_map, register_app

pytestmark = pytest.mark.slow  # workers and a subprocess per command


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)  # REDIS_URL: the session's Redis (set by the celery_app fixture)
    env.pop("RECONCILER_SERVER", None)
    return subprocess.run([sys.executable, "-m", "reconciler.cli", *args], env=env, capture_output=True,
                          text=True, timeout=90, check=False)


@pytest.mark.timeout(150)
def test_sync_wait_fails_when_resources_require_pruning_and_succeeds_with_prune(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    repo = git_repo_factory({"app/ns.yaml": NAMESPACE, "app/a.yaml": config_map("a"), "app/b.yaml": config_map("b")})
    register_app(system, app_manifest("shop", repo))
    first = cli("app", "sync", "shop", "--wait")
    assert first.returncode == 0, first.stderr
    repo.remove("app/b.yaml")
    repo.commit(message="b leaves git")
    kept = cli("app", "sync", "shop", "--wait")
    assert kept.returncode == 1, kept.stdout
    assert "1 resources require pruning" in kept.stderr
    assert system.cluster.get("v1", "ConfigMap", "shop", "b") is not None
    # A selective sync is not judged by what it did not select (as in Argo CD).
    selective = cli("app", "sync", "shop", "--resource", "/ConfigMap/shop/a", "--wait")
    assert selective.returncode == 0, selective.stderr
    pruned = cli("app", "sync", "shop", "--prune", "--wait")
    assert pruned.returncode == 0, pruned.stderr
    assert system.cluster.get("v1", "ConfigMap", "shop", "b") is None
