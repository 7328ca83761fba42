"""The pure parts of pull-request previews: which apps a change touches, the document's
verdicts, its Markdown, the pull-request events that start one, requests and settings."""

from __future__ import annotations

import json

import pytest

from reconciler.api.webhook.event import WebhookError
from reconciler.api.webhook.pull_requests import parse_pull_request, preview_request
from reconciler.control.previews.document import (
    app_entry,
    commit_state,
    error_entry,
    exit_code,
    headline,
    status_description,
    visible_to,
)
from reconciler.control.previews.markdown import MARKER, comment_body, to_markdown
from reconciler.control.previews.request import (
    InvalidPreviewRequest,
    PreviewRequest,
    PullRequest,
    check_request,
)
from reconciler.control.previews.select import concerned_apps, touches
from reconciler.model import parse_application
from reconciler.settings import SettingsError
from reconciler.settings.preview import PreviewSettings

REPO = "https://github.com/org/config"


def manifest(name: str = "api", source: dict | None = None, sources: list | None = None,
             annotations: dict | None = None) -> dict:
    spec: dict = {"project": "default", "destination": {"server": "https://kubernetes.default.svc", "namespace": "x"}}
    if sources is not None:
        spec["sources"] = sources
    else:
        spec["source"] = source or {"repoURL": REPO, "path": "apps/api", "targetRevision": "HEAD"}
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": name, "annotations": annotations or {}}, "spec": spec}  # fmt: skip


# --- which apps a change touches ----------------------------------------------------------


def test_a_change_under_the_source_path_touches_the_app_and_one_beside_it_does_not() -> None:
    app = manifest()
    assert touches(app, REPO, ["apps/api/values.yaml"])
    assert not touches(app, REPO, ["apps/apiserver/values.yaml", "README.md"])


def test_value_files_outside_the_path_and_manifest_generate_paths_are_watched() -> None:
    helm = {"repoURL": REPO, "path": "charts/api", "helm": {"valueFiles": ["../../envs/prod.yaml"]}}
    assert touches(manifest(source=helm), REPO, ["envs/prod.yaml"])
    annotated = manifest(annotations={"argocd.argoproj.io/manifest-generate-paths": "/shared/base;../lib"})
    assert touches(annotated, REPO, ["shared/base/kustomization.yaml"])
    assert touches(annotated, REPO, ["apps/lib/x.yaml"])
    assert not touches(annotated, REPO, ["other/x.yaml"])


def test_a_ref_source_is_watched_only_where_other_sources_read_it() -> None:
    sources = [
        {"repoURL": "https://charts.example.com", "chart": "api", "targetRevision": "1.0.0",
         "helm": {"valueFiles": ["$values/envs/prod/api.yaml"]}},
        {"repoURL": REPO, "ref": "values", "targetRevision": "main"},
    ]  # fmt: skip
    app = manifest(sources=sources)
    assert touches(app, REPO, ["envs/prod/api.yaml"])
    assert not touches(app, REPO, ["envs/staging/api.yaml"])


def test_the_repository_matches_whatever_the_transport_and_unknown_changes_touch_everything() -> None:
    app = manifest(source={"repoURL": "git@github.com:org/config.git", "path": "apps/api"})
    assert touches(app, REPO, None)
    assert [c.name for c in concerned_apps({"api": app, "other": manifest("other", {
        "repoURL": "https://github.com/org/other", "path": "apps/api"})}, REPO, None, None)] == ["api"]  # fmt: skip


def test_only_the_allowed_apps_are_concerned() -> None:
    apps = {"api": manifest("api"), "web": manifest("web")}
    assert [c.name for c in concerned_apps(apps, REPO, [], ["web", "gone"])] == ["web"]


# --- the document's verdicts ---------------------------------------------------------------


def document(*apps: dict) -> dict:
    return {"repoURL": REPO, "base": "a" * 40, "head": "b" * 40, "apps": list(apps)}


