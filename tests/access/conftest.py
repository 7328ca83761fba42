"""Fixtures for access control: a real OpenID Connect provider on loopback, and the API with a policy.

The provider is `oidc-provider-mock` (Authlib's authorization server in Flask), run in-process
on a free port, with clients registered as a real provider requires (redirect URIs checked,
client secrets, nonces required). It does not check PKCE itself, so `PkceCheck` wraps it and
does what a provider requiring PKCE does: an authorization request without an S256 challenge
is refused, and the code is redeemed only with the verifier that hashes to that challenge.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import io
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import yaml

from tests.conftest import serve_app
from tests.dashboard.conftest import browser, page  # noqa: F401 (fixtures used here)
from tests.integration.conftest import celery_app, system  # noqa: F401 (fixtures used here)

ADMIN_TOKEN = "access-tests-admin-token-0123456789"
USERS = {
    "alice": {"email": "alice@example.com", "groups": ["team-a"]},
    "bob": {"email": "bob@example.com", "groups": ["team-b"]},
    "erin": {"email": "erin@example.com", "groups": ["contractors"]},
    # Groups that would pose as a static token or a project role: never taken from a provider.
    "mallory": {"email": "mallory@example.com", "groups": ["team-a", "token:setup", "proj:team-b:ci"]},
    "proj:team-b:ci": {"email": "ci@example.com", "groups": []},
}


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class PkceCheck:
    """WSGI middleware: PKCE enforced in front of the provider (see the module docstring)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.challenges: dict[str, str] = {}  # authorization code -> its S256 challenge
        self.verified = 0
        self.refused = 0
        self._lock = threading.Lock()

    def _refuse(self, start_response: Any, error: str) -> list[bytes]:
        self.refused += 1
        start_response("400 Bad Request", [("Content-Type", "application/json")])
        return [f'{{"error": "{error}"}}'.encode()]

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == "/oauth2/authorize":
            query = parse_qs(environ.get("QUERY_STRING", ""))
            if query.get("code_challenge_method") != ["S256"] or not query.get("code_challenge"):
                return self._refuse(start_response, "invalid_request: PKCE (S256) is required")
            challenge = query["code_challenge"][0]

            def remember_code(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
                for name, value in headers:
                    code = parse_qs(urlsplit(value).query).get("code") if name.lower() == "location" else None
                    if code:
                        with self._lock:
                            self.challenges[code[0]] = challenge
                return start_response(status, headers, *rest)

            return self.app(environ, remember_code)
        if path == "/oauth2/token" and environ.get("REQUEST_METHOD") == "POST":
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            form = parse_qs(body.decode())
            if form.get("grant_type") == ["authorization_code"]:
                with self._lock:
                    challenge = self.challenges.pop(form.get("code", [""])[0], None)
                if challenge is None or s256(form.get("code_verifier", [""])[0]) != challenge:
                    return self._refuse(start_response, "invalid_grant: code_verifier does not match")
                self.verified += 1
        return self.app(environ, start_response)


@dataclasses.dataclass
class Provider:
    url: str
    pkce: PkceCheck

    def register(self, redirect_uri: str) -> tuple[str, str]:
        answer = httpx.post(f"{self.url}/oauth2/clients", json={"redirect_uris": [redirect_uri]}, trust_env=False)
        answer.raise_for_status()
        return answer.json()["client_id"], answer.json()["client_secret"]


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[Provider]:
    import werkzeug.serving
    from oidc_provider_mock import User, app

    users = [User(sub=sub, claims=claims) for sub, claims in USERS.items()]
    wrapped = PkceCheck(app(require_client_registration=True, require_nonce=True, user_claims=users))
    server = werkzeug.serving.make_server("127.0.0.1", 0, wrapped, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield Provider(f"http://localhost:{server.server_port}", wrapped)
    server.shutdown()
    thread.join(timeout=5)


def provider_login(authorize_url: str, user: str) -> str:
    """What a person does on the provider's page: pick the user and authorize. Returns where the
    provider sends the browser next (the API's callback)."""
    form = httpx.get(authorize_url, trust_env=False)
    assert form.status_code == 200, form.text
    answer = httpx.post(authorize_url, data={"sub": user}, trust_env=False)
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


@dataclasses.dataclass
class AccessApi:
    url: str
    settings: Any
    services: Any
    provider: Provider
    audit_path: Path

    def admin(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                            timeout=30.0, trust_env=False)  # fmt: skip

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30.0, trust_env=False)

    def browser_login(self, user: str, return_to: str = "/") -> httpx.Client:
        """The dashboard's single sign-on, step by step over HTTP; the client holds the session cookie."""
        http = self.client()
        start = http.get("/auth/login", params={"return_to": return_to})
        assert start.status_code == 302, start.text
        back = http.get(provider_login(start.headers["location"], user))
        assert back.status_code == 302 and back.headers["location"] == return_to, back.text
        session = httpx.Client(base_url=self.url, cookies=http.cookies, timeout=30.0, trust_env=False)
        http.close()
        return session

    def audit(self) -> list[dict[str, Any]]:
        import json

        if not self.audit_path.exists():
            return []
        return [json.loads(line) for line in self.audit_path.read_text().splitlines() if line.strip()]


def rbac_configmap(policy: str, default: str = "", scopes: str = "") -> str:
    data = {"policy.csv": policy, "policy.default": default}
    if scopes:
        data["scopes"] = scopes
    return yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": "argocd-rbac-cm", "namespace": "argocd"}, "data": data})  # fmt: skip


@pytest.fixture
def access_api(
    celery_app: Any, redis_url: str, redis_client: Any, oidc_provider: Provider, tmp_path: Path  # noqa: F811
) -> Iterator[Callable[..., AccessApi]]:
    """Start the API with single sign-on at the provider and `policy` as argocd-rbac-cm; an admin
    token `setup` registers what the test needs."""
    from reconciler.api.server import create_app
    from reconciler.services import Services
    from reconciler.settings.access import OidcSettings
    from reconciler.state.redis_server import free_port

    with contextlib.ExitStack() as stack:

        def start(policy: str, default: str = "", scopes: str = "", **overrides: Any) -> AccessApi:
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            client_id, secret = oidc_provider.register(f"{url}/auth/callback")
            rbac_file = tmp_path / f"argocd-rbac-cm-{port}.yaml"
            rbac_file.write_text(rbac_configmap(policy, default, scopes))
            audit_path = tmp_path / f"audit-{port}.log"
            settings = dataclasses.replace(
                celery_app.conf.reconciler_settings,
                api_tokens=(("admin", ADMIN_TOKEN),),
                api_token_names=("setup",),
                rbac_file=str(rbac_file),
                external_url=url,
                oidc=OidcSettings(issuer=oidc_provider.url, client_id=client_id, client_secret=secret),
                audit_log=str(audit_path),
                **overrides,
            )
            services = Services.create(settings, redis_url)
            stack.callback(services.close)
            stack.enter_context(serve_app(create_app(settings, services), port=port))
            return AccessApi(url, settings, services, oidc_provider, audit_path)

        yield start
