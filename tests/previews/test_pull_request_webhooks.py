"""Pull-request webhooks on the running system: a GitHub pull request or GitLab merge request
for the seed repository queues a preview on the `preview` queue; its result is posted to a Git
host on loopback as one comment (edited on each push) and a commit status."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from reconciler.control.previews.markdown import MARKER
from tests.conftest import GitRepo
from tests.integration.conftest import System
from tests.previews.conftest import PUBLIC_URL, writes
from tests.previews.git_host import HostState
from tests.previews.payloads import deliver, github_pull_request, gitlab_merge_request
from tests.previews.test_preview_system import PROD_VALUES, branch

TEMPLATE = "apps/api/templates/deployment.yaml"


def ended(system: System, preview_id: str) -> dict[str, Any] | None:
    record = system.store.preview(preview_id)
    return record if record and record["state"] in ("finished", "failed", "cancelled") else None


@pytest.mark.timeout(180)
def test_a_broken_template_fails_the_github_status_naming_the_file(
    system: System, synced_seed: GitRepo, serve_api: Callable[..., Any], host: tuple[str, HostState]
) -> None:
    _url, state = host
    template = (synced_seed.path / TEMPLATE).read_text()
    broken = template.replace("{{ .Values.image.pullPolicy }}", "{{ .Values.image.pullPolicy | nosuchfunction }}")
    head = branch(synced_seed, "broken", {TEMPLATE: broken})
    base = synced_seed.head()
    system.kubesim.api.clear_log()
    with serve_api().client(token=None) as http:
        answer = deliver(http, "github", github_pull_request("opened", synced_seed.url, "org/config", 7, base, head),
                         "delivery-1")
    assert answer.status_code == 202, answer.text
    record = system.wait_for(lambda: ended(system, answer.json()["preview"]), 90, "the preview ends")
    assert record["state"] == "finished", record
    [api] = [app for app in record["document"]["apps"] if app["name"] == "api"]
    [error] = api["errors"]
    assert api["status"] == "error" and error["file"] == TEMPLATE and isinstance(error["line"], int)
    assert "nosuchfunction" in error["message"]
    [status] = [s for s in state.statuses if s["state"] != "pending"]
    assert (status["repo"], status["sha"], status["state"], status["context"]) == (
        "org/config", head, "failure", "reconciler/preview")
    assert TEMPLATE in status["description"]
    assert status["target_url"] == f"{PUBLIC_URL}/previews/{record['id']}"
    [comment] = state.comments_of("org/config", 7)
    assert comment["body"].startswith(MARKER) and TEMPLATE in comment["body"]
    assert all(r["headers"].get("authorization") == "Bearer gh-token-secret" for r in state.requests)
    assert "gh-token-secret" not in str(record)
    assert writes(system) == []


@pytest.mark.timeout(180)
def test_a_second_push_to_a_gitlab_merge_request_edits_the_same_comment(
    system: System, synced_seed: GitRepo, serve_api: Callable[..., Any], host: tuple[str, HostState]
) -> None:
    _url, state = host
    values = (synced_seed.path / PROD_VALUES).read_text()
    first = branch(synced_seed, "bump", {PROD_VALUES: values.replace("abc123def", "first00")})
    second = branch(synced_seed, "bump", {PROD_VALUES: values.replace("abc123def", "second0")}, message="again")
    api = serve_api()
    with api.client(token=None) as http:
        opened = deliver(http, "gitlab", gitlab_merge_request("open", synced_seed.url, "org/config", 3, "main", first),
                         "mr-1").json()["preview"]
        system.wait_for(lambda: ended(system, opened), 90, "the first preview ends")
        pushed = deliver(http, "gitlab", gitlab_merge_request("update", synced_seed.url, "org/config", 3, "main",
                                                              second, oldrev=first), "mr-2").json()["preview"]
        system.wait_for(lambda: ended(system, pushed), 90, "the second preview ends")
    [note] = state.comments_of("org/config", 3)
    assert note["edits"] == 1
    assert "api:second0" in note["body"] and "api:first00" not in note["body"]
    finished = [(s["sha"], s["state"], s["name"]) for s in state.statuses if s["state"] != "running"]
    assert finished == [(first, "success", "reconciler/preview"), (second, "success", "reconciler/preview")]
    assert all(r["headers"].get("private-token") == "gl-token-secret" for r in state.requests)


@pytest.mark.timeout(120)
def test_a_pull_request_from_a_fork_is_not_previewed_by_default(
    system: System, synced_seed: GitRepo, serve_api: Callable[..., Any], host: tuple[str, HostState]
) -> None:
    _url, state = host
    head = branch(synced_seed, "fork", {"apps/api/values.yaml": "replicaCount: 9\n"})
    payload = github_pull_request("opened", synced_seed.url, "org/config", 9, synced_seed.head(), head,
                                  head_repo="stranger/config")
    with serve_api().client(token=None) as http:
        answer = deliver(http, "github", payload, "fork-1")
    assert answer.status_code == 202
    assert "fork" in answer.json()["previewSkipped"] and "preview" not in answer.json()
    assert system.store.newest_pull_request_preview("github:org/config#9") == ""
    assert state.requests == []
