"""What the dashboard shows, as data (no browser): commit links per repository host, the
list's filters, rollback availability, conditions in plain words, no secrets."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.api.dashboard.commit_links import commit_url, repo_url_for_web
from reconciler.api.dashboard.listing import ListQuery
from reconciler.api.dashboard.router import role_of
from reconciler.api.dashboard.views import app_detail, condition_title, list_row, rollback_view

SHA = "3f786850e387550fdab836ed7e6dc881de23001b"


@pytest.mark.parametrize(
    ("repo", "expected"),
    [
        ("https://github.com/org/config.git", f"https://github.com/org/config/commit/{SHA}"),
        ("git@github.com:org/config.git", f"https://github.com/org/config/commit/{SHA}"),
        ("ssh://git@github.com/org/config", f"https://github.com/org/config/commit/{SHA}"),
        ("https://gitlab.com/group/sub/config.git", f"https://gitlab.com/group/sub/config/-/commit/{SHA}"),
        ("https://gitlab.example.com:8443/g/config", f"https://gitlab.example.com:8443/g/config/-/commit/{SHA}"),
        ("https://bitbucket.org/team/config.git", f"https://bitbucket.org/team/config/commits/{SHA}"),
        (
            "https://bitbucket.example.com/scm/OPS/config.git",
            f"https://bitbucket.example.com/projects/OPS/repos/config/commits/{SHA}",
        ),
        (
            "ssh://git@bitbucket.example.com:7999/OPS/config.git",
            f"https://bitbucket.example.com/projects/OPS/repos/config/commits/{SHA}",
        ),
        ("https://gitea.example.com/org/config.git", f"https://gitea.example.com/org/config/commit/{SHA}"),
    ],
)
def test_commit_links_follow_each_known_hosts_url_pattern(repo: str, expected: str) -> None:
    assert commit_url(repo, SHA) == expected


@pytest.mark.parametrize("repo", ["file:///srv/git/config", "https://git.example.com/org/config", "not a url"])
def test_unknown_hosts_get_no_commit_link(repo: str) -> None:
    assert commit_url(repo, SHA) is None


def test_commit_link_needs_a_commit_id_not_a_branch_name() -> None:
    assert commit_url("https://github.com/org/config", "main") is None


def test_repository_link_drops_credentials() -> None:
    assert repo_url_for_web("https://deploy:s3cret-token@github.com/org/config.git") == "https://github.com/org/config"


def summary_of(name: str = "shop", automated: bool = True, **overrides: Any) -> dict[str, Any]:
    return {
        "name": name,
        "project": "default",
        "repoURL": "https://deploy:s3cret-token@github.com/org/config.git",
        "path": "apps/shop",
        "targetRevision": "HEAD",
        "destination": {"server": "https://kubernetes.default.svc", "name": "", "namespace": "shop"},
        "sync": "Synced",
        "revision": SHA,
        "health": "Healthy",
        "syncedRevision": SHA,
        "lastSync": {"phase": "Succeeded", "finishedAt": 1.0, "message": "successfully synced"},
        "automated": automated,
        "parent": "",
        **overrides,
    }


MANIFEST = {"spec": {"syncPolicy": {"automated": {"prune": True, "selfHeal": False}}}}


def test_list_row_links_revisions_and_never_shows_repository_credentials() -> None:
    row = list_row(summary_of(), {"observedAt": 5.0}, MANIFEST)
    assert row["repoURL"] == "https://github.com/org/config.git"
    assert "s3cret-token" not in repr(row)
    assert row["revisionURL"] == row["syncedRevisionURL"] == f"https://github.com/org/config/commit/{SHA}"
    assert (row["automated"], row["prune"], row["selfHeal"]) == (True, True, False)


def test_rollback_is_refused_with_argo_cds_reason_while_auto_sync_is_on() -> None:
    refused = rollback_view(automated=True)
    assert refused["allowed"] is False
    assert refused["reason"].startswith("rollback cannot be initiated when auto-sync is enabled")
    assert rollback_view(automated=False) == {"allowed": True, "reason": ""}


def test_conditions_are_titled_in_plain_words() -> None:
    assert condition_title("ComparisonError") == "Could not compare Git with the cluster"
    assert condition_title("SomethingNewHappened") == "Something new happened"


def test_operation_waiting_for_a_retry_is_reported_as_a_condition_with_its_message() -> None:
    detail = {
        **summary_of(automated=False),
        "manifest": {},
        "resources": [],
        "conditions": [],
        "operation": {"phase": "Running", "retryCount": 2, "nextRetryAt": 99.0,
                      "message": "apply failed (retrying attempt #2 in 10s)"},
        "history": [{"id": 1, "revision": SHA, "deployedAt": 3.0, "initiatedBy": "user"}],
        "children": [],
    }
    page = app_detail(detail, {}, {})
    assert page["conditions"] == [
        {"type": "RetryScheduled", "title": "The last sync attempt failed and will be retried",
         "message": "apply failed (retrying attempt #2 in 10s)"}
    ]
    assert (page["operation"]["retryCount"], page["operation"]["nextRetryAt"]) == (2, 99.0)
    assert page["history"][0]["revisionURL"].endswith(SHA)
    assert page["rollback"]["allowed"] is True


def test_role_is_read_from_what_the_auth_dependency_returns() -> None:
    class Caller:
        role = "readonly"

    assert role_of(Caller()) == "readonly"
    assert role_of({"role": "admin"}) == "admin"
    assert role_of(None) == "anonymous"


def test_operation_lists_its_hooks_with_phase_and_outcome() -> None:
    hook = {"id": 0, "phase": "PreSync", "wave": -1, "kind": "Job", "namespace": "shop", "name": "migrate-x7k2p",
            "generateName": "migrate-", "status": "Failed", "message": "BackoffLimitExceeded", "obj": {"spec": {}}}
    detail = {
        **summary_of(automated=False), "manifest": {}, "resources": [], "conditions": [], "history": [],
        "children": [], "operation": {"phase": "Failed", "message": "PreSync hook failed", "hooks": [hook]},
    }
    page = app_detail(detail, {}, {})
    [shown] = page["operation"]["hooks"]
    assert (shown["phase"], shown["wave"], shown["name"], shown["status"]) == ("PreSync", -1, "migrate-x7k2p", "Failed")
    assert "obj" not in shown


def test_list_search_matches_name_repository_or_path_and_filters_are_exact() -> None:
    row = {"name": "shop", "project": "default", "repoURL": "https://github.com/org/config.git",
           "path": "apps/shop", "sync": "OutOfSync", "health": "Healthy"}
    assert ListQuery(search="ORG/CONFIG").matches(row)
    assert ListQuery(search="apps/sh").matches(row)
    assert not ListQuery(search="cart").matches(row)
    assert ListQuery(sync="OutOfSync", health="Healthy", project="default").matches(row)
    assert not ListQuery(sync="Synced").matches(row)
