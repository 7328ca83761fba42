"""An automated app never goes back to an older commit because of a stale `git ls-remote`
answer (real git, Redis, Celery workers, kubesim).

The race seen under load: a poll starts `ls-remote` just before a push; the push's webhook polls
with a fresh listing and the app syncs the new commit; then the first poll's listing, older,
lands in the shared cache and every poll of the next seconds resolves the branch to the old
commit. Argo CD's automated sync follows what its repo server resolves, so the same stale
answer would make it sync backwards too; here the shared cache keeps the newest listing, and a
poll that resolves to an ancestor of the commit it last synced lists the remote again first.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.core.urls import normalize_repo_url
from reconciler.source.git.client import GitSource
from tests.conftest import GitRepo
from tests.integration.conftest import System
from tests.integration.sync_helpers import NAMESPACE, app_manifest, register_app


def settings(value: str) -> str:
    meta = {"name": "settings", "namespace": "shop"}
    return json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"k": value}})


def ls_remote(repo: GitRepo) -> str:
    return subprocess.run(["git", "ls-remote", "--symref", "--", repo.url, "HEAD", "refs/heads/*", "refs/tags/*"],
                          check=True, capture_output=True, text=True).stdout


def synced_revisions(system: System, name: str) -> list[str]:
    return [entry["revision"] for entry in system.store.history(name)]


def polled_after(system: System, name: str, moment: float) -> dict[str, Any] | None:
    status = system.status(name)
    return status if float(status.get("reconciledAt") or 0) > moment else None


@pytest.mark.timeout(120)
def test_a_stale_shared_listing_never_syncs_an_automated_app_back_to_an_older_commit(
    system: System, git_repo_factory: Callable[..., GitRepo], tmp_path: Path
) -> None:
    from workers.tasks import poll

    repo = git_repo_factory({"app/ns.yaml": NAMESPACE, "app/cm.yaml": settings("one")})
    first = repo.head()
    register_app(system, app_manifest("shop", repo, auto=True))
    system.wait_for(lambda: synced_revisions(system, "shop") == [first], what="the first auto-sync")
    listing_before_the_push = ls_remote(repo)
    second = repo.commit({"app/cm.yaml": settings("two")}, message="two")
    poll.apply_async(args=("shop",), kwargs={"fresh": True}, queue="urgent")  # the push's webhook
    system.wait_for(lambda: synced_revisions(system, "shop") == [first, second], what="the push's auto-sync")

    key = normalize_repo_url(repo.url)
    started_before_the_push = time.time()
    with GitSource(tmp_path / "cache", ref_cache_ttl=30.0, shared_refs=system.store) as webhook_listing:
        webhook_listing.list_refs(repo.url, refresh=True)  # shared for 30 s, not the tests' 0.2 s
    # The slow listing that started before the push may not replace the push's own listing...
    assert not system.store.cache_refs(key, listing_before_the_push, 30.0, listed_at=started_before_the_push)
    assert second in (system.store.cached_refs(key) or ("", 0.0))[0]
    # ...and had it been shared anyway (say, by a lagging server), the next poll notices the
    # commit is older than the one synced and lists the remote again before acting.
    assert system.store.cache_refs(key, listing_before_the_push, 30.0)
    moment = time.time()
    system.next_poll("shop")
    status = system.wait_for(lambda: polled_after(system, "shop", moment), what="a poll after the stale listing")
    assert status["sync"]["revision"] == second
    assert status["sync"]["status"] == "Synced"
    assert synced_revisions(system, "shop") == [first, second]
    assert system.cluster.get("v1", "ConfigMap", "shop", "settings")["data"] == {"k": "two"}


@pytest.mark.timeout(120)
def test_a_branch_moved_back_on_purpose_is_followed_once_a_fresh_listing_confirms_it(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    repo = git_repo_factory({"app/ns.yaml": NAMESPACE, "app/cm.yaml": settings("one")})
    first = repo.head()
    register_app(system, app_manifest("shop", repo, auto=True))
    system.wait_for(lambda: synced_revisions(system, "shop") == [first], what="the first auto-sync")
    second = repo.commit({"app/cm.yaml": settings("two")}, message="two")
    system.next_poll("shop")
    system.wait_for(lambda: synced_revisions(system, "shop") == [first, second], what="the second auto-sync")
    repo.git("reset", "-q", "--hard", first)  # `git push --force` of the older commit, as Argo CD follows it
    system.next_poll("shop")
    system.wait_for(lambda: synced_revisions(system, "shop") == [first, second, first], what="the rewound sync")
    assert system.cluster.get("v1", "ConfigMap", "shop", "settings")["data"] == {"k": "one"}


def test_is_ancestor_answers_from_the_mirror(tmp_path: Path, git_repo_factory: Callable[..., GitRepo]) -> None:
    repo = git_repo_factory({"a.txt": "a"})
    older = repo.head()
    newer = repo.commit({"b.txt": "b"})
    with GitSource(tmp_path / "cache") as source:
        assert not source.is_ancestor(repo.url, older, newer)  # no mirror yet: nothing is fetched to answer
        source.snapshot(repo.url, newer)
        assert source.is_ancestor(repo.url, older, newer)
        assert not source.is_ancestor(repo.url, newer, older)
        assert not source.is_ancestor(repo.url, newer, newer)


@pytest.mark.timeout(120)
def test_a_second_automated_sync_of_the_revision_just_synced_is_dropped(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    """Two polls that both saw the app OutOfSync before the first sync took the lock each ask for
    an automated sync of the same commit; Argo CD attempts one automated sync per revision, so
    the one that starts after the other has run is dropped (no operation, no history entry)."""
    from reconciler.control.requests import SyncRequest
    from workers.tasks import sync

    repo = git_repo_factory({"app/ns.yaml": NAMESPACE, "app/cm.yaml": settings("one")})
    head = repo.head()
    register_app(system, app_manifest("shop", repo, auto=True))
    system.wait_for(lambda: synced_revisions(system, "shop") == [head], what="the first auto-sync")
    system.wait_for(lambda: system.store.lock_holder("shop") is None, what="the lock released")
    operation = system.operation("shop")
    # The late request of the second poll, as the queue hands it to a worker.
    sync.apply(args=(SyncRequest(app="shop", revision=head, trigger="auto").to_dict(),)).get()
    assert synced_revisions(system, "shop") == [head]
    assert system.operation("shop")["id"] == operation["id"]
    assert system.store.lock_holder("shop") is None