def test_exit_code_and_commit_state_follow_the_worst_app() -> None:
    unchanged = app_entry("web", "default", "unchanged")
    changed = app_entry("api", "default", "changed")
    broken = error_entry("db", "default", "unexpected }", "apps/db/templates/sts.yaml", 12)
    assert (exit_code(document(unchanged)), commit_state(document(unchanged))) == (0, "success")
    assert (exit_code(document(unchanged, changed)), commit_state(document(changed))) == (1, "success")
    assert (exit_code(document(changed, broken)), commit_state(document(changed, broken))) == (2, "failure")
    assert status_description(document(changed, broken)) == (
        "db fails to render: apps/db/templates/sts.yaml:12: unexpected }")


def test_a_project_refusal_fails_the_status_and_a_sync_window_does_not() -> None:
    held = app_entry("api", "default", "changed", refused=[{"reason": "syncWindow", "message": "deny window"}])
    forbidden = app_entry("api", "default", "changed",
                          refused=[{"reason": "project", "message": "ClusterRole is not permitted"}])
    assert commit_state(document(held)) == "success"
    assert commit_state(document(forbidden)) == "failure"
    assert "refused by a project" in headline(document(forbidden))


def test_a_reader_sees_only_the_apps_it_may_get() -> None:
    seen = visible_to(document(app_entry("a", "team-a", "changed"), app_entry("b", "team-b", "changed")),
                      lambda project, name: project == "team-a")
    assert [app["name"] for app in seen["apps"]] == ["a"]


# --- Markdown ----------------------------------------------------------------------------------


def test_the_comment_starts_with_the_marker_and_a_diff_cannot_close_its_fence() -> None:
    obj = {"group": "", "kind": "ConfigMap", "namespace": "x", "name": "c", "change": "changed",
           "diff": "+  script: |\n+    ````\n"}  # fmt: skip
    text = to_markdown(document(app_entry("api", "default", "changed", objects=[obj])))
    assert text.startswith(MARKER + "\n")
    assert "`````diff" in text and "\n`````\n" in text


def test_a_report_over_the_limit_drops_the_diffs_and_links_the_full_one() -> None:
    big = {"group": "", "kind": "ConfigMap", "namespace": "x", "name": "c", "change": "changed",
           "diff": "+x\n" * 5000}  # fmt: skip
    doc = document(app_entry("api", "default", "changed", objects=[big]))
    body = comment_body(doc, "https://r.example.com/previews/1", 2000)
    assert len(body) <= 2000 and body.startswith(MARKER)
    assert "changed: `ConfigMap x/c`" in body and "+x" not in body
    assert "[open it](https://r.example.com/previews/1)" in body
    assert len(comment_body(doc, "", 200)) <= 200


def test_unchanged_apps_are_one_line() -> None:
    text = to_markdown(document(*(app_entry(n, "default", "unchanged") for n in ("a", "b", "c"))))
    assert "Unchanged (3): a, b, c" in text and "####" not in text


# --- pull-request events ---------------------------------------------------------------------


def github(action: str = "opened", head_repo: str = "org/config") -> bytes:
    return json.dumps({
        "action": action, "number": 4,
        "pull_request": {"number": 4, "head": {"sha": "c" * 40, "repo": {"full_name": head_repo}},
                         "base": {"sha": "d" * 40, "repo": {"full_name": "org/config"}}},
        "repository": {"full_name": "org/config", "html_url": REPO, "clone_url": REPO + ".git"},
    }).encode()  # fmt: skip


def test_a_github_pull_request_opened_or_pushed_to_starts_a_preview_and_others_do_not() -> None:
    event = parse_pull_request("github", {"X-GitHub-Event": "pull_request"}, github("synchronize"))
    assert event is not None
    assert (event.pull_request.key, event.base, event.pull_request.head_sha) == (
        "github:org/config#4", "d" * 40, "c" * 40)
    assert parse_pull_request("github", {"X-GitHub-Event": "pull_request"}, github("labeled")) is None
    assert parse_pull_request("github", {"X-GitHub-Event": "push"}, github()) is None


