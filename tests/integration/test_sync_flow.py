"""The whole system on real Redis, Celery workers and kubesim: first sync of the seed's
app-of-apps repository, new commits, prune, drift, retries, rollback, locks."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.control.catalog import register
from reconciler.model import load_file
from tests.conftest import GitRepo, hand_edit_image
from tests.integration.conftest import System


def deployment_image(system: System, name: str, namespace: str = "production") -> str | None:
    live = system.cluster.get("apps/v1", "Deployment", namespace, name)
    if live is None:
        return None
    return str(live["spec"]["template"]["spec"]["containers"][0]["image"])


def register_root(system: System, repo: GitRepo) -> None:
    register(system.store, load_file(repo.path / "argocd" / "root.yaml"), first_poll_in=0)


def synced(system: System, name: str, revision: str) -> dict[str, Any] | None:
    status = system.status(name)
    if status.get("sync", {}).get("status") == "Synced" and status["sync"].get("revision") == revision:
        return status
    return None


@pytest.mark.timeout(120)
def test_first_sync_of_the_seed_app_of_apps_deploys_every_child(system: System, seed_repo: GitRepo) -> None:
    register_root(system, seed_repo)
    system.wait_for(lambda: sorted(system.store.children_of("root")) == ["api", "infrastructure", "worker"],
                    what="child apps registered")
    system.wait_for(lambda: deployment_image(system, "api") == "registry.example.com/api:abc123def",
                    what="api deployed")
    system.wait_for(lambda: system.cluster.get("v1", "ConfigMap", "production", "worker-config"), what="worker")
    system.wait_for(lambda: system.cluster.get("networking.k8s.io/v1", "IngressClass", None, "nginx"),
                    what="infrastructure")
    head = seed_repo.head()
    for name in ("root", "api", "worker", "infrastructure"):
        system.wait_for(lambda n=name: synced(system, n, head), what=f"{name} Synced at {head[:7]}")
    history = system.store.history("api")
    assert [h["revision"] for h in history] == [head]
    assert history[0]["initiatedBy"] == "auto"


@pytest.mark.timeout(120)
def test_root_app_health_includes_its_child_apps(system: System, seed_repo: GitRepo) -> None:
    first_sync(system, seed_repo)
    children = ("api", "infrastructure", "worker")
    system.wait_for(lambda: all(system.status(n).get("health", {}).get("status") for n in children),
                    what="children assessed")
    assert set(rows_of(system)) == set(children)
    # Each child row carries that child's own health, and the root is as healthy as its worst child
    # (a child's health change polls the root again, so this settles without waiting a poll interval).
    system.wait_for(
        lambda: {n: (r["health"] or {}).get("status") for n, r in rows_of(system).items()}
        == {n: system.status(n)["health"]["status"] for n in children},
        what="child rows carry the children's health",
    )
    system.wait_for(
        lambda: system.status("root")["health"]["status"]
        == max((system.status(n)["health"]["status"] for n in children), key=SEVERITY_ORDER.index),
        what="root health follows its children",
    )


SEVERITY_ORDER = ["Healthy", "Suspended", "Progressing", "Missing", "Degraded", "Unknown"]


def rows_of(system: System) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in system.status("root")["resources"] if r["kind"] == "Application"}


def first_sync(system: System, repo: GitRepo) -> str:
    register_root(system, repo)
    head = repo.head()
    for name in ("root", "api", "worker", "infrastructure"):
        system.wait_for(lambda n=name: synced(system, n, head), what=f"{name} Synced at {head[:7]}")
        system.wait_for(lambda n=name: system.store.lock_holder(n) is None and system.store.history(n),
                        what=f"{name}'s sync operation to finish")
    return head


@pytest.mark.timeout(120)
def test_new_commit_is_synced_on_the_next_poll(system: System, seed_repo: GitRepo) -> None:
    first_sync(system, seed_repo)
    values = (seed_repo.path / "apps/api/values-prod.yaml").read_text().replace("abc123def", "fff999")
    head = seed_repo.commit({"apps/api/values-prod.yaml": values}, message="chore: deploy api@fff999")
    system.next_poll("api")
    system.wait_for(lambda: deployment_image(system, "api") == "registry.example.com/api:fff999", what="new image")
    system.wait_for(lambda: synced(system, "api", head), what="api Synced at the new commit")
    # History is written when the operation finishes, a moment after the apply.
    system.wait_for(lambda: [h["revision"] for h in system.store.history("api")][-1:] == [head],
                    what="the sync recorded in history")


@pytest.mark.timeout(120)
def test_file_removed_from_git_is_pruned(system: System, seed_repo: GitRepo) -> None:
    first_sync(system, seed_repo)
    assert system.cluster.get("v1", "ServiceAccount", "infrastructure", "external-dns") is not None
    seed_repo.remove("infrastructure/external-dns/serviceaccount.yaml")
    head = seed_repo.commit(message="drop external-dns")
    system.next_poll("infrastructure")
    system.wait_for(lambda: synced(system, "infrastructure", head), what="infrastructure Synced after prune")
    assert system.cluster.get("v1", "ServiceAccount", "infrastructure", "external-dns") is None
    assert "/ServiceAccount/infrastructure/external-dns" not in system.store.inventory("infrastructure")


@pytest.mark.timeout(120)
def test_file_removed_from_git_is_kept_when_prune_is_off(system: System, seed_repo: GitRepo) -> None:
    app = (seed_repo.path / "argocd/apps/infrastructure.yaml").read_text().replace("prune: true", "prune: false")
    seed_repo.commit({"argocd/apps/infrastructure.yaml": app}, message="no prune")
    first_sync(system, seed_repo)
    seed_repo.remove("infrastructure/external-dns/serviceaccount.yaml")
    head = seed_repo.commit(message="drop external-dns")
    system.next_poll("infrastructure")
    system.wait_for(lambda: [h["revision"] for h in system.store.history("infrastructure")][-1:] == [head],
                    what="infrastructure synced the new commit")
    system.next_poll("infrastructure")
    status = system.wait_for(
        lambda: (s := system.status("infrastructure")).get("observedAt", 0)
        > system.store.history("infrastructure")[-1]["deployedAt"] and s,
        what="a poll after the sync",
    )
    assert system.cluster.get("v1", "ServiceAccount", "infrastructure", "external-dns") is not None
    extra = [r for r in status["resources"] if r["kind"] == "ServiceAccount"]
    assert extra and extra[0]["status"] == "Extra"
    assert status["sync"]["status"] == "OutOfSync"


@pytest.mark.timeout(120)
def test_manual_change_is_reverted_by_self_heal(system: System, seed_repo: GitRepo) -> None:
    first_sync(system, seed_repo)
    hand_edit_image(system.cluster, "registry.example.com/api:hotfix")
    assert deployment_image(system, "api") == "registry.example.com/api:hotfix"
    system.next_poll("api")
    system.wait_for(lambda: deployment_image(system, "api") == "registry.example.com/api:abc123def",
                    what="self-heal to revert the image")
    system.wait_for(lambda: system.store.history("api")[-1]["initiatedBy"] == "selfheal",
                    what="the self-heal sync recorded in history")


def manual_app(repo: GitRepo, name: str, path: str, extra_spec: str = "") -> str:
    return (
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\n"
        f"metadata:\n  name: {name}\n  namespace: argocd\n"
        "spec:\n  project: default\n"
        f"  source:\n    repoURL: {repo.url}\n    targetRevision: HEAD\n    path: {path}\n"
        "  destination:\n    server: https://kubernetes.default.svc\n    namespace: default\n"
        f"{extra_spec}"
    )


def configmap(name: str, value: str, wave: int | None = None) -> str:
    annotations = f"  annotations:\n    argocd.argoproj.io/sync-wave: \"{wave}\"\n" if wave is not None else ""
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n{annotations}data:\n  value: \"{value}\"\n"


def create_app(system: System, manifest: str) -> None:
    from reconciler.control import user_actions as actions
    from reconciler.model import parse_manifests

    actions.create(system.store, parse_manifests(manifest, source_file="test.yaml"), owner="cli")


def user_sync(system: System, name: str, **kwargs: Any) -> None:
    from reconciler.control import user_actions as actions
    from workers.tasks import request_sync

    request_sync(system.store, actions.sync(system.store, name, **kwargs))


@pytest.mark.timeout(120)
def test_failing_apply_is_retried_with_the_configured_backoff_then_marked_failed(
    system: System, git_repo_factory: Any
) -> None:
    # Rejected by the API server (a Deployment without a selector is Invalid), so every try fails.
    broken = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: broken\n"
        "spec:\n  template:\n    metadata:\n      labels: {a: b}\n"
        "    spec:\n      containers: [{name: c, image: nginx}]\n"
    )
    repo = git_repo_factory({"app/deploy.yaml": broken})
    retry = (
        "  syncPolicy:\n    automated: {}\n    retry:\n      limit: 2\n"
        "      backoff: {duration: 1s, factor: 2, maxDuration: 1m}\n"
    )
    create_app(system, manual_app(repo, "flaky", "app", retry))
    seen: dict[int, dict[str, Any]] = {}

    def failed_for_good() -> bool:
        op = system.operation("flaky")
        if op.get("nextRetryAt"):
            seen.setdefault(int(op["retryCount"]), dict(op))
        return op.get("phase") == "Failed"

    system.wait_for(failed_for_good, timeout=60, what="the sync to fail after its retries")
    final = system.operation("flaky")
    assert final["retryCount"] == 2
    assert "spec.selector" in final["message"]
    # Waits of duration x factor^n: 1 s before retry 1, 2 s before retry 2.
    assert seen[1]["nextRetryAt"] - seen[1]["finishedAt"] == pytest.approx(1.0)
    assert seen[2]["nextRetryAt"] - seen[2]["finishedAt"] == pytest.approx(2.0)
    # The automated path does not try the failed revision again on later polls.
    system.next_poll("flaky")
    system.wait_for(lambda: system.status("flaky").get("observedAt", 0) > final["finishedAt"], what="a later poll")
    assert system.operation("flaky")["id"] == final["id"]
    assert system.store.history("flaky") == []


@pytest.mark.timeout(120)
def test_rollback_syncs_the_recorded_revision(system: System, git_repo_factory: Any) -> None:
    repo = git_repo_factory({"app/cm.yaml": configmap("settings", "one")})
    create_app(system, manual_app(repo, "manual", "app"))
    first = repo.head()
    user_sync(system, "manual")
    system.wait_for(lambda: len(system.store.history("manual")) == 1, what="first sync")
    repo.commit({"app/cm.yaml": configmap("settings", "two")})
    system.next_poll("manual")  # refresh the shared ref listing before the next manual sync
    user_sync(system, "manual")
    system.wait_for(lambda: len(system.store.history("manual")) == 2, what="second sync")
    assert system.cluster.get("v1", "ConfigMap", "default", "settings")["data"]["value"] == "two"

    from reconciler.control import user_actions as actions
    from workers.tasks import request_sync

    request_sync(system.store, actions.rollback(system.store, "manual", 1))
    system.wait_for(lambda: len(system.store.history("manual")) == 3, what="rollback sync")
    assert system.cluster.get("v1", "ConfigMap", "default", "settings")["data"]["value"] == "one"
    last = system.store.history("manual")[-1]
    assert last["revision"] == first and last["initiatedBy"] == "rollback"


def test_rollback_is_refused_while_auto_sync_is_on(system: System, git_repo_factory: Any) -> None:
    from reconciler.control import user_actions as actions
    repo = git_repo_factory({"app/cm.yaml": configmap("settings", "one")})
    create_app(system, manual_app(repo, "auto", "app", "  syncPolicy:\n    automated: {}\n"))
    with pytest.raises(actions.ActionRefused, match="rollback cannot be initiated when auto-sync is enabled"):
        actions.rollback(system.store, "auto", 1)


@pytest.mark.timeout(120)
def test_second_sync_of_a_locked_app_runs_after_the_first(system: System, git_repo_factory: Any) -> None:
    from reconciler.state import Keys

    repo = git_repo_factory({"app/a.yaml": configmap("first", "1", wave=0), "app/b.yaml": configmap("second", "2")})
    create_app(system, manual_app(repo, "busy", "app"))
    # Slow applies keep the first operation holding the lock while the second request arrives.
    system.kubesim.api.add_faults([{"path_regex": "/configmaps/", "methods": ["PATCH"], "latency_ms": 400}])
    user_sync(system, "busy")
    system.wait_for(lambda: system.store.lock_holder("busy"), what="the first sync to take the lock")
    user_sync(system, "busy")
    system.wait_for(lambda: system.store.r.exists(Keys.pending("busy")), what="the second sync to be remembered")
    system.wait_for(lambda: len(system.store.history("busy")) == 2, what="both syncs to finish")
    first, second = system.store.history("busy")
    assert second["deployStartedAt"] >= first["deployedAt"]  # never overlapping
    # History is written before the lock is released: wait for the release.
    system.wait_for(lambda: system.store.lock_holder("busy") is None, what="the lock released")


@pytest.mark.timeout(120)
def test_child_removed_from_git_is_deregistered_and_keeps_its_resources_without_finalizer(
    system: System, seed_repo: GitRepo
) -> None:
    first_sync(system, seed_repo)
    seed_repo.remove("argocd/apps/worker.yaml")
    seed_repo.commit(message="drop the worker app")
    system.next_poll("root")
    system.wait_for(lambda: "worker" not in system.store.app_names(), what="worker deregistered")
    assert system.store.children_of("root") == ["api", "infrastructure"]
    assert system.cluster.get("apps/v1", "Deployment", "production", "worker") is not None


@pytest.mark.timeout(120)
def test_child_removed_from_git_with_the_resources_finalizer_has_its_resources_deleted(
    system: System, seed_repo: GitRepo
) -> None:
    child = (seed_repo.path / "argocd/apps/infrastructure.yaml").read_text().replace(
        "  namespace: argocd\n", "  namespace: argocd\n  finalizers:\n    - resources-finalizer.argocd.argoproj.io\n", 1
    )
    seed_repo.commit({"argocd/apps/infrastructure.yaml": child}, message="cascade delete infrastructure")
    first_sync(system, seed_repo)
    assert system.cluster.get("networking.k8s.io/v1", "IngressClass", None, "nginx") is not None
    seed_repo.remove("argocd/apps/infrastructure.yaml")
    seed_repo.commit(message="drop infrastructure")
    system.next_poll("root")
    system.wait_for(lambda: "infrastructure" not in system.store.app_names(), what="infrastructure deregistered")
    assert system.cluster.get("networking.k8s.io/v1", "IngressClass", None, "nginx") is None
    assert system.cluster.get("v1", "ServiceAccount", "infrastructure", "external-dns") is None


@pytest.mark.timeout(120)
def test_project_violation_is_a_condition_naming_the_rule_and_nothing_is_applied(
    system: System, git_repo_factory: Any
) -> None:
    repo = git_repo_factory({"app/cm.yaml": configmap("settings", "one")})
    project = (
        "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata:\n  name: team-a\n  namespace: argocd\n"
        f"spec:\n  sourceRepos: ['{repo.url}']\n  destinations:\n  - server: '*'\n    namespace: team-a\n"
    )
    app = manual_app(repo, "outside", "app", "  syncPolicy:\n    automated: {}\n").replace(
        "project: default", "project: team-a"
    )
    create_app(system, project + "---\n" + app)  # destination namespace `default` is not team-a's
    status = system.wait_for(lambda: system.status("outside").get("conditions"), what="a condition")
    assert "spec.destinations" in status[0]["message"]
    user_sync(system, "outside")
    final = system.wait_for(
        lambda: (op := system.operation("outside")).get("phase") == "Failed" and op, what="the sync to be refused"
    )
    assert "team-a" in final["message"]
    assert system.cluster.get("v1", "ConfigMap", "default", "settings") is None
