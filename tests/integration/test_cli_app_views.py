"""`reconciler app logs|actions|wait|manifests|set|patch` as a person runs them (subprocess, the
operator's door: Redis and the kubeconfig from the environment), with their exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable

import pytest

from tests.api.test_app_views_api import deployment
from tests.conftest import GitRepo
from tests.integration.conftest import System
from tests.integration.sync_helpers import (  # noqa: F401 (the kubesim fixture with controllers)
    NAMESPACE,
    app_manifest,
    kubesim_with_controllers,
    register_app,
    sync_now,
    wait_operation_end,
)

pytestmark = pytest.mark.slow  # workers and a subprocess per command


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("RECONCILER_SERVER", None)
    return subprocess.run([sys.executable, "-m", "reconciler.cli", "app", *args], env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_logs_actions_manifests_and_wait_on_a_synced_app(system: System,
                                                         git_repo_factory: Callable[..., GitRepo]) -> None:
    repo = git_repo_factory(files={"app/ns.yaml": NAMESPACE, "app/api.yaml": deployment("api", "x.io/crashloop-a:1")})
    register_app(system, app_manifest("shop", repo))
    system.wait_for(lambda: system.status("shop"), what="the first poll")
    sync_now(system, "shop")
    wait_operation_end(system, "shop")
    logs = system.wait_for(lambda: (r := cli("logs", "shop", "--kind", "Deployment", "--name", "api",
                                             "--namespace", "shop")).returncode == 0 and "exited" in r.stdout and r,
                           what="the crash in the logs")
    assert "Error: api exited with code 1" in logs.stdout
    no_target = cli("logs", "shop")
    assert no_target.returncode == 2 and "--kind" in no_target.stderr
    listed = cli("actions", "list", "shop", "--kind", "Deployment", "--name", "api", "--namespace", "shop",
                 "--group", "apps")
    assert listed.returncode == 0 and "restart" in listed.stdout
    ran = cli("actions", "run", "shop", "restart", "--kind", "Deployment", "--name", "api", "--namespace", "shop",
              "--group", "apps")
    assert ran.returncode == 0, ran.stderr
    live = system.cluster.get("apps/v1", "Deployment", "shop", "api")
    assert "kubectl.kubernetes.io/restartedAt" in live["spec"]["template"]["metadata"]["annotations"]
    unknown = cli("actions", "run", "shop", "explode", "--kind", "Deployment", "--name", "api", "--namespace", "shop",
                  "--group", "apps")
    assert unknown.returncode == 1 and "no action 'explode'" in unknown.stderr
    assert cli("wait", "shop", "--health", "--timeout", "1").returncode == 1  # a crash loop is never Healthy
    assert cli("wait", "shop", "--operation", "--timeout", "30").returncode == 0
    git = cli("manifests", "shop", "--source", "git")
    assert git.returncode == 0 and "crashloop-a:1" in git.stdout and "resourceVersion" not in git.stdout
    live_text = cli("manifests", "shop", "--source", "live")
    assert live_text.returncode == 0 and "resourceVersion" in live_text.stdout


def test_set_and_patch_change_the_registered_application(system: System,
                                                         git_repo_factory: Callable[..., GitRepo]) -> None:
    register_app(system, app_manifest("tuned", git_repo_factory()))
    assert cli("set", "tuned", "--revision", "v2", "--sync-policy", "automated").returncode == 0
    spec = system.store.app_manifest("tuned")["spec"]
    assert spec["source"]["targetRevision"] == "v2" and spec["syncPolicy"]["automated"] == {}
    assert cli("set", "tuned", "--sync-policy", "none").returncode == 0
    assert "automated" not in system.store.app_manifest("tuned")["spec"]["syncPolicy"]
    patched = cli("patch", "tuned", "--type", "merge", "--patch", json.dumps({"spec": {"source": {"path": "other"}}}))
    assert patched.returncode == 0, patched.stderr
    assert system.store.app_manifest("tuned")["spec"]["source"]["path"] == "other"
    json_patch = cli("patch", "tuned", "--patch", '[{"op": "replace", "path": "/spec/source/path", "value": "x"}]')
    assert json_patch.returncode == 0 and system.store.app_manifest("tuned")["spec"]["source"]["path"] == "x"
    assert cli("patch", "tuned", "--patch", "{not json").returncode == 2
    failed = cli("patch", "tuned", "--patch", '[{"op": "remove", "path": "/spec/nothing"}]')
    assert failed.returncode == 1 and "does not exist" in failed.stderr
