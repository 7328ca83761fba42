"""`reconciler login [SERVER] [--sso]` and `reconciler logout [SERVER]`.

`login --sso` signs in through the API's single sign-on with a loopback redirect (RFC 8252): it
listens on 127.0.0.1 (a free port, or --port), opens the browser at the API's /auth/login with a
PKCE challenge, and when the provider is done the browser comes back to that address with a
one-time code, which this command exchanges (with its PKCE verifier) for a session: an access
token renewed every hour with a refresh token, until the session ends. `login --sso --device`
(RFC 8628's device authorization grant) is for a machine without a browser (SSH, a container):
it prints a URL and a short code, the person opens the URL on any device, confirms the code and
signs in there, while this command polls the API for the session. `login` without --sso
keeps a static API token instead (read without echo, or from standard input). Either way the
result is written, 0600, to the sessions file (reconciler/cli/session_file.py), and `reconciler
app ...` with RECONCILER_SERVER set uses it.
"""

from __future__ import annotations

import argparse
import getpass
import http.server
import secrets
import sys
import threading
import time
import webbrowser
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from reconciler.cli import session_file
from reconciler.cli.credentials import entry_from_answer
from reconciler.cli.errors import CommandError
from reconciler.settings import Settings, SettingsError

DONE_PAGE = "<!doctype html><title>reconciler</title><p>{}</p><p>You can close this window.</p>"


def _server(args: argparse.Namespace) -> str:
    try:
        configured = Settings.from_env().server
    except SettingsError as exc:
        raise CommandError(str(exc)) from None
    server = (args.server or configured).rstrip("/")
    if not server:
        raise CommandError("name the API: `reconciler login https://gitops.example.com`, or set RECONCILER_SERVER")
    return server


class _Callback(http.server.BaseHTTPRequestHandler):
    """Answers the browser's return to the loopback address and hands the query to the waiting command."""

    result: dict[str, str]
    arrived: threading.Event

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != "/callback":
            self.send_error(404)
            return
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        type(self).result.update(query)
        text = "Signed in to reconciler." if "code" in query else f"Sign-in failed: {query.get('error', 'no code')}"
        body = DONE_PAGE.format(text.replace("<", "&lt;")).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        type(self).arrived.set()

    def log_message(self, format: str, *args: Any) -> None:
        return  # the browser's request is not the user's business


