"""Argo CD's build environment in a real sync (git, Celery workers, Redis, kubesim): a Helm
parameter `$ARGOCD_APP_REVISION` (Argo CD's e2e TestHelmSetEnv sets `foo=$ARGOCD_APP_NAME`)
follows each new commit, even one that leaves the chart alone, so the render cache never hands
back the previous commit's substitution."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.conftest import GitRepo
from tests.integration.conftest import System
from tests.integration.sync_helpers import app_manifest, register_app, sync_now, wait_operation_end

CHART = {
    "chart/Chart.yaml": "apiVersion: v2\nname: shop\nversion: 0.1.0\n",
    "chart/templates/cm.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: my-map\n"
        "data:\n  foo: {{ .Values.foo | quote }}\n  rev: {{ .Values.rev | quote }}\n"
    ),
    "chart/templates/ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n",
}


@pytest.mark.timeout(120)
def test_helm_parameters_carry_the_app_name_and_each_synced_revision(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    repo = git_repo_factory(CHART)
    doc = json.loads(app_manifest("shop", repo, path="chart"))
    doc["spec"]["source"]["helm"] = {"parameters": [
        {"name": "foo", "value": "$ARGOCD_APP_NAME"},
        {"name": "rev", "value": "${ARGOCD_APP_REVISION}", "forceString": True},
    ]}
    register_app(system, json.dumps(doc))
    sync_now(system, "shop")
    first = wait_operation_end(system, "shop")
    assert first["phase"] == "Succeeded", first["message"]
    data = system.cluster.get("v1", "ConfigMap", "shop", "my-map")["data"]
    assert data == {"foo": "shop", "rev": repo.head()}
    second_commit = repo.commit({"README.md": "the chart did not change\n"}, message="docs")
    sync_now(system, "shop")
    second = wait_operation_end(system, "shop", after=first["id"])
    assert second["phase"] == "Succeeded", second["message"]
    assert system.cluster.get("v1", "ConfigMap", "shop", "my-map")["data"]["rev"] == second_commit
