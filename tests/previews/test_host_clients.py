"""The Git host clients against a loopback server speaking their APIs: the comment found by its
marker and edited, statuses in each host's words, and errors that never carry the token."""

from __future__ import annotations

import pytest

from reconciler.control.previews.hosts import HostApi, PublishError
from reconciler.control.previews.markdown import MARKER
from reconciler.core.outbound import OutboundPolicy
from tests.conftest import allow_private_hosts
from tests.previews.git_host import git_host


def test_gitea_comment_is_created_then_edited_by_its_marker_and_the_status_uses_its_words() -> None:
    with git_host() as (url, state), allow_private_hosts(url.removeprefix("http://")):
        api = HostApi("gitea", url + "/api/v1", "gitea-token-value", OutboundPolicy())
        state.comments_of("org/config", 3).append({"id": 1, "body": "LGTM", "edits": 0})
        first = api.upsert_comment("org/config", 3, MARKER, MARKER + "\none")
        again = api.upsert_comment("org/config", 3, MARKER, MARKER + "\ntwo")
        api.set_status("org/config", "a" * 40, "failure", "x" * 200, "https://r.example.com/previews/1")
    assert first == again
    assert [c["body"] for c in state.comments_of("org/config", 3)] == ["LGTM", MARKER + "\ntwo"]
    [status] = state.statuses
    assert (status["state"], status["context"], len(status["description"])) == ("failure", "reconciler/preview", 140)
    assert {r["headers"]["authorization"] for r in state.requests} == {"token gitea-token-value"}


def test_gitlab_statuses_say_failed_and_running() -> None:
    with git_host() as (url, state), allow_private_hosts(url.removeprefix("http://")):
        api = HostApi("gitlab", url + "/api/v4", "glpat-value", OutboundPolicy())
        api.set_status("group/sub/config", "b" * 40, "pending", "running", "")
        api.set_status("group/sub/config", "b" * 40, "failure", "broken", "")
    assert [(s["repo"], s["state"], s["name"]) for s in state.statuses] == [
        ("group/sub/config", "running", "reconciler/preview"), ("group/sub/config", "failed", "reconciler/preview")]
    assert state.requests[0]["path"] == "/api/v4/projects/group%2Fsub%2Fconfig/statuses/" + "b" * 40


def test_a_refused_request_names_the_token_variable_and_never_the_token() -> None:
    with git_host() as (url, _state), allow_private_hosts(url.removeprefix("http://")):
        api = HostApi("github", url + "/wrong-prefix", "ghp-secret-value", OutboundPolicy())
        with pytest.raises(PublishError) as refused:
            api.set_status("org/config", "c" * 40, "success", "ok", "")  # no such route there: 404
    assert "RECONCILER_PREVIEW_GITHUB_TOKEN" in str(refused.value) and "ghp-secret-value" not in str(refused.value)


def test_a_loopback_host_is_refused_unless_allowed() -> None:
    with git_host() as (url, state):
        api = HostApi("github", url, "ghp-secret-value", OutboundPolicy())
        with pytest.raises(PublishError, match="RECONCILER_ALLOWED_PRIVATE_HOSTS"):
            api.upsert_comment("org/config", 1, MARKER, "body")
    assert state.requests == []
