"""Multi-source applications (`spec.sources`) through `app create`, a worker and kubesim:
a chart from one repository with value files from another (`ref`), plus a directory;
every source's revision in status and history; a rollback restores all of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.cli.main import main
from tests.conftest import GitRepo, fixture_files
from tests.integration.conftest import System
from tests.integration.test_sync_flow import configmap, create_app, user_sync


def multi_source_app(name: str, charts: GitRepo, values: GitRepo, extra_spec: str = "") -> str:
    return f"""\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: {name}, namespace: argocd}}
spec:
  project: default
  sources:
    - repoURL: {charts.url}
      targetRevision: HEAD
      path: greeting
      helm:
        valueFiles: [$values/envs/prod/greeting.yaml]
    - repoURL: {values.url}
      targetRevision: HEAD
      ref: values
    - repoURL: {values.url}
      targetRevision: HEAD
      path: extra
  destination: {{server: https://kubernetes.default.svc, namespace: default}}
{extra_spec}"""


def repos(git_repo_factory: Any) -> tuple[GitRepo, GitRepo]:
    charts = git_repo_factory(fixture_files("charts/greeting", under="greeting"), name="charts")
    values = git_repo_factory(
        {
            "envs/prod/greeting.yaml": "message: from the values repository\n",
            "extra/cm.yaml": configmap("extra", "one"),
        },
        name="values",
    )
    return charts, values


def greeting(system: System, app: str) -> str:
    found = system.cluster.get("v1", "ConfigMap", "default", f"{app}-greeting")
    return str(found["data"]["message"]) if found else ""


@pytest.mark.timeout(90)
def test_sources_render_together_with_value_files_from_a_ref_and_show_every_revision(
    system: System, git_repo_factory: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    charts, values = repos(git_repo_factory)
    manifest = multi_source_app("multi", charts, values, "  syncPolicy:\n    automated: {}\n")
    create_app(system, manifest)
    system.wait_for(lambda: greeting(system, "multi") == "from the values repository", what="the chart's ConfigMap")
    assert system.wait_for(lambda: system.cluster.get("v1", "ConfigMap", "default", "extra"), what="the directory's")
    status = system.wait_for(lambda: (s := system.status("multi"))["sync"]["status"] == "Synced" and s)
    assert status["sync"]["revisions"] == [charts.head(), values.head(), values.head()]
    assert [s["repoURL"] for s in status["sources"]] == [charts.url, values.url, values.url]
    history = system.wait_for(lambda: system.store.history("multi"), what="history")
    assert history[-1]["revisions"] == [charts.head(), values.head(), values.head()]
    app_file = tmp_path / "multi.yaml"
    app_file.write_text(manifest)
    assert main(["render", "-f", str(app_file)]) == 0
    rendered = {d["metadata"]["name"]: d for d in yaml.safe_load_all(capsys.readouterr().out)}
    assert sorted(rendered) == ["extra", "multi-greeting"]
    assert rendered["multi-greeting"]["data"]["message"] == "from the values repository"


@pytest.mark.timeout(120)
def test_rollback_of_a_multi_source_app_restores_every_source(system: System, git_repo_factory: Any) -> None:
    charts, values = repos(git_repo_factory)
    create_app(system, multi_source_app("roll", charts, values))
    user_sync(system, "roll")
    system.wait_for(lambda: len(system.store.history("roll")) == 1, what="the first sync")
    first = system.store.history("roll")[0]
    values.commit({"envs/prod/greeting.yaml": "message: changed\n", "extra/cm.yaml": configmap("extra", "two")})
    charts.commit({"greeting/values.yaml": "message: chart default changed\n"})
    system.next_poll("roll")
    user_sync(system, "roll")
    system.wait_for(lambda: len(system.store.history("roll")) == 2, what="the second sync")
    assert greeting(system, "roll") == "changed"
    assert system.cluster.get("v1", "ConfigMap", "default", "extra")["data"]["value"] == "two"

    from reconciler.control import user_actions as actions
    from workers.tasks import request_sync

    request_sync(system.store, actions.rollback(system.store, "roll", int(first["id"])))
    system.wait_for(lambda: len(system.store.history("roll")) == 3, what="the rollback")
    assert greeting(system, "roll") == "from the values repository"
    assert system.cluster.get("v1", "ConfigMap", "default", "extra")["data"]["value"] == "one"
    assert system.store.history("roll")[-1]["revisions"] == first["revisions"]
