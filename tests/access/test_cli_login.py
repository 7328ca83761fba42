"""`reconciler login --sso` through a real OpenID Connect provider: the loopback redirect, the token
file (0600), the remote CLI using and renewing it, and `reconciler logout` ending the session."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.access.conftest import AccessApi, provider_login
from tests.access.test_rbac_rest import POLICY, setup_teams

pytestmark = pytest.mark.timeout(180)


def cli_env(api: AccessApi, config: Path) -> dict[str, str]:
    env = {**os.environ, "XDG_CONFIG_HOME": str(config), "RECONCILER_SERVER": api.url}
    for name in ("REDIS_URL", "RECONCILER_API_TOKEN"):
        env.pop(name, None)  # everything goes through the API, as the login's user
    return env


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reconciler.cli", *args], env=env, capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip


def login_through_browser(env: dict[str, str], user: str) -> subprocess.CompletedProcess[str]:
    """`reconciler login --sso --no-browser`, with a person's steps in a browser done over HTTP."""
    proc = subprocess.Popen([sys.executable, "-m", "reconciler.cli", "login", "--sso", "--no-browser"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("Log in through your browser at:")
    url = proc.stdout.readline().strip()
    with httpx.Client(trust_env=False, timeout=30.0) as browser:
        start = browser.get(url)
        assert start.status_code == 302, start.text
        back = browser.get(provider_login(start.headers["location"], user))
        assert back.status_code == 302 and back.headers["location"].startswith("http://127.0.0.1:"), back.text
        done = browser.get(back.headers["location"])
    assert "Signed in to reconciler." in done.text
    out, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def stored(config: Path, api: AccessApi) -> dict[str, Any]:
    return json.loads((config / "reconciler" / "sessions.json").read_text())["servers"][api.url]


def test_cli_signs_in_uses_renews_and_ends_its_session(access_api: Callable[..., AccessApi], tmp_path: Path) -> None:
    api = access_api(POLICY)
    setup_teams(api)
    config = tmp_path / "config"
    env = cli_env(api, config)
    logged_in = login_through_browser(env, "alice")
    assert logged_in.returncode == 0, logged_in.stderr
    assert f"logged in to {api.url} as alice@example.com (groups: team-a)" in logged_in.stdout
    sessions_file = config / "reconciler" / "sessions.json"
    assert sessions_file.stat().st_mode & 0o777 == 0o600 and sessions_file.parent.stat().st_mode & 0o777 == 0o700
    first = stored(config, api)
    assert first["access_token"].startswith("rcs.") and first["refresh_token"].startswith("rcr.")
    assert api.provider.pkce.verified >= 1  # the provider redeemed the code only with the PKCE verifier

    listed = run(env, "app", "list", "-o", "json")
    assert [a["name"] for a in json.loads(listed.stdout)] == ["a-web", "a-web-prod"], listed.stderr
    refused = run(env, "app", "sync", "b-web")
    assert refused.returncode == 1 and "403" in refused.stderr and "team-b/b-web" in refused.stderr

    # The access token is renewed with the refresh token once it is (about to be) over.
    sessions_file.write_text(json.dumps({"servers": {api.url: {**first, "expires_at": 0}}}))
    assert run(env, "app", "get", "a-web").returncode == 0
    renewed = stored(config, api)
    assert renewed["access_token"] != first["access_token"] and renewed["refresh_token"] != first["refresh_token"]
    with api.client(first["access_token"]) as old:
        assert old.get("/api/v1/applications").status_code == 401

    logged_out = run(env, "logout")
    assert logged_out.returncode == 0 and f"logged out of {api.url}" in logged_out.stdout
    assert api.url not in json.loads(sessions_file.read_text())["servers"]
    with api.client(renewed["access_token"]) as ended:
        assert ended.get("/api/v1/applications").status_code == 401
    after = run(env, "app", "list")
    assert after.returncode == 1 and "401" in after.stderr


def test_a_sign_in_finished_in_another_browser_or_replayed_is_refused(access_api: Callable[..., AccessApi]) -> None:
    api = access_api(POLICY)
    mine, other = (httpx.Client(base_url=api.url, trust_env=False) for _ in range(2))
    with mine, other:
        start = mine.get("/auth/login")
        callback = provider_login(start.headers["location"], "alice")
        stolen = other.get(callback)  # the callback's link replayed in a browser that did not start the sign-in
        assert stolen.status_code == 400 and "started in another browser" in stolen.json()["error"]
        replay = mine.get(callback)  # the state was spent by the first attempt
    assert replay.status_code == 400 and "expired or was already used" in replay.json()["error"]


def test_a_cli_code_is_useless_without_its_verifier(access_api: Callable[..., AccessApi]) -> None:
    api = access_api(POLICY)
    params = {"cli_redirect": "http://127.0.0.1:9/callback", "cli_challenge": "x" * 43, "cli_state": "s"}
    with httpx.Client(base_url=api.url, trust_env=False) as browser:
        start = browser.get("/auth/login", params=params)
        back = browser.get(provider_login(start.headers["location"], "alice"))
        code = httpx.URL(back.headers["location"]).params["code"]
        refused = browser.post("/auth/token", json={"grant_type": "authorization_code", "code": code,
                                                     "code_verifier": "not-the-verifier"})  # fmt: skip
        again = browser.post("/auth/token", json={"grant_type": "authorization_code", "code": code,
                                                   "code_verifier": "x"})  # fmt: skip
        elsewhere = browser.get("/auth/login", params={**params, "cli_redirect": "http://attacker.example.com/cb"})
    assert refused.status_code == 401 and "does not match" in refused.json()["error"]
    assert again.status_code == 401 and "unknown, expired or used" in again.json()["error"]
    assert elsewhere.status_code == 400 and "loopback" in elsewhere.json()["error"]


def test_a_sign_in_the_provider_refuses_returns_to_the_sign_in_form_with_the_reason(
    access_api: Callable[..., AccessApi],
) -> None:
    api = access_api(POLICY)
    with httpx.Client(base_url=api.url, trust_env=False) as browser:
        start = browser.get("/auth/login")
        denied = httpx.post(start.headers["location"], data={"action": "deny"}, trust_env=False)  # "Deny" pressed
        back = browser.get(denied.headers["location"])
        assert back.status_code == 302
        assert httpx.URL(back.headers["location"]).params["sso_error"].startswith(
            "the provider refused the sign-in: access_denied"
        )
        assert browser.get("/api/v1/applications").status_code == 401  # no session came of it
    [event] = [e for e in api.audit() if e["action"] == "login"]
    assert event["outcome"] == "denied" and "access_denied" in event["reason"]
