"""The access-control part of the configuration (Settings.from_env calls `access_from_env`).

| variable | meaning |
| --- | --- |
| `RECONCILER_RBAC_FILE` | an `argocd-rbac-cm` ConfigMap, its `data:` map, or a mounted dir (read by the API) |
| `RECONCILER_URL` | the external URL of the API and dashboard; SSO redirects to `<url>/auth/callback` |
| `RECONCILER_OIDC_ISSUER` | the OpenID Connect provider (discovery at `<issuer>/.well-known/openid-configuration`) |
| `RECONCILER_OIDC_CLIENT_ID`, `RECONCILER_OIDC_CLIENT_SECRET` | the client registered at the provider |
| `RECONCILER_OIDC_GROUPS_CLAIM` | the ID token claim holding the user's groups (default `groups`) |
| `RECONCILER_OIDC_SCOPES` | scopes asked for (default `openid profile email groups`, Argo CD's) |
| `RECONCILER_SESSION_DURATION` | how long a login lasts (default 24h, Argo CD's `users.session.duration`) |
| `RECONCILER_TOKEN_SIGNING_KEY` | signs project role tokens; unset: `<data dir>/token-signing.key` |
| `RECONCILER_AUDIT_LOG` | a file the audit log's JSON lines are appended to; unset: standard error |
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from reconciler.core.durations import DURATION_HINT, parse_duration
from reconciler.settings import DEFAULT_SESSION_SECONDS, SettingsError

DEFAULT_OIDC_SCOPES = ("openid", "profile", "email", "groups")
MIN_SIGNING_KEY_CHARS = 32


@dataclass(frozen=True)
class OidcSettings:
    issuer: str
    client_id: str
    client_secret: str = field(default="", repr=False)
    groups_claim: str = "groups"
    scopes: tuple[str, ...] = DEFAULT_OIDC_SCOPES


@dataclass(frozen=True)
class AccessSettings:
    rbac_file: str = ""
    external_url: str = ""
    oidc: OidcSettings | None = None
    token_signing_key: str = field(default="", repr=False)
    session_duration: float = DEFAULT_SESSION_SECONDS
    audit_log: str = ""


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url(env: Mapping[str, str], name: str, example: str) -> str:
    raw = env.get(name, "").strip().rstrip("/")
    if not raw:
        return ""
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise SettingsError(f"{name}={raw!r} must be an http(s) URL without query, like {example}")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise SettingsError(
            f"{name}={raw!r} uses plain http to a host other than this machine: logins and tokens would cross the "
            "network in clear; use https"
        )
    return raw


def _oidc(env: Mapping[str, str], external_url: str) -> OidcSettings | None:
    issuer = _url(env, "RECONCILER_OIDC_ISSUER", "https://login.example.com/realms/main")
    client_id = env.get("RECONCILER_OIDC_CLIENT_ID", "").strip()
    if not issuer:
        if client_id or env.get("RECONCILER_OIDC_CLIENT_SECRET", "").strip():
            raise SettingsError("RECONCILER_OIDC_CLIENT_ID/_SECRET are set but RECONCILER_OIDC_ISSUER is not: set it")
        return None
    if not client_id:
        raise SettingsError("RECONCILER_OIDC_ISSUER is set: set RECONCILER_OIDC_CLIENT_ID, the client registered there")
    if not external_url:
        raise SettingsError(
            "single sign-on needs RECONCILER_URL, the address users reach the dashboard at: the provider sends them "
            "back to <RECONCILER_URL>/auth/callback"
        )
    scopes = tuple(env.get("RECONCILER_OIDC_SCOPES", "").replace(",", " ").split()) or DEFAULT_OIDC_SCOPES
    if "openid" not in scopes:
        raise SettingsError(f"RECONCILER_OIDC_SCOPES={' '.join(scopes)!r} must include openid")
    return OidcSettings(
        issuer=issuer,
        client_id=client_id,
        client_secret=env.get("RECONCILER_OIDC_CLIENT_SECRET", "").strip(),
        groups_claim=env.get("RECONCILER_OIDC_GROUPS_CLAIM", "").strip() or "groups",
        scopes=scopes,
    )


def _session_duration(env: Mapping[str, str]) -> float:
    raw = env.get("RECONCILER_SESSION_DURATION", "").strip()
    if not raw:
        return DEFAULT_SESSION_SECONDS
    try:
        seconds = parse_duration(raw)
    except ValueError:
        raise SettingsError(f"RECONCILER_SESSION_DURATION={raw!r} {DURATION_HINT}") from None
    if seconds <= 0:
        raise SettingsError(f"RECONCILER_SESSION_DURATION={raw!r} must be longer than 0")
    return seconds


def _signing_key(env: Mapping[str, str]) -> str:
    key = env.get("RECONCILER_TOKEN_SIGNING_KEY", "").strip()
    if key and len(key) < MIN_SIGNING_KEY_CHARS:
        # Never echo the value: it is a secret.
        raise SettingsError(
            f"RECONCILER_TOKEN_SIGNING_KEY has {len(key)} characters; use at least {MIN_SIGNING_KEY_CHARS} random ones "
            "(e.g. `openssl rand -base64 48`)"
        )
    return key


def access_from_env(env: Mapping[str, str]) -> AccessSettings:
    external_url = _url(env, "RECONCILER_URL", "https://gitops.example.com")
    return AccessSettings(
        rbac_file=env.get("RECONCILER_RBAC_FILE", "").strip(),
        external_url=external_url,
        oidc=_oidc(env, external_url),
        token_signing_key=_signing_key(env),
        session_duration=_session_duration(env),
        audit_log=env.get("RECONCILER_AUDIT_LOG", "").strip(),
    )
