"""Argo CD's RBAC on the REST API, for users signed in through a real OpenID Connect provider:
each sees and acts on their team's apps only, refusals name the policy, and every change and
refusal is in the audit log and its metric."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.access.conftest import ADMIN_TOKEN, AccessApi, provider_login

APPS = "/api/v1/applications"
POLICY = """\
p, role:team-a, applications, *, team-a/*, allow
p, role:team-a, projects, get, team-a, allow
g, team-a, role:team-a
p, role:team-b, applications, *, team-b/*, allow
g, team-b, role:team-b
p, role:team-a, applications, delete, team-a/*-prod, deny
"""
PROJECT = """\
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {{name: {name}, namespace: argocd}}
spec:
  sourceRepos: ["*"]
  destinations: [{{server: "*", namespace: "*"}}]
{roles}"""
CI_ROLE = """\
  roles:
    - name: ci
      description: the pipeline of team A
      policies:
        - p, proj:team-a:ci, applications, get, team-a/*, allow
        - p, proj:team-a:ci, applications, sync, team-a/*, allow
"""


def app(name: str, project: str) -> str:
    return f"""\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: {name}, namespace: argocd}}
spec:
  project: {project}
  source: {{repoURL: "https://git.example.com/{project}.git", targetRevision: HEAD, path: apps/{name}}}
  destination: {{server: https://kubernetes.default.svc, namespace: {name}}}
"""


YAML = {"Content-Type": "application/yaml"}


def setup_teams(api: AccessApi, roles: str = "") -> None:
    documents = [PROJECT.format(name="team-a", roles=roles), PROJECT.format(name="team-b", roles=""),
                 app("a-web", "team-a"), app("a-web-prod", "team-a"), app("b-web", "team-b")]  # fmt: skip
    with api.admin() as admin:
        answer = admin.post(APPS, content="---\n".join(documents), headers=YAML)
    assert answer.status_code == 201, answer.text


@pytest.fixture
def teams(access_api: Callable[..., AccessApi]) -> AccessApi:
    api = access_api(POLICY)
    setup_teams(api)
    return api


def test_a_team_a_user_lists_and_reads_only_team_a_apps(teams: AccessApi) -> None:
    with teams.browser_login("alice") as alice:
        listed = alice.get(APPS).json()
        own = alice.get(f"{APPS}/a-web")
        other = alice.get(f"{APPS}/b-web")
        unknown = alice.get(f"{APPS}/nowhere")
    assert [a["name"] for a in listed] == ["a-web", "a-web-prod"]
    assert own.status_code == 200 and own.json()["project"] == "team-a"
    assert other.status_code == 403
    assert "permission denied: applications, get, team-b/b-web, for alice@example.com (groups: team-a)" in (
        other.json()["error"]
    )
    # Another team's app and no app at all answer alike, so names do not leak (as Argo CD).
    assert unknown.status_code == 403
    with teams.admin() as admin:
        assert admin.get(f"{APPS}/nowhere").status_code == 404


def test_a_team_a_user_syncs_team_a_and_is_refused_team_b_naming_the_policy(teams: AccessApi) -> None:
    with teams.browser_login("alice") as alice:
        synced = alice.post(f"{APPS}/a-web/sync", json={})
        refused = alice.post(f"{APPS}/b-web/sync", json={})
    assert synced.status_code == 202, synced.text
    assert refused.status_code == 403
    message = refused.json()["error"]
    assert message.startswith("permission denied: applications, sync, team-b/b-web, for alice@example.com")
    assert f"no line of the RBAC policy {teams.settings.rbac_file} (no policy.default)" in message
    assert "nor a role of project 'team-b' allows it" in message


def test_an_explicit_deny_line_is_named_in_the_refusal(teams: AccessApi) -> None:
    with teams.browser_login("alice") as alice:
        refused = alice.delete(f"{APPS}/a-web-prod")
    assert refused.status_code == 403
    assert f"denied by {teams.settings.rbac_file} policy.csv line 6" in refused.json()["error"]
    assert '"p, role:team-a, applications, delete, team-a/*-prod, deny"' in refused.json()["error"]


def test_manifests_are_checked_one_by_one_and_a_refusal_registers_none(teams: AccessApi) -> None:
    with teams.browser_login("alice") as alice:
        mixed = alice.post(APPS, content=app("a-api", "team-a") + "---\n" + app("b-api", "team-b"), headers=YAML)
        moved = alice.post(APPS, content=app("b-web", "team-a"), headers=YAML)  # take team B's app over
        own = alice.post(APPS, content=app("a-api", "team-a"), headers=YAML)
    assert mixed.status_code == 403 and "applications, create, team-b/b-api" in mixed.json()["error"]
    assert moved.status_code == 403 and "applications, update, team-b/b-web" in moved.json()["error"]
    assert own.status_code == 201
    store = teams.services.store
    assert store.app_manifest("b-api") is None
    assert store.app_manifest("b-web")["spec"]["project"] == "team-b"


def test_changes_and_refusals_are_audited_with_who_what_and_outcome(teams: AccessApi) -> None:
    with teams.browser_login("alice") as alice:
        alice.post(f"{APPS}/a-web/sync", json={})
        alice.post(f"{APPS}/b-web/sync", json={})
        alice.get(f"{APPS}/b-web")
    with teams.client("not-a-token") as stranger:
        stranger.delete(f"{APPS}/a-web")
    events = [e for e in teams.audit() if e["action"] != "create"]
    by_outcome = {(e["action"], e["outcome"], tuple(e["objects"])): e for e in events}
    synced = by_outcome[("sync", "succeeded", ("team-a/a-web",))]
    assert synced["who"] == {"subject": "alice", "name": "alice@example.com", "groups": ["team-a"], "via": "sso"}
    assert synced["request"] == "POST /api/v1/applications/a-web/sync" and synced["status"] == 202
    denied = by_outcome[("sync", "denied", ("team-b/b-web",))]
    assert "permission denied" in denied["reason"]
    assert ("get", "denied", ("team-b/b-web",)) in by_outcome  # a refused read is audited too
    assert ("delete", "unauthenticated", ()) in by_outcome
    login = next(e for e in events if e["action"] == "login")
    assert login["outcome"] == "succeeded" and login["who"]["subject"] == "alice"
    with teams.client() as anyone:
        metrics = anyone.get("/metrics").text
    assert 'reconciler_audit_events_total{action="sync",outcome="denied"} 1.0' in metrics
    assert 'reconciler_audit_events_total{action="sync",outcome="succeeded"} 1.0' in metrics


def test_a_project_token_works_for_its_project_only_and_stops_once_revoked(
    access_api: Callable[..., AccessApi],
) -> None:
    api = access_api(POLICY)
    setup_teams(api, roles=CI_ROLE)
    with api.admin() as admin:
        made = admin.post("/api/v1/projects/team-a/roles/ci/token", json={"expiresIn": "1h"})
        assert made.status_code == 201, made.text
        token = made.json()
        assert token["exp"] - token["iat"] == 3600
        with api.client(token["token"]) as ci:
            listed = [a["name"] for a in ci.get(APPS).json()]
            own = ci.post(f"{APPS}/a-web/sync", json={})
            other = ci.post(f"{APPS}/b-web/sync", json={})
            project = ci.get("/api/v1/projects/team-a")  # a role may always get its own project
            listed_tokens = admin.get("/api/v1/projects/team-a").json()["status"]["jwtTokensByRole"]
            revoked = admin.delete(f"/api/v1/projects/team-a/roles/ci/token/{token['iat']}")
            after = ci.post(f"{APPS}/a-web/sync", json={})
    assert listed == ["a-web", "a-web-prod"]
    assert own.status_code == 202, own.text
    assert other.status_code == 403 and "proj:team-a:ci" in other.json()["error"]
    assert project.status_code == 200
    assert listed_tokens == {"ci": {"items": [{"id": token["id"], "iat": token["iat"], "exp": token["exp"]}]}}
    assert revoked.status_code == 200
    assert after.status_code == 401 and "was revoked" in after.json()["error"]


def test_only_who_may_update_a_project_creates_its_tokens(access_api: Callable[..., AccessApi]) -> None:
    api = access_api(POLICY)
    setup_teams(api, roles=CI_ROLE)
    with api.browser_login("alice") as alice:
        refused = alice.post("/api/v1/projects/team-a/roles/ci/token", json={})
    assert refused.status_code == 403 and "projects, update, team-a" in refused.json()["error"]


def cli(api: AccessApi, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    import os

    env = {**os.environ, "RECONCILER_SERVER": api.url, "RECONCILER_API_TOKEN": token}
    env.pop("REDIS_URL", None)  # everything goes through the API
    return subprocess.run([sys.executable, "-m", "reconciler.cli", *args], env=env, capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip


def test_proj_role_tokens_through_the_cli(access_api: Callable[..., AccessApi]) -> None:
    api = access_api(POLICY)
    setup_teams(api, roles=CI_ROLE)
    made = cli(api, ADMIN_TOKEN, "proj", "role", "create-token", "team-a", "ci", "--expires-in", "7d")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    token_id = made.stderr.split("(id ")[1].split(",")[0]
    assert cli(api, token, "app", "sync", "a-web").returncode == 0
    refused = cli(api, token, "app", "sync", "b-web")
    assert refused.returncode == 1 and "403" in refused.stderr and "permission denied" in refused.stderr
    listed = cli(api, ADMIN_TOKEN, "proj", "role", "list-tokens", "team-a", "ci")
    assert token_id in listed.stdout
    deleted = cli(api, ADMIN_TOKEN, "proj", "role", "delete-token", "team-a", "ci", token_id)
    assert deleted.returncode == 0, deleted.stderr
    after = cli(api, token, "app", "sync", "a-web")
    assert after.returncode == 1 and "401" in after.stderr and "revoked" in after.stderr


def test_a_session_that_expired_is_refused(access_api: Callable[..., AccessApi]) -> None:
    from reconciler.state.keys import Keys

    api = access_api(POLICY, session_duration=3.0)
    setup_teams(api)
    with api.browser_login("alice") as browser:
        token = browser.cookies["reconciler_session"]  # the browser drops the cookie when it ends; a copy stays
    [(_, ends_at)] = api.services.store.r.zrange(Keys.sessions, 0, -1, withscores=True)
    with api.client(token) as alice:
        answer = alice.get(f"{APPS}/a-web")
        # Answered before the session's end (a loaded machine may take longer): it was honoured.
        if time.time() < ends_at - 0.1:
            assert answer.status_code == 200, answer.text
        # Then it ends: asked until the API says so (each answer is either 200 or the refusal).
        deadline = ends_at + 10
        while answer.status_code == 200 and time.time() < deadline:
            time.sleep(0.1)
            answer = alice.get(f"{APPS}/a-web")
    assert time.time() >= ends_at - 0.1, "refused before the session's end"
    assert answer.status_code == 401
    assert answer.json()["error"] == "the session expired or was revoked: log in again"


def test_logout_and_an_administrators_revocation_end_sessions(teams: AccessApi) -> None:
    with teams.browser_login("alice") as alice, teams.browser_login("bob") as bob, teams.admin() as admin:
        listed = {s["subject"]: s for s in admin.get("/api/v1/sessions").json()}
        assert set(listed) == {"alice", "bob"} and listed["bob"]["groups"] == ["team-b"]
        assert alice.post("/auth/logout", json={}).json()["loggedOut"] is True
        assert alice.get(APPS).status_code == 401
        assert admin.delete(f"/api/v1/sessions/{listed['bob']['id']}").status_code == 200
        assert bob.get(APPS).status_code == 401
        assert bob.get("/api/v1/sessions").status_code == 401


def test_users_may_not_list_or_revoke_sessions_without_accounts_rights(teams: AccessApi) -> None:
    with teams.browser_login("alice") as alice:
        assert alice.get("/api/v1/sessions").status_code == 403
        assert alice.get("/api/v1/session/userinfo").json()["groups"] == ["team-a"]


def test_a_policy_that_cannot_be_parsed_stops_the_api_naming_the_line(tmp_path: Any, celery_app: Any) -> None:
    import dataclasses

    from reconciler.api.server import create_app
    from reconciler.control.access.policy import PolicyError

    broken = tmp_path / "argocd-rbac-cm.yaml"
    broken.write_text("data:\n  policy.csv: |\n    g, team-a, role:team-a\n    p, role:team-a, applications, sync\n")
    settings = dataclasses.replace(celery_app.conf.reconciler_settings, rbac_file=str(broken))
    with pytest.raises(PolicyError, match=r"argocd-rbac-cm.yaml policy.csv line 2"):
        create_app(settings)
    import os

    env = {**os.environ, "RECONCILER_RBAC_FILE": str(broken), "RECONCILER_API_TOKENS": "admin:x" * 4}
    started = subprocess.run([sys.executable, "-m", "reconciler.cli", "api", "--port", "0", "--host", "127.0.0.1"],
                             env=env, capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert started.returncode != 0
    assert "not starting" in started.stderr and "policy.csv line 2" in started.stderr


def test_every_rest_and_dashboard_route_declares_what_it_needs(teams: AccessApi) -> None:
    from fastapi.routing import APIRoute

    from reconciler.api.access.permits import declares_permit
    from reconciler.api.server import create_app

    open_by_design = {"/auth/login", "/auth/callback", "/auth/token", "/auth/device", "/api/webhook"}
    app = create_app(teams.settings, teams.services)
    undeclared = [
        route.path
        for route in app.routes
        if isinstance(route, APIRoute)
        and route.path.startswith(("/api/v1", "/ui/api", "/auth"))
        and route.path not in open_by_design
        and not declares_permit(route)
    ]
    assert undeclared == []


def test_a_route_that_declares_nothing_gets_the_conservative_check(teams: AccessApi) -> None:
    from fastapi import APIRouter, Depends

    from reconciler.api.auth import rest_caller
    from reconciler.api.server import create_app
    from tests.conftest import serve_app

    router = APIRouter(prefix="/api/v1/widgets", dependencies=[Depends(rest_caller)])
    router.post("")(lambda: {"made": True})
    router.get("")(lambda: [])
    app = create_app(teams.settings, teams.services)
    app.include_router(router)
    with serve_app(app) as url:
        cookie = teams.browser_login("alice").cookies
        with httpx.Client(base_url=url, cookies=cookie, trust_env=False) as alice, httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, trust_env=False
        ) as admin:
            assert alice.get("/api/v1/widgets").status_code == 200
            refused = alice.post("/api/v1/widgets", json={})
            assert admin.post("/api/v1/widgets", json={}).status_code == 200
    assert refused.status_code == 403 and "applications, create, */*" in refused.json()["error"]


