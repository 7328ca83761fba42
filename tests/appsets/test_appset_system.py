"""ApplicationSets on the running system: Celery workers generate the set (beat schedules it, a
webhook triggers it), the generated apps sync to kubesim, RollingSync syncs its steps in order,
and a pull-request webhook refreshes a pull-request set at once."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from reconciler.control import user_actions
from reconciler.model import parse_manifests
from tests.api.conftest import BY_NAME, SECRET, hex_hmac
from tests.appsets.conftest import app_template, appset
from tests.appsets.scm_server import scm_server
from tests.conftest import GitRepo
from tests.integration.conftest import System

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  app: {name}\n"


def create(system: System, manifest: dict[str, Any]) -> None:
    user_actions.create(system.store, parse_manifests(yaml.safe_dump(manifest)), owner="api")


def configmap(system: System, namespace: str, name: str) -> dict[str, Any] | None:
    return system.cluster.get("v1", "ConfigMap", namespace, name)


@pytest.mark.timeout(120)
def test_a_git_directory_set_deploys_one_app_per_folder_and_a_push_webhook_removes_a_deleted_one(
    system: System, git_repo_factory: Callable[..., GitRepo], serve_api: Callable[..., Any]
) -> None:
    repo = git_repo_factory({f"apps/{n}/cm.yaml": CONFIGMAP.format(name=n) for n in ("api", "web", "jobs")})
    template = app_template(
        "{{path.basename}}",
        "{{path}}",
        "{{path.basename}}",
        repo=repo.url,
        syncPolicy={"automated": {"prune": True}, "syncOptions": ["CreateNamespace=true"]},
    )
    create(
        system,
        appset(
            "apps",
            [{"git": {"repoURL": repo.url, "revision": "HEAD", "directories": [{"path": "apps/*"}]}}],
            template,
        ),
    )
    system.wait_for(lambda: all(configmap(system, n, n) for n in ("api", "web", "jobs")), 60, "three apps deployed")
    assert system.store.apps_owned_by("apps") == ["api", "jobs", "web"]
    before, head = repo.head(), ""
    repo.remove("apps/jobs")
    head = repo.commit(message="drop jobs")
    api = serve_api()
    body = json.dumps(
        {
            "repository": repo.url,
            "ref": "refs/heads/main",
            "before": before,
            "after": head,
            "changed_files": ["apps/jobs/cm.yaml"],
        }
    ).encode()
    with api.client(token=None) as http:
        answer = http.post(
            "/api/webhook",
            content=body,
            headers={"X-Signature": "sha256=" + hex_hmac(SECRET, body), "Content-Type": "application/json"},
        )
    assert answer.status_code == 202 and answer.json()["applicationSets"] == ["apps"]
    system.wait_for(lambda: system.store.app_manifest("jobs") is None, 30, "jobs deregistered")
    system.wait_for(lambda: configmap(system, "jobs", "jobs") is None, 30, "jobs' ConfigMap deleted (finalizer)")
    assert configmap(system, "api", "api") is not None


@pytest.mark.timeout(150)
def test_rolling_sync_syncs_a_later_step_only_after_the_earlier_one_is_healthy(
    system: System, git_repo_factory: Callable[..., GitRepo]
) -> None:
    repo = git_repo_factory({f"envs/{e}/cm.yaml": CONFIGMAP.format(name=f"web-{e}") for e in ("dev", "qa", "prod")})
    template = app_template(
        "web-{{env}}",
        "envs/{{env}}",
        "shop",
        repo=repo.url,
        syncPolicy={"automated": {"prune": True}, "syncOptions": ["CreateNamespace=true"]},
    )
    template["metadata"]["labels"] = {"env": "{{env}}"}
    steps = [
        {"matchExpressions": [{"key": "env", "operator": "In", "values": ["dev"]}]},
        {"matchExpressions": [{"key": "env", "operator": "In", "values": ["qa", "prod"]}], "maxUpdate": 1},
    ]
    create(
        system,
        appset(
            "web",
            [{"list": {"elements": [{"env": "dev"}, {"env": "qa"}, {"env": "prod"}]}}],
            template,
            strategy={"type": "RollingSync", "rollingSync": {"steps": steps}},
        ),
    )
    names = ("web-dev", "web-qa", "web-prod")
    system.wait_for(lambda: all(configmap(system, "shop", n) for n in names), 90, "every step synced")
    assert "automated" not in (system.store.app_manifest("web-dev")["spec"].get("syncPolicy") or {})
    ops = {n: system.store.operation_state(n) for n in names}
    assert ops["web-dev"]["finishedAt"] <= min(ops["web-qa"]["startedAt"], ops["web-prod"]["startedAt"])
    # maxUpdate 1: the second app of step 2 started only after the first one had finished
    first, second = sorted((ops["web-qa"], ops["web-prod"]), key=lambda op: op["startedAt"])
    assert first["finishedAt"] <= second["startedAt"]
    system.wait_for(
        lambda: [s["status"] for s in system.store.appset_status("web")["applicationStatus"]] == ["Healthy"] * 3,
        30,
        "rollout complete",
    )
    # `appset get` (the same answer as GET /api/v1/applicationsets/web) shows each app's step.
    from reconciler.control.appsets.actions import get_appset

    shown = {row["application"]: row["step"] for row in get_appset(system.store, "web")["applicationStatus"]}
    assert shown == {"web-dev": "1", "web-qa": "2", "web-prod": "2"}


@pytest.mark.timeout(120)
def test_a_pull_request_webhook_refreshes_a_pull_request_set_at_once(
    system: System,
    git_repo_factory: Callable[..., GitRepo],
    serve_api: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo = git_repo_factory({"app/cm.yaml": CONFIGMAP.format(name="preview")})
    with scm_server() as (base, state):
        state.pulls = [
            {
                "number": 7,
                "title": "t",
                "branch": "feat-a",
                "target": "main",
                "sha": repo.head(),
                "labels": [],
                "author": "a",
            }
        ]
        template = app_template("preview-{{number}}", "app", "preview-{{number}}", repo=repo.url)
        create(
            system,
            appset(
                "previews",
                [
                    {
                        "pullRequest": {
                            "github": {"owner": "org", "repo": "repo", "api": base},
                            "requeueAfterSeconds": 3600,
                        }
                    }
                ],
                template,
            ),
        )
        system.wait_for(lambda: system.store.apps_owned_by("previews") == ["preview-7"], 30, "first pull request")
        state.pulls.append({**state.pulls[0], "number": 8, "branch": "feat-b"})
        api = serve_api()
        event = json.loads(BY_NAME["github"].body())
        event["repository"]["html_url"] = f"{base}/org/repo"
        body = json.dumps({"action": "opened", "number": 8, "repository": event["repository"]}).encode()
        headers = {**BY_NAME["github"].headers(body), "X-GitHub-Event": "pull_request"}
        with api.client(token=None) as http:
            answer = http.post("/api/webhook", content=body, headers=headers)
        assert answer.status_code == 202 and answer.json()["applicationSets"] == ["previews"], answer.text
        system.wait_for(
            lambda: system.store.apps_owned_by("previews") == ["preview-7", "preview-8"],
            30,
            "the new pull request's app",
        )
