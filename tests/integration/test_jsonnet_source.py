"""Jsonnet directory sources through `app create`, a worker and kubesim; and no false green."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.cli.main import main
from tests.conftest import fixture_files
from tests.integration.conftest import System
from tests.integration.test_no_silent_failure import condition_of
from tests.integration.test_sync_flow import create_app, manual_app

JSONNET_OPTIONS = """\
    directory:
      jsonnet:
        extVars: [{name: env, value: prod}]
        tlas:
          - {name: replicas, value: "2", code: true}
          - {name: settings, value: "{extra: 'x'}", code: true}
        libs: [lib]
"""
AUTOMATED = "  syncPolicy:\n    automated: {}\n"


def jsonnet_app(repo: Any, name: str, path: str) -> str:
    manifest = manual_app(repo, name, path, AUTOMATED)
    return manifest.replace(f"    path: {path}\n", f"    path: {path}\n{JSONNET_OPTIONS}")


@pytest.mark.timeout(60)
def test_jsonnet_directory_with_ext_vars_tlas_and_libs_is_applied_as_render_shows_it(
    system: System, git_repo_factory: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    repo = git_repo_factory(fixture_files("jsonnet"))
    manifest = jsonnet_app(repo, "jsonnet", "app")
    create_app(system, manifest)
    settings = system.wait_for(
        lambda: system.cluster.get("v1", "ConfigMap", "default", "jsonnet-settings"), what="the synced ConfigMap"
    )
    assert settings["data"] == {"env": "prod", "extra": "x", "greeting": "hello"}
    replicas = system.wait_for(lambda: system.cluster.get("v1", "ConfigMap", "default", "jsonnet-replicas"))
    assert replicas["data"] == {"replicas": "3"}
    app_file = tmp_path / "app.yaml"
    app_file.write_text(manifest)
    monkeypatch.setenv("RECONCILER_DATA_DIR", str(tmp_path / "offline"))
    assert main(["render", "-f", str(app_file)]) == 0
    rendered = {doc["metadata"]["name"]: doc for doc in yaml.safe_load_all(capsys.readouterr().out)}
    assert rendered["jsonnet-settings"]["data"] == settings["data"]
    assert rendered["jsonnet-replicas"]["data"] == replicas["data"]


@pytest.mark.timeout(60)
def test_a_directory_of_jsonnet_libraries_only_is_a_comparison_error_naming_them(
    system: System, git_repo_factory: Any
) -> None:
    repo = git_repo_factory(fixture_files("jsonnet-library-only", under="app"))
    create_app(system, manual_app(repo, "libonly", "app", AUTOMATED))
    condition = system.wait_for(lambda: condition_of(system, "libonly"), what="a condition")
    assert condition["type"] == "ComparisonError"
    assert "renders no objects" in condition["message"] and "k.libsonnet" in condition["message"]
    assert "README.md" not in condition["message"]
    assert system.status("libonly")["sync"]["status"] != "Synced"


@pytest.mark.timeout(60)
def test_a_jsonnet_import_outside_the_repository_is_refused_by_name(system: System, git_repo_factory: Any) -> None:
    repo = git_repo_factory({"app/main.jsonnet": "import '../../../../../../etc/hostname'\n"})
    create_app(system, manual_app(repo, "escape", "app", AUTOMATED))
    condition = system.wait_for(lambda: condition_of(system, "escape"), what="a condition")
    assert "app/main.jsonnet" in condition["message"]
    assert "leaves the repository" in condition["message"]