def _wait_for_browser(server: str, port: int, open_browser: bool, timeout: float) -> tuple[dict[str, str], str, str]:
    verifier, state = secrets.token_urlsafe(48), secrets.token_urlsafe(24)
    handler = type("Callback", (_Callback,), {"result": {}, "arrived": threading.Event()})
    try:
        listener = http.server.HTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        raise CommandError(f"cannot listen on 127.0.0.1:{port} for the sign-in's return: {exc.strerror}") from None
    redirect = f"http://127.0.0.1:{listener.server_address[1]}/callback"
    challenge = create_s256_code_challenge(verifier)
    query = urlencode({"cli_redirect": redirect, "cli_challenge": challenge, "cli_state": state})
    url = f"{server}/auth/login?{query}"
    print(f"Log in through your browser at:\n  {url}", flush=True)
    if open_browser:
        webbrowser.open(url)
    thread = threading.Thread(target=listener.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    try:
        if not handler.arrived.wait(timeout):
            raise CommandError(f"no sign-in came back within {timeout:.0f}s: run `reconciler login --sso` again")
    finally:
        listener.shutdown()
        listener.server_close()
    result = dict(handler.result)
    if result.get("state") != state:
        raise CommandError("the sign-in came back with another state (not the one this command started): try again")
    if "code" not in result:
        raise CommandError(f"the sign-in failed: {result.get('error', 'no code came back')}")
    return result, verifier, redirect


def sso_login(server: str, port: int = 0, open_browser: bool = True, timeout: float = 300.0) -> dict[str, Any]:
    result, verifier, _ = _wait_for_browser(server, port, open_browser, timeout)
    try:
        body = {"grant_type": "authorization_code", "code": result["code"], "code_verifier": verifier}
        answer = httpx.post(f"{server}/auth/token", json=body, timeout=30.0)
    except httpx.HTTPError as exc:
        raise CommandError(f"cannot reach {server}: {exc}") from None
    if answer.status_code != 200:
        raise CommandError(f"the API refused the sign-in: {answer.status_code}: {_error_of(answer)}")
    entry = entry_from_answer(answer.json())
    session_file.save(server, entry)
    return entry


DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def _post(url: str, body: dict[str, Any]) -> httpx.Response:
    try:
        return httpx.post(url, json=body, timeout=30.0)
    except httpx.HTTPError as exc:
        raise CommandError(f"cannot reach {url}: {exc}") from None


def device_login(server: str, timeout: float = 600.0) -> dict[str, Any]:
    """RFC 8628: ask for codes, show them, poll until the person has signed in elsewhere."""
    answer = _post(f"{server}/auth/device", {})
    if answer.status_code != 200:
        raise CommandError(f"the API cannot start a device sign-in: {answer.status_code}: {_error_of(answer)}")
    codes = answer.json()
    print(f"On any device, open:\n  {codes['verification_uri']}\nand enter the code {codes['user_code']}\n"
          f"(or open {codes['verification_uri_complete']})", flush=True)  # fmt: skip
    interval = float(codes.get("interval") or 5)
    deadline = time.monotonic() + min(timeout, float(codes.get("expires_in") or timeout))
    while time.monotonic() < deadline:
        time.sleep(interval)
        answer = _post(f"{server}/auth/token", {"grant_type": DEVICE_GRANT, "device_code": codes["device_code"]})
        if answer.status_code == 200:
            entry = entry_from_answer(answer.json())
            session_file.save(server, entry)
            return entry
        is_json = answer.headers.get("content-type", "").startswith("application/json")
        error = answer.json().get("error") if is_json else ""
        if error == "authorization_pending":
            continue
        if error == "slow_down":
            interval += 5
            continue
        raise CommandError(f"the sign-in failed: {_error_of(answer)}: run `reconciler login --sso --device` again")
    raise CommandError("the code expired before the sign-in was finished: run `reconciler login --sso --device` again")


def _error_of(answer: httpx.Response) -> str:
    try:
        body = answer.json()
        return str(body.get("error_description") or body.get("error") or answer.text)
    except ValueError:
        return answer.text


def token_login(server: str) -> dict[str, Any]:
    token = getpass.getpass("API token: ") if sys.stdin.isatty() else sys.stdin.readline().strip()
    if not token:
        raise CommandError("no token given")
    try:
        answer = httpx.get(f"{server}/api/v1/session/userinfo", headers={"Authorization": f"Bearer {token}"},
                           timeout=30.0)  # fmt: skip
    except httpx.HTTPError as exc:
        raise CommandError(f"cannot reach {server}: {exc}") from None
    if answer.status_code != 200:
        raise CommandError(f"the API refused the token: {answer.status_code}: {_error_of(answer)}")
    who = answer.json()
    entry = {"kind": "token", "access_token": token, "name": who.get("name", ""), "subject": who.get("subject", "")}
    session_file.save(server, entry)
    return entry


def login(args: argparse.Namespace) -> int:
    server = _server(args)
    if args.device and not args.sso:
        raise CommandError("--device is a way of single sign-on: use `reconciler login --sso --device`", exit_code=2)
    if args.device:
        entry = device_login(server, args.timeout)
    elif args.sso:
        entry = sso_login(server, args.port, not args.no_browser, args.timeout)
    else:
        entry = token_login(server)
    groups = f" (groups: {', '.join(entry.get('groups') or [])})" if entry.get("groups") else ""
    print(f"logged in to {server} as {entry.get('name') or entry.get('subject')}{groups}; "
          f"saved in {session_file.sessions_path()}")  # fmt: skip
    if not Settings.from_env().server:
        print(f"use it with: export RECONCILER_SERVER={server}")
    return 0


def logout(args: argparse.Namespace) -> int:
    server = _server(args)
    entry = session_file.load(server)
    if entry is None:
        print(f"not logged in to {server}")
        return 0
    if entry.get("kind") == "sso":
        try:  # end the session on the server too, so the tokens are worthless wherever they are
            httpx.post(f"{server}/auth/logout", headers={"Authorization": f"Bearer {entry['access_token']}"},
                       json={}, timeout=30.0)  # fmt: skip
        except httpx.HTTPError as exc:
            print(f"warning: could not end the session at {server} ({exc}); it ends by itself", file=sys.stderr)
    session_file.forget(server)
    print(f"logged out of {server}")
    return 0


def add_login_parsers(sub: Any) -> None:
    p = sub.add_parser("login", help="log in to an API (single sign-on with --sso, else a token) for `app` commands")
    p.add_argument("server", nargs="?", default="", help="the API's URL (default: RECONCILER_SERVER)")
    p.add_argument("--sso", action="store_true", help="log in through the API's single sign-on in a browser")
    p.add_argument("--port", type=int, default=0, help="loopback port for the browser's return (default: any free)")
    p.add_argument("--no-browser", action="store_true", help="print the sign-in URL instead of opening a browser")
    p.add_argument("--device", action="store_true",
                   help="with --sso, on a machine without a browser: print a URL and a code to enter on any "
                        "device (device authorization grant, RFC 8628)")  # fmt: skip
    p.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the browser (default 300)")
    p.set_defaults(handler=login)

    p = sub.add_parser("logout", help="end the login session and forget it")
    p.add_argument("server", nargs="?", default="", help="the API's URL (default: RECONCILER_SERVER)")
    p.set_defaults(handler=logout)
