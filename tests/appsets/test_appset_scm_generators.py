"""The pull-request and SCM-provider generators against a loopback server speaking each hosting
API's shape (tests/appsets/scm_server.py): parameters as Argo CD names them, every page read,
filters and labels, tokens from a Secret (tokenRef) or a RECONCILER_* setting sent and never
shown, and an API that is down is an error naming the generator."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest

from reconciler.control.appsets.actions import GenerateFailed, generate_preview
from reconciler.services import Services
from tests.appsets.conftest import app_template, appset
from tests.appsets.scm_server import ScmState, scm_server

SHA = "0123456789abcdef0123456789abcdef01234567"
PULLS = [
    {
        "number": 1,
        "title": "Add feature",
        "branch": "feature/One_Thing",
        "target": "main",
        "sha": SHA,
        "labels": ["preview"],
        "author": "alice",
    },
    {
        "number": 2,
        "title": "WIP: spike",
        "branch": "spike",
        "target": "main",
        "sha": "f" * 40,
        "labels": [],
        "author": "bob",
    },
    {
        "number": 3,
        "title": "Fix",
        "branch": "fix-3",
        "target": "release",
        "sha": "a" * 40,
        "labels": ["preview", "urgent"],
        "author": "carol",
    },
]


@pytest.fixture
def scm() -> Iterator[tuple[str, ScmState]]:
    with scm_server() as (base, state):
        state.pulls = [dict(p) for p in PULLS]
        yield base, state


def pr_set(provider: dict[str, Any], go: bool = False, **extra: Any) -> dict[str, Any]:
    name = "pr-{{.number}}-{{.branch_slug}}" if go else "pr-{{number}}-{{branch_slug}}"
    template = app_template(name, "app", name, repo="https://github.example/org/repo.git")
    template["spec"]["source"]["targetRevision"] = "{{.head_sha}}" if go else "{{head_sha}}"
    template["metadata"]["labels"] = {
        "sha": "{{.head_short_sha}}" if go else "{{head_short_sha}}",
        "author": "{{.author}}" if go else "{{author}}",
    }
    return appset("previews", [{"pullRequest": {**provider, **extra}}], template, goTemplate=go)


def names(apps: list[dict[str, Any]]) -> list[str]:
    return sorted(a["metadata"]["name"] for a in apps)


def test_github_pull_requests_become_apps_with_argo_cd_parameters(services: Services, scm: tuple) -> None:
    base, state = scm
    apps = generate_preview(services, pr_set({"github": {"owner": "org", "repo": "repo", "api": base}}))
    assert names(apps) == ["pr-1-feature-one-thing", "pr-2-spike", "pr-3-fix-3"]
    first = next(a for a in apps if a["metadata"]["name"].startswith("pr-1"))
    assert first["spec"]["source"]["targetRevision"] == SHA
    assert first["metadata"]["labels"] == {"sha": SHA[:8], "author": "alice"}
    pages = [path for path, _ in state.requests if "/pulls" in path]
    assert pages[0].startswith("/api/v3/repos/org/repo/pulls?") and "state=open" in pages[0] and len(pages) == 2


def test_github_labels_and_filters_choose_the_pull_requests(services: Services, scm: tuple) -> None:
    base, _ = scm
    labelled = pr_set({"github": {"owner": "org", "repo": "repo", "api": base, "labels": ["preview"]}})
    assert names(generate_preview(services, labelled)) == ["pr-1-feature-one-thing", "pr-3-fix-3"]
    filtered = pr_set(
        {"github": {"owner": "org", "repo": "repo", "api": base}},
        filters=[{"branchMatch": "^feature/"}, {"targetBranchMatch": "release"}],
    )
    assert names(generate_preview(services, filtered)) == ["pr-1-feature-one-thing", "pr-3-fix-3"]


def test_go_template_mode_gives_pull_request_labels_as_a_list(services: Services, scm: tuple) -> None:
    base, _ = scm
    spec = pr_set({"github": {"owner": "org", "repo": "repo", "api": base}}, go=True)
    spec["spec"]["template"]["metadata"]["labels"]["labels"] = '{{ join "-" .labels }}'
    apps = {a["metadata"]["name"]: a for a in generate_preview(services, spec)}
    assert apps["pr-3-fix-3"]["metadata"]["labels"]["labels"] == "preview-urgent"


def test_gitlab_merge_requests_with_label_filter_and_pages(services: Services, scm: tuple) -> None:
    base, state = scm
    spec = pr_set({"gitlab": {"project": "group/repo", "api": base, "labels": ["preview"]}})
    assert names(generate_preview(services, spec)) == ["pr-1-feature-one-thing", "pr-3-fix-3"]
    [path] = [p for p, _ in state.requests if "merge_requests" in p]
    assert path.startswith("/api/v4/projects/group%2Frepo/merge_requests?") and "labels=preview" in path


def test_gitea_pull_requests(services: Services, scm: tuple) -> None:
    base, state = scm
    spec = pr_set({"gitea": {"owner": "org", "repo": "repo", "api": base}})
    assert names(generate_preview(services, spec)) == ["pr-1-feature-one-thing", "pr-2-spike", "pr-3-fix-3"]
    assert state.requests[0][0].startswith("/api/v1/repos/org/repo/pulls?")


def test_bitbucket_server_pull_requests_over_pages_with_basic_auth_from_a_secret(
    services: Services, scm: tuple, kubesim: Any
) -> None:
    base, state = scm
    kubesim.api.put_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argocd"}})
    kubesim.api.put_object(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "bb", "namespace": "argocd"},
            "data": {"password": base64.b64encode(b"hunter2").decode()},
        }
    )
    spec = pr_set(
        {
            "bitbucketServer": {
                "project": "PROJ",
                "repo": "repo",
                "api": base,
                "basicAuth": {"username": "ci", "passwordRef": {"secretName": "bb", "key": "password"}},
            }
        }
    )
    assert names(generate_preview(services, spec)) == ["pr-1-feature-one-thing", "pr-2-spike", "pr-3-fix-3"]
    paths = [p for p, _ in state.requests]
    assert paths[0].startswith("/rest/api/1.0/projects/PROJ/repos/repo/pull-requests?") and len(paths) == 2
    expected = "Basic " + base64.b64encode(b"ci:hunter2").decode()
    assert all(headers.get("authorization") == expected for _, headers in state.requests)


def test_a_token_setting_is_sent_and_never_shown_in_an_error(
    services: Services, scm: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, state = scm
    services.settings.appset_tokens["github"] = "ghp_s3cr3t"
    spec = pr_set({"github": {"owner": "org", "repo": "repo", "api": base}})
    generate_preview(services, spec)
    assert state.requests[0][1]["authorization"] == "Bearer ghp_s3cr3t"
    state.down = True
    with pytest.raises(GenerateFailed) as raised:
        generate_preview(services, spec)
    assert "spec.generators[0].pullRequest" in str(raised.value) and "503" in str(raised.value)
    assert "s3cr3t" not in str(raised.value)


def test_a_missing_token_secret_is_an_error_naming_it(services: Services, scm: tuple, kubesim: Any) -> None:
    base, _ = scm
    spec = pr_set(
        {
            "gitea": {
                "owner": "org",
                "repo": "repo",
                "api": base,
                "tokenRef": {"secretName": "gitea-token", "key": "token"},
            }
        }
    )
    with pytest.raises(GenerateFailed) as raised:
        generate_preview(services, spec)
    assert "argocd/gitea-token" in str(raised.value)


REPOS = [
    {
        "id": 11,
        "name": "api",
        "default_branch": "main",
        "branches": {"main": "1" * 40, "dev": "2" * 40},
        "topics": ["service"],
        "files": {"main": ["deploy/kustomization.yaml"], "dev": []},
    },
    {
        "id": 12,
        "name": "docs",
        "default_branch": "main",
        "branches": {"main": "3" * 40},
        "topics": [],
        "files": {"main": ["README.md"]},
    },
    {
        "id": 13,
        "name": "web",
        "default_branch": "trunk",
        "branches": {"trunk": "4" * 40},
        "topics": ["service"],
        "files": {"trunk": ["deploy/kustomization.yaml"]},
    },
]


def scm_set(provider: dict[str, Any], **extra: Any) -> dict[str, Any]:
    template = app_template("{{repository}}-{{branchNormalized}}", "deploy", "{{repository}}", repo="{{url}}")
    template["spec"]["source"]["targetRevision"] = "{{sha}}"
    template["metadata"]["labels"] = {"org": "{{organization}}", "id": "{{repository_id}}", "topics": "{{labels}}"}
    return appset("repos", [{"scmProvider": {**provider, **extra}}], template)


def test_github_organisation_repositories_with_paths_exist_filter(services: Services, scm: tuple) -> None:
    base, state = scm
    state.repos = REPOS
    spec = scm_set(
        {"github": {"organization": "org", "api": base}}, filters=[{"pathsExist": ["deploy"]}], cloneProtocol="https"
    )
    apps = {a["metadata"]["name"]: a for a in generate_preview(services, spec)}
    assert sorted(apps) == ["api-main", "web-trunk"]
    assert apps["api-main"]["spec"]["source"]["repoURL"] == "https://github.example/org/api.git"
    assert apps["api-main"]["spec"]["source"]["targetRevision"] == "1" * 40
    assert apps["api-main"]["metadata"]["labels"] == {"org": "org", "id": "11", "topics": "service"}


def test_gitlab_group_every_branch_with_repository_and_branch_filters(services: Services, scm: tuple) -> None:
    base, state = scm
    state.repos = REPOS
    spec = scm_set(
        {"gitlab": {"group": "team", "api": base, "allBranches": True}},
        filters=[{"repositoryMatch": "^api$", "branchMatch": "^dev$"}, {"labelMatch": "^serv"}],
    )
    apps = generate_preview(services, spec)
    assert names(apps) == ["api-dev", "api-main", "web-trunk"]
    assert all(a["spec"]["source"]["repoURL"].startswith("git@gitlab.example:team/") for a in apps)
