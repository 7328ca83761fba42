"""App-of-apps: a child the parent cannot register is named in the parent's condition."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import System
from tests.integration.test_sync_flow import create_app, manual_app

BAD_CHILD = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: plugged, namespace: argocd}
spec:
  source: {repoURL: https://example.com/r.git, path: x, plugin: {name: cmp}}
  destination: {server: https://kubernetes.default.svc, namespace: default}
"""


@pytest.mark.timeout(60)
def test_a_child_application_that_cannot_be_registered_is_named_with_its_reason_in_the_parent(
    system: System, git_repo_factory: Any
) -> None:
    repo = git_repo_factory({"apps/plugged.yaml": BAD_CHILD})
    create_app(system, manual_app(repo, "parent", "apps"))
    status = system.wait_for(lambda: (s := system.status("parent")).get("conditions") and s, what="a condition")
    messages = [c["message"] for c in status["conditions"]]
    assert any("child application plugged cannot be registered" in m and "spec.source.plugin" in m for m in messages)
    assert status["sync"]["status"] == "OutOfSync"
    row = next(r for r in status["resources"] if r["kind"] == "Application")
    assert row["name"] == "plugged" and "plugin" in row["error"]
