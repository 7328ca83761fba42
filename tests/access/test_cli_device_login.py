"""`reconciler login --sso --device`: the device authorization grant (RFC 8628) for a CLI without a
browser, through the real OpenID Connect provider on loopback. The person's steps (open the page,
confirm the code, sign in at the provider) are done over HTTP by a client that is not the CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.access.conftest import AccessApi, provider_login
from tests.access.test_cli_login import cli_env, run, stored
from tests.access.test_rbac_rest import POLICY, setup_teams

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def confirm_on_page(browser: httpx.Client, page_url: str) -> httpx.Response:
    """Open the verification page with the code filled in and press its button."""
    page = browser.get(page_url)
    assert page.status_code == 200, page.text
    code = re.search(r'name="device_user_code" value="([^"]*)"', page.text)
    nonce = re.search(r'name="device_confirm" value="([^"]*)"', page.text)
    assert code and nonce, page.text
    return browser.get("/auth/login", params={"device_user_code": code.group(1), "device_confirm": nonce.group(1)})


def start_cli(env: dict[str, str]) -> tuple[subprocess.Popen[str], str, str]:
    proc = subprocess.Popen([sys.executable, "-m", "reconciler.cli", "login", "--sso", "--device"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("On any device, open:")
    page = proc.stdout.readline().strip()
    code = proc.stdout.readline().strip().removeprefix("and enter the code ")
    complete = proc.stdout.readline().strip().removeprefix("(or open ").removesuffix(")")
    assert page.endswith("/auth/device") and complete == f"{page}?user_code={code}"
    return proc, code, complete


def test_a_headless_cli_signs_in_through_a_code_confirmed_in_another_browser(
    access_api: Callable[..., AccessApi], tmp_path: Path
) -> None:
    api = access_api(POLICY)
    setup_teams(api)
    config = tmp_path / "config"
    env = cli_env(api, config)
    proc, code, complete = start_cli(env)
    assert re.fullmatch(r"[B-Z]{4}-[B-Z]{4}", code)
    with httpx.Client(base_url=api.url, trust_env=False, timeout=30.0) as browser:
        start = confirm_on_page(browser, complete)
        assert start.status_code == 302, start.text
        done = browser.get(provider_login(start.headers["location"], "alice"))
    assert done.status_code == 200 and "You are signed in" in done.text
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert f"logged in to {api.url} as alice@example.com (groups: team-a)" in out
    assert stored(config, api)["access_token"].startswith("rcs.")
    listed = run(env, "app", "list", "-o", "json")
    assert [a["name"] for a in json.loads(listed.stdout)] == ["a-web", "a-web-prod"], listed.stderr
    assert [e["outcome"] for e in api.audit() if e["action"] == "login"] == ["succeeded", "succeeded"]


def test_a_link_to_the_login_with_the_code_but_without_the_pages_confirmation_is_refused(
    access_api: Callable[..., AccessApi],
) -> None:
    api = access_api(POLICY)
    with httpx.Client(base_url=api.url, trust_env=False) as cli:
        codes = cli.post("/auth/device", json={}).json()
    with httpx.Client(base_url=api.url, trust_env=False) as victim:
        phished = victim.get("/auth/login", params={"device_user_code": codes["user_code"], "device_confirm": "x"})
        # The code was not spent by the refused link: the person who started it can still use it.
        start = confirm_on_page(victim, codes["verification_uri_complete"])
        again = confirm_on_page(victim, codes["verification_uri_complete"])
    assert phished.status_code == 400 and "confirm the code on the sign-in page" in phished.json()["error"]
    assert start.status_code == 302
    assert again.status_code == 400 and "already used" in again.json()["error"]


def test_the_cli_polls_as_rfc_8628_says_pending_slow_down_and_an_unknown_code(
    access_api: Callable[..., AccessApi],
) -> None:
    api = access_api(POLICY)
    with httpx.Client(base_url=api.url, trust_env=False) as cli:
        codes = cli.post("/auth/device", json={}).json()
        poll = {"grant_type": DEVICE_GRANT, "device_code": codes["device_code"]}
        pending = cli.post("/auth/token", json=poll)
        hurried = cli.post("/auth/token", json=poll)
        unknown = cli.post("/auth/token", json={**poll, "device_code": "made-up"})
    assert codes["interval"] == 5 and codes["expires_in"] == 600
    assert pending.status_code == 400 and pending.json()["error"] == "authorization_pending"
    assert hurried.status_code == 400 and hurried.json()["error"] == "slow_down"
    assert unknown.status_code == 400 and unknown.json()["error"] == "expired_token"


def test_a_sign_in_the_provider_refuses_ends_the_cli_with_the_reason(
    access_api: Callable[..., AccessApi], tmp_path: Path
) -> None:
    api = access_api(POLICY)
    env = cli_env(api, tmp_path / "config")
    proc, _, complete = start_cli(env)
    with httpx.Client(base_url=api.url, trust_env=False, timeout=30.0) as browser:
        start = confirm_on_page(browser, complete)
        denied = httpx.post(start.headers["location"], data={"action": "deny"}, trust_env=False)
        back = browser.get(denied.headers["location"])
    assert back.status_code == 403 and "Sign-in refused" in back.text
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "the sign-in failed: the provider refused the sign-in: access_denied" in err


def test_a_client_asking_for_codes_again_and_again_is_held_back(access_api: Callable[..., AccessApi]) -> None:
    from reconciler.api.access.device import DEVICE_REQUESTS_PER_MINUTE

    api = access_api(POLICY)
    with httpx.Client(base_url=api.url, trust_env=False) as cli:
        answers = [cli.post("/auth/device", json={}) for _ in range(DEVICE_REQUESTS_PER_MINUTE + 1)]
    assert [a.status_code for a in answers[:-1]] == [200] * DEVICE_REQUESTS_PER_MINUTE
    assert answers[-1].status_code == 429
    assert "device sign-ins from 127.0.0.1 this minute" in answers[-1].json()["error"]
    assert int(answers[-1].headers["Retry-After"]) >= 1


def test_device_without_sso_is_a_usage_error(access_api: Callable[..., AccessApi], tmp_path: Path) -> None:
    api = access_api(POLICY)
    refused = run(cli_env(api, tmp_path / "config"), "login", "--device")
    assert refused.returncode == 2 and "reconciler login --sso --device" in refused.stderr
