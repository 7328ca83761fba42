"""What a first sync asks of the API server: one dry-run per object (the poll that finds it
missing: the server's 201 says so, without a GET), one apply, and nothing more for objects no
controller changes afterwards. The sync
right after that poll takes its dry-run verdict for the still-missing objects (for
ABSENT_TRUST_SECONDS), and the poll after the sync takes the apply's answer as verified.
Counted from kubesim's request log, with real Redis, a real Celery worker and real git."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest

from reconciler.control.catalog import register
from reconciler.engine.cluster import Cluster
from reconciler.engine.compare import DesiredState, compare
from reconciler.engine.diff.resource_diff import ResourceSyncStatus
from reconciler.engine.health.rules.configured import Customizations
from reconciler.engine.verified_marks import ABSENT, ABSENT_TRUST_SECONDS, manifest_hash
from reconciler.model import parse_application, parse_manifests
from reconciler.model.resources import ResourceKey
from tests.conftest import GitRepo
from tests.integration.conftest import System
from tests.integration.test_noop_poll import APP, FILES, application, synced_and_verified

OBJECT_PATHS = {
    "/api/v1/namespaces/default/configmaps/noop-a",
    "/api/v1/namespaces/default/configmaps/noop-b",
    "/api/v1/namespaces/default/services/noop-web",
}


@pytest.mark.timeout(120)
def test_first_sync_dry_runs_and_applies_each_object_once(system: System, git_repo_factory: Any) -> None:
    repo: GitRepo = git_repo_factory(FILES, name="noop-config")
    system.kubesim.api.clear_log()
    register(system.store, parse_manifests(application(repo)), first_poll_in=0)
    system.wait_for(lambda: synced_and_verified(system), timeout=60, what="Synced and verified after the first sync")

    # The app's objects; the sync fence's Lease (renewed before each step) is counted apart.
    patches = [e for e in system.kubesim.api.requests() if e["method"] == "PATCH" and "/leases/" not in e["path"]]
    dry_runs = Counter(e["path"] for e in patches if "dryRun" in e["query"])
    applies = Counter(e["path"] for e in patches if "dryRun" not in e["query"])
    assert dry_runs == dict.fromkeys(OBJECT_PATHS, 1)
    assert applies == dict.fromkeys(OBJECT_PATHS, 1)
    # The dry-run's 201 Created said each object was missing: none was read with a GET.
    gets = [e["path"] for e in system.kubesim.api.requests() if e["method"] == "GET" and e["path"] in OBJECT_PATHS]
    assert gets == []
    assert system.status(APP)["dryRuns"] == 0  # the poll after the sync: the apply's answers
    # The sync fence: created without a read first (no operation of the app was ever recorded),
    # not renewed by steps that run right after the claim in the same task, released at the end.
    leases = [(e["method"], e["path"].rsplit("/", 1)[-1])
              for e in system.kubesim.api.requests() if "/leases" in e["path"]]
    assert leases == [("POST", "leases"), ("PATCH", "reconciler-sync-noop")], leases
    # The ended operation is a stub: its steps, which held every object it applied, are gone.
    ended = system.store.operation(system.store.operation_state(APP)["id"])
    assert ended is not None and ended["steps"] == [] and ended["ended"] == "Succeeded"


CONFIGMAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "late", "namespace": "default"},
             "data": {"k": "v"}}
APP_MANIFEST = {
    "apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "late", "namespace": "argocd"},
    "spec": {"project": "default", "source": {"repoURL": "https://example.com/r.git", "path": "."},
             "destination": {"server": "https://kubernetes.default.svc", "namespace": "default"}},
}


@pytest.mark.parametrize(
    ("entry_age", "same_manifest", "dry_runs"),
    [(1.0, True, 0), (ABSENT_TRUST_SECONDS + 5, True, 1), (1.0, False, 1)],
    ids=["fresh: trusted", "too old: asked again", "manifest changed: asked again"],
)
def test_a_missing_object_is_dry_run_again_unless_just_verified(
    kubesim: Any, entry_age: float, same_manifest: bool, dry_runs: int
) -> None:
    cluster = Cluster.for_host(kubesim.url)
    app = parse_application(APP_MANIFEST, source_file="test")
    hashed = manifest_hash(CONFIGMAP if same_manifest else {**CONFIGMAP, "data": {"k": "other"}})
    verified = {str(ResourceKey.of(CONFIGMAP)): f"{ABSENT}:{hashed}:{time.time() - entry_age:.0f}"}

    comparison = compare(
        cluster, app, DesiredState(revision="r", objects=[dict(CONFIGMAP)]), verified=verified,
        customizations=Customizations(),
    )

    assert comparison.dry_runs == dry_runs
    assert [r.diff.status for r in comparison.resources] == [ResourceSyncStatus.MISSING]
    # a dry-run that found it missing leaves a fresh entry for the sync that follows
    assert comparison.verified.get(str(ResourceKey.of(CONFIGMAP)), "").startswith(f"{ABSENT}:") == (dry_runs == 1)
