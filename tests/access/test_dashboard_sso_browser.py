"""Single sign-on in the real dashboard, in headless Chromium, against the running system (real Redis,
a Celery worker, kubesim, git) and a real OpenID Connect provider on loopback: a member of team-a
logs in via SSO, sees and syncs only team A's apps, is refused team B's with a 403 that names the
policy, and signs out; a session that expires sends the dashboard back to the sign-in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from reconciler.control.catalog import register
from reconciler.model import parse_manifests
from tests.access.conftest import AccessApi
from tests.conftest import GitRepo
from tests.integration.conftest import System

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]

POLICY = """\
p, role:team-a, applications, *, team-a/*, allow
g, team-a, role:team-a
p, role:team-b, applications, *, team-b/*, allow
g, team-b, role:team-b
"""


def register_team_apps(system: System, repo: GitRepo) -> None:
    documents = []
    for team, app in (("team-a", "shop-a"), ("team-b", "shop-b")):
        documents.append(f"""\
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {{name: {team}, namespace: argocd}}
spec:
  sourceRepos: ["*"]
  destinations: [{{server: "*", namespace: "{app}"}}]
  clusterResourceWhitelist: [{{group: "", kind: Namespace}}]
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: {app}, namespace: argocd}}
spec:
  project: {team}
  source:
    repoURL: "{repo.url}"
    targetRevision: HEAD
    path: apps/api
    helm: {{valueFiles: [values.yaml, values-prod.yaml]}}
  destination: {{server: https://kubernetes.default.svc, namespace: {app}}}
  syncPolicy:
    syncOptions: [CreateNamespace=true]
""")
    register(system.store, parse_manifests("---\n".join(documents), source_file="teams.yaml"), first_poll_in=0)
    for app in ("shop-a", "shop-b"):
        system.wait_for(lambda a=app: system.status(a).get("sync"), what=f"{app} compared")


def sso_sign_in(page: Any, api: AccessApi, user: str, path: str = "/") -> None:
    from playwright.sync_api import expect

    page.route("https://cdn.jsdelivr.net/**", lambda route: route.abort())  # the provider's stylesheet
    page.goto(api.url + path)
    expect(page.locator("#login")).to_be_visible()
    page.get_by_role("link", name="Log in via SSO").click()
    page.get_by_role("button", name=user).click()  # the provider's page: sign in as this user
    page.wait_for_selector("body[data-loaded=true]")


def test_a_team_a_user_signs_in_sees_and_syncs_only_team_a_and_is_refused_team_b(
    system: System, seed_repo: GitRepo, access_api: Callable[..., AccessApi], page: Any
) -> None:
    from playwright.sync_api import expect

    register_team_apps(system, seed_repo)
    api = access_api(POLICY)
    sso_sign_in(page, api, "alice")

    expect(page.locator("#role-badge")).to_have_text("signed in: alice@example.com")
    expect(page.locator("#apps tbody tr")).to_have_count(1)
    expect(page.locator("tr[data-app=shop-a]")).to_be_visible()

    page.locator("tr[data-app=shop-a] .app-link").click()
    page.wait_for_selector("body[data-loaded=true]")
    page.get_by_role("button", name="Sync", exact=True).click()
    expect(page.locator("#notice")).to_contain_text("Sync of shop-a queued: done (202)")
    system.wait_for(lambda: system.store.history("shop-a"), what="shop-a synced by alice")
    assert system.store.history("shop-b") == []

    page.goto(api.url + "/ui/apps/shop-b")
    expect(page.locator("#app-missing")).to_contain_text("permission denied: applications, get, team-b/shop-b")
    expect(page.locator("#app-missing")).to_contain_text(api.settings.rbac_file)
    refused = page.evaluate(
        """async () => {
            const answer = await fetch("/api/v1/applications/shop-b/sync", {method: "POST",
                headers: {"Content-Type": "application/json"}, body: "{}"});
            return {status: answer.status, body: await answer.json()};
        }"""
    )
    assert refused["status"] == 403
    assert refused["body"]["error"].startswith("permission denied: applications, sync, team-b/shop-b")
    assert f"the RBAC policy {api.settings.rbac_file}" in refused["body"]["error"]

    page.get_by_role("button", name="Sign out").click()  # ends the session on the server, not only in the tab
    expect(page.locator("#login-reason")).to_have_text("Signed out.")
    assert api.services.store.sessions() == {}


def test_an_expired_session_sends_the_dashboard_back_to_the_sign_in(
    system: System, seed_repo: GitRepo, access_api: Callable[..., AccessApi], page: Any
) -> None:
    from playwright.sync_api import expect

    register_team_apps(system, seed_repo)
    api = access_api(POLICY, session_duration=4.0)
    sso_sign_in(page, api, "bob")
    expect(page.locator("tr[data-app=shop-b]")).to_be_visible()
    expect(page.locator("#login")).to_be_visible(timeout=20_000)  # the event stream ends as the session expires
    expect(page.locator("#main")).to_be_hidden()
    expect(page.get_by_role("link", name="Log in via SSO")).to_be_visible()