def test_a_gitlab_update_without_new_commits_is_not_previewed() -> None:
    body = {"object_kind": "merge_request", "project": {"path_with_namespace": "org/config", "web_url": REPO},
            "object_attributes": {"iid": 2, "action": "update", "target_branch": "main",
                                  "last_commit": {"id": "e" * 40}, "source_project_id": 1, "target_project_id": 1}}
    headers = {"X-Gitlab-Event": "Merge Request Hook"}
    assert parse_pull_request("gitlab", headers, json.dumps(body).encode()) is None
    body["object_attributes"]["oldrev"] = "f" * 40
    event = parse_pull_request("gitlab", headers, json.dumps(body).encode())
    assert event is not None and event.base == "main" and not event.pull_request.fork


def test_a_fork_is_skipped_unless_allowed_and_an_unused_repository_is_said() -> None:
    event = parse_pull_request("github", {"X-GitHub-Event": "pull_request"}, github(head_repo="someone/config"))
    assert event is not None and event.pull_request.fork
    app = parse_application(manifest())
    request, why = preview_request(event, [app], allow_forks=False)
    assert request is None and "RECONCILER_PREVIEW_ALLOW_FORKS" in why
    request, why = preview_request(event, [app], allow_forks=True)
    assert request is not None and request.repo_url == REPO and request.pull_request == event.pull_request
    assert preview_request(event, [None], allow_forks=True) == (None, "no registered application uses this repository")


def test_a_pull_request_payload_without_its_head_names_the_field() -> None:
    body = json.loads(github())
    del body["pull_request"]["head"]["sha"]
    with pytest.raises(WebhookError, match=r"pull_request\.head\.sha"):
        parse_pull_request("github", {"X-GitHub-Event": "pull_request"}, json.dumps(body).encode())


# --- requests and settings ---------------------------------------------------------------------


def test_a_request_crosses_processes_unchanged_and_bad_revisions_are_refused() -> None:
    request = PreviewRequest(REPO, "main", "c" * 40, ("api",), PullRequest("gitlab", "org/config", 2, "c" * 40))
    assert PreviewRequest.from_dict(json.loads(json.dumps(request.to_dict()))) == request
    assert check_request(f" {REPO} ", "release/1.2", "v1.2.3+build") == (REPO, "release/1.2", "v1.2.3+build")
    for bad in ("-oops", "a b", "main..evil", "x" * 300, 3):
        with pytest.raises(InvalidPreviewRequest):
            check_request(REPO, bad, "main")


def test_preview_settings_read_tokens_urls_and_forks_and_name_a_bad_url() -> None:
    settings = PreviewSettings.from_env({
        "RECONCILER_PREVIEW_GITLAB_TOKEN": " glpat-1 ", "RECONCILER_PREVIEW_GITLAB_API_URL": "https://git.example.com/api/v4/",
        "RECONCILER_PREVIEW_ALLOW_FORKS": "true",
    })  # fmt: skip
    assert settings.tokens == {"gitlab": "glpat-1"} and settings.allow_forks
    assert settings.api_urls["gitlab"] == "https://git.example.com/api/v4"
    assert settings.api_urls["github"] == "https://api.github.com"
    assert "glpat" not in repr(settings)
    with pytest.raises(SettingsError, match="RECONCILER_PREVIEW_GITEA_API_URL"):
        PreviewSettings.from_env({"RECONCILER_PREVIEW_GITEA_API_URL": "gitea.example.com"})


def test_a_gitea_pull_request_synchronized_starts_a_preview() -> None:
    body = json.loads(github("synchronized"))
    event = parse_pull_request("gitea", {"X-Gitea-Event": "pull_request"}, json.dumps(body).encode())
    assert event is not None and event.pull_request.host == "gitea" and event.pull_request.number == 4
    assert parse_pull_request("gitea", {"X-Gitea-Event": "pull_request"}, github("synchronize")) is None
