"""Argo CD's kustomize options through `app create`, a worker and kubesim, as render -f shows them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.cli.main import main
from reconciler.source.render.kustomize import kustomize_command
from tests.conftest import fixture_files
from tests.integration.conftest import System
from tests.integration.test_sync_flow import create_app, manual_app

pytestmark = pytest.mark.skipif(kustomize_command() is None, reason="neither kustomize nor kubectl is on PATH")

OPTIONS = """\
    kustomize:
      namePrefix: pre-
      nameSuffix: -suf
      namespace: kusto
      images: [nginx=registry.example.com/nginx:1.27]
      replicas: [{name: web, count: 3}]
      commonLabels: {team: blue}
      labelWithoutSelector: true
      forceCommonLabels: true
      commonAnnotations: {owner: platform}
      patches:
        - path: ../patches/level.yaml
        - target: {kind: Deployment, name: web}
          patch: |-
            - op: add
              path: /metadata/annotations/patched
              value: inline
      components: [../components/audit]
"""


@pytest.mark.timeout(90)
def test_kustomize_options_are_applied_as_argo_cd_applies_them(
    system: System, git_repo_factory: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    system.cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kusto"}})
    repo = git_repo_factory(fixture_files("kustomize"))
    manifest = manual_app(repo, "kusto", "app", "  syncPolicy:\n    automated: {}\n").replace(
        "    path: app\n", "    path: app\n" + OPTIONS
    )
    create_app(system, manifest)
    web = system.wait_for(lambda: system.cluster.get("apps/v1", "Deployment", "kusto", "pre-web-suf"), what="web")
    assert web["spec"]["replicas"] == 3
    assert web["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example.com/nginx:1.27"
    assert web["metadata"]["labels"]["team"] == "blue"
    assert "team" not in web["spec"]["selector"]["matchLabels"]  # labelWithoutSelector
    assert web["metadata"]["annotations"]["owner"] == "platform"
    assert web["metadata"]["annotations"]["patched"] == "inline"
    settings = system.wait_for(lambda: system.cluster.get("v1", "ConfigMap", "kusto", "pre-settings-suf"))
    assert settings["data"] == {"level": "debug"}
    assert system.wait_for(lambda: system.cluster.get("v1", "ConfigMap", "kusto", "pre-audit-suf"), what="component")
    app_file = tmp_path / "kusto.yaml"
    app_file.write_text(manifest)
    assert main(["render", "-f", str(app_file)]) == 0
    rendered = {d["metadata"]["name"]: d for d in yaml.safe_load_all(capsys.readouterr().out)}
    assert sorted(rendered) == ["pre-audit-suf", "pre-settings-suf", "pre-web-suf"]
    assert rendered["pre-web-suf"]["spec"]["replicas"] == 3


@pytest.mark.timeout(30)
def test_kustomize_fields_not_applied_here_are_refused_by_name_at_create(tmp_path: Path) -> None:
    from reconciler.model import SpecError, parse_manifests

    manifest = manual_app(type("R", (), {"url": "https://example.com/r.git"})(), "x", "app").replace(
        "    path: app\n", "    path: app\n    kustomize:\n      version: v5.0.0\n"
    )
    with pytest.raises(SpecError, match=r"spec\.source\.kustomize\.version"):
        parse_manifests(manifest)
