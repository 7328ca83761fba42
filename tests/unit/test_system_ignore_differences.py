"""System-level `resource.customizations.ignoreDifferences` apply in every app's comparison.

`compare` is driven with a small in-memory cluster (the three calls it makes), so the test
exercises the real wiring from the customizations file to the per-resource diff.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.engine.compare import DesiredState, compare
from reconciler.engine.diff.resource_diff import ResourceSyncStatus
from reconciler.engine.health.rules.configured import loaded_customizations
from reconciler.model import parse_application
from reconciler.model.resources import TRACKING_ANNOTATION
from reconciler.settings import Settings

APP = parse_application(
    {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "shop", "namespace": "argocd"},
        "spec": {
            "project": "default",
            "source": {"repoURL": "https://git.example.com/fleet.git", "path": "shop", "targetRevision": "main"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "shop"},
        },
    }
)

DESIRED: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "shop"},
    "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "web", "image": "web:1"}]}}},
}


class InMemoryCluster:
    """The live Deployment an HPA scaled to 5 replicas; dry-runs answer the manifest as applied."""

    field_manager = "gitops-reconciler"

    def __init__(self) -> None:
        live = copy.deepcopy(DESIRED)
        live["spec"]["replicas"] = 5
        live["metadata"].update(
            resourceVersion="7", annotations={TRACKING_ANNOTATION: "shop:apps/Deployment:shop/web"}
        )
        live["status"] = {"observedGeneration": 1, "replicas": 5, "updatedReplicas": 5, "availableReplicas": 5}
        self.live = live

    def list_tracked(self, app: str, types: Any, namespaces: Any = ()) -> list[dict[str, Any]]:
        return [self.live]

    def get(self, api_version: str, kind: str, namespace: str | None, name: str) -> dict[str, Any]:
        return self.live

    def apply(self, manifest: dict[str, Any], dry_run: bool = False, field_validation: str = "") -> dict[str, Any]:
        merged = copy.deepcopy(self.live)
        merged["spec"] = copy.deepcopy(manifest["spec"])
        return merged

    def dry_run_apply(self, manifest: dict[str, Any], field_validation: str = "") -> tuple[dict[str, Any], bool]:
        return self.apply(manifest, dry_run=True), False  # the Deployment exists


def sync_status(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, data: dict[str, str] | None) -> ResourceSyncStatus:
    settings = Settings()
    if data is not None:
        path = tmp_path / "argocd-cm.yaml"
        path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "data": data}))
        settings = Settings(resource_customizations_file=str(path))
    comparison = compare(
        InMemoryCluster(), APP, DesiredState(revision="abc", objects=[copy.deepcopy(DESIRED)]),
        customizations=loaded_customizations(settings),
    )
    (resource,) = comparison.resources
    return resource.diff.status


def test_without_system_rules_scaled_replicas_are_a_difference(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert sync_status(monkeypatch, tmp_path, None) is ResourceSyncStatus.OUT_OF_SYNC


def test_a_system_rule_for_the_kind_ignores_the_field(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    data = {"resource.customizations.ignoreDifferences.apps_Deployment": "jsonPointers:\n- /spec/replicas\n"}
    assert sync_status(monkeypatch, tmp_path, data) is ResourceSyncStatus.SYNCED


def test_a_system_rule_for_all_kinds_applies_too(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    data = {"resource.customizations.ignoreDifferences.all": "jqPathExpressions:\n- .spec.replicas\n"}
    assert sync_status(monkeypatch, tmp_path, data) is ResourceSyncStatus.SYNCED


def test_a_system_rule_for_another_kind_does_not(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    data = {"resource.customizations.ignoreDifferences.apps_StatefulSet": "jsonPointers:\n- /spec/replicas\n"}
    assert sync_status(monkeypatch, tmp_path, data) is ResourceSyncStatus.OUT_OF_SYNC