def test_a_provider_cannot_pose_as_a_static_token_or_a_project_role(teams: AccessApi) -> None:
    with teams.browser_login("mallory") as mallory:
        assert mallory.get("/api/v1/session/userinfo").json()["groups"] == ["team-a"]
    with teams.client() as browser:
        start = browser.get("/auth/login")
        back = browser.get(provider_login(start.headers["location"], "proj:team-b:ci"))
    assert back.status_code == 302 and "sso_error" in back.headers["location"]
    assert "reserved" in httpx.URL(back.headers["location"]).params["sso_error"]


def test_a_session_cookie_cannot_be_ridden_by_another_site(teams: AccessApi) -> None:
    with teams.browser_login("alice") as alice:
        forged = alice.post(f"{APPS}/a-web/sync", json={}, headers={"Origin": "https://evil.example.com"})
        plain = alice.post(f"{APPS}/a-web/sync", content=b"{}", headers={"Content-Type": "text/plain"})
    assert forged.status_code == 403 and "cross-origin request refused" in forged.json()["error"]
    assert plain.status_code == 415


def test_a_user_who_may_only_get_an_app_refreshes_it_at_most_once_a_window(
    access_api: Callable[..., AccessApi], system: Any  # workers answer the refresh
) -> None:
    # Each refresh is a render in a worker: whoever may not sync an app may not keep workers busy
    # with it (issue 22). Static read-only tokens were held to this; SSO users were not.
    api = access_api("p, role:viewer, applications, get, team-a/*, allow\ng, contractors, role:viewer\n"
                     "p, role:team-a, applications, *, team-a/*, allow\ng, team-a, role:team-a\n")
    setup_teams(api)
    store = api.services.store
    with api.browser_login("erin") as erin:
        assert erin.get(f"{APPS}/a-web/diff", params={"refresh": "true"}).status_code == 200
    assert store.r.exists("rc:refresh-claim:a-web") == 1, "the viewer's refresh took the window"
    with api.browser_login("alice") as alice:  # may sync a-web-prod: not held to the window
        assert alice.get(f"{APPS}/a-web-prod/diff", params={"refresh": "true"}).status_code == 200
    assert store.r.exists("rc:refresh-claim:a-web-prod") == 0
