"""The `reconciler appset` and `reconciler cluster` verbs through the API (RECONCILER_SERVER), with
their exit codes, and an ApplicationSet rendered by an app-of-apps on the running system."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from reconciler.control.catalog import register
from reconciler.model import parse_manifests
from tests.appsets.conftest import app_template, appset
from tests.appsets.test_appset_api import CLUSTER, SET, client
from tests.conftest import GitRepo
from tests.dashboard.conftest import ADMIN_TOKEN, Dashboard, dashboard  # noqa: F401
from tests.integration.conftest import System

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def cli(board: Dashboard, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RECONCILER_SERVER": board.url, "RECONCILER_API_TOKEN": ADMIN_TOKEN}
    return subprocess.run([sys.executable, "-m", "reconciler.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip


def test_cli_lists_gets_and_deletes_sets_and_adds_and_lists_clusters_through_the_api(
    system: System, dashboard: Dashboard, tmp_path: Path  # noqa: F811 (a worker answers `appset generate`)
) -> None:
    from reconciler.control.appsets.reconcile import run_generation

    set_file, cluster_file = tmp_path / "appset.yaml", tmp_path / "cluster.yaml"
    set_file.write_text(yaml.safe_dump(SET))
    cluster_file.write_text(CLUSTER)

    previewed = cli(dashboard, "appset", "generate", "-f", str(set_file), "-o", "yaml")
    assert previewed.returncode == 0, previewed.stderr
    assert [a["metadata"]["name"] for a in yaml.safe_load_all(previewed.stdout) if a] == [
        "dev-guestbook", "prod-guestbook"]  # fmt: skip

    with client(dashboard, ADMIN_TOKEN) as admin:
        created = admin.post("/api/v1/applicationsets", content=set_file.read_bytes(),
                             headers={"Content-Type": "application/yaml"})  # fmt: skip
    assert created.status_code == 201, created.text
    run_generation(dashboard.services, "guestbook")
    listed = cli(dashboard, "appset", "list", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    [row] = json.loads(listed.stdout)
    assert (row["name"], row["applications"]) == ("guestbook", 2)
    table = cli(dashboard, "appset", "get", "guestbook")
    assert table.returncode == 0 and "dev-guestbook" in table.stdout and "ParametersGenerated" in table.stdout

    added = cli(dashboard, "cluster", "add", "-f", str(cluster_file))
    assert added.returncode == 0 and "cluster 'prod' registered" in added.stdout, added.stderr
    clusters = cli(dashboard, "cluster", "list")
    assert clusters.returncode == 0 and "https://prod.example.com" in clusters.stdout
    assert "secret config" in clusters.stdout and "tok-s3cr3t" not in clusters.stdout
    not_a_cluster = tmp_path / "app.yaml"
    not_a_cluster.write_text(yaml.safe_dump(SET))
    refused = cli(dashboard, "cluster", "add", "-f", str(not_a_cluster))
    assert refused.returncode == 1 and "cluster Secrets" in refused.stderr

    deleted = cli(dashboard, "appset", "delete", "guestbook")
    assert deleted.returncode == 0, deleted.stderr
    assert "ApplicationSet 'guestbook' deleted with 2 application(s)" in deleted.stdout
    gone = cli(dashboard, "appset", "get", "guestbook")
    assert gone.returncode == 1 and "guestbook" in gone.stderr
    assert dashboard.services.store.appset_manifest("guestbook") is None


def test_an_app_of_apps_registers_the_application_set_it_renders_and_its_apps_are_generated(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    workloads = git_repo_factory({f"envs/{e}/cm.yaml": yaml.safe_dump(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"fleet-{e}"}, "data": {"env": e}})
        for e in ("dev", "prod")})  # fmt: skip
    template = app_template("fleet-{{env}}", "envs/{{env}}", "fleet", repo=workloads.url,
                            syncPolicy={"automated": {}, "syncOptions": ["CreateNamespace=true"]})  # fmt: skip
    fleet = appset("fleet", [{"list": {"elements": [{"env": "dev"}, {"env": "prod"}]}}], template)
    parents = git_repo_factory({"sets/fleet.yaml": yaml.safe_dump(fleet)})
    root = {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": "root", "namespace": "argocd"},
        "spec": {"project": "default", "source": {"repoURL": parents.url, "path": "sets", "targetRevision": "HEAD"},
                 "destination": {"server": "https://kubernetes.default.svc", "namespace": "argocd"},
                 "syncPolicy": {"automated": {"prune": True}}},
    }  # fmt: skip
    register(system.store, parse_manifests(json.dumps(root)), first_poll_in=0)
    system.wait_for(lambda: system.store.appset_manifest("fleet"), 60, "the set the root renders registered")
    for env in ("dev", "prod"):
        system.wait_for(lambda e=env: system.cluster.get("v1", "ConfigMap", "fleet", f"fleet-{e}"), 90,
                        f"fleet-{env} generated and synced")  # fmt: skip
    assert system.store.appset_manifest("fleet")["spec"]["template"]["metadata"]["name"] == "fleet-{{env}}"