def test_an_event_stream_ends_once_its_project_token_is_revoked(access_api: Callable[..., AccessApi]) -> None:
    import threading

    api = access_api(POLICY)
    setup_teams(api, roles=CI_ROLE)
    with api.admin() as admin:
        made = admin.post("/api/v1/projects/team-a/roles/ci/token", json={}).json()
    events: list[str] = []
    subscribed = threading.Event()
    ended = threading.Event()

    def listen() -> None:
        headers = {"Authorization": f"Bearer {made['token']}"}
        with httpx.Client(base_url=api.url, headers=headers, timeout=60, trust_env=False) as http, \
                http.stream("GET", "/api/v1/stream/applications/a-web") as stream:
            for line in stream.iter_lines():
                if line.startswith(": subscribed"):
                    subscribed.set()
                if line.startswith("event:"):
                    events.append(line.split(":", 1)[1].strip())
        ended.set()

    threading.Thread(target=listen, daemon=True).start()
    assert subscribed.wait(15), "the stream did not open"
    with api.admin() as admin:
        assert admin.delete(f"/api/v1/projects/team-a/roles/ci/token/{made['id']}").status_code == 200
    assert ended.wait(30), "the stream went on after its token was revoked"
    assert events[-1] == "unauthorized"


def test_a_client_starting_sign_ins_again_and_again_is_held_back(access_api: Callable[..., AccessApi]) -> None:
    """Each sign-in started is a record in Redis until it times out: an anonymous flood of them
    must not fill a Redis that refuses writes when full."""
    from reconciler.api.access.auth_routes import LOGIN_REQUESTS_PER_MINUTE

    api = access_api(POLICY)
    with httpx.Client(base_url=api.url, trust_env=False) as browser:
        answers = [browser.get("/auth/login") for _ in range(LOGIN_REQUESTS_PER_MINUTE + 1)]
    assert [a.status_code for a in answers[:-1]] == [302] * LOGIN_REQUESTS_PER_MINUTE
    assert answers[-1].status_code == 429
    assert "sign-ins started from 127.0.0.1 this minute" in answers[-1].json()["error"]
    assert int(answers[-1].headers["Retry-After"]) >= 1
