"""Single sign-on with an OpenID Connect provider: the authorization code flow with PKCE (RFC 7636).

    OidcClient(settings, redirect_uri).authorization_url(state, nonce, code_verifier) -> str
    OidcClient(...).identity(code, code_verifier, nonce) -> SsoIdentity

Authlib does the protocol: the authorization URL with the S256 code challenge, the token request
with the code verifier and the client's credentials, and the ID token's claims (issuer, audience,
expiry, nonce, `at_hash`); joserfc checks its signature against the provider's published keys
(refetched once when the token names a key not seen yet). The provider is found by discovery
(`<issuer>/.well-known/openid-configuration`), whose `issuer` must equal the configured one.

Groups come from the ID token's claims named by the RBAC `scopes` (default: the groups claim,
RECONCILER_OIDC_GROUPS_CLAIM); when the ID token lacks them and the provider has a userinfo
endpoint, from userinfo (some providers only put groups there). A claim may be a string or a
list of strings; a dotted name (`realm_access.roles`) reaches into nested claims.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from reconciler.settings.access import OidcSettings

METADATA_TTL_SECONDS = 3600.0
HTTP_TIMEOUT_SECONDS = 10.0
ID_TOKEN_LEEWAY_SECONDS = 60
# Subjects and groups that would pose as a static token or a project role (policy subjects
# `token:<name>` and `proj:<project>:<role>`) are never taken from a provider.
RESERVED_PREFIXES = ("token:", "proj:")


class SsoError(Exception):
    """The sign-on failed; the message says where (provider, token, claims) without secrets."""


@dataclass(frozen=True)
class SsoIdentity:
    subject: str  # the `sub` claim: the RBAC subject
    name: str  # email, preferred_username or sub: what the audit log and the dashboard show
    groups: tuple[str, ...]


def claim_values(claims: dict[str, Any], name: str) -> list[str]:
    """The values of claim `name` (a string or a list of strings), reaching into nested claims by dots."""
    value: Any = claims.get(name)
    if value is None and "." in name:
        value = claims
        for part in name.split("."):
            value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


class OidcClient:
    def __init__(self, settings: OidcSettings, redirect_uri: str) -> None:
        self.settings = settings
        self.redirect_uri = redirect_uri
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._fetched_at = 0.0
        self._jwks: dict[str, Any] | None = None

    def _get(self, url: str) -> dict[str, Any]:
        try:
            response = requests.get(url, timeout=HTTP_TIMEOUT_SECONDS)
            response.raise_for_status()
            body = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise SsoError(f"the OpenID Connect provider did not answer {url}: {type(exc).__name__}") from None
        if not isinstance(body, dict):
            raise SsoError(f"the OpenID Connect provider's {url} is not a JSON object")
        return body

    def metadata(self) -> dict[str, Any]:
        with self._lock:
            if self._metadata is not None and time.monotonic() - self._fetched_at < METADATA_TTL_SECONDS:
                return self._metadata
        url = self.settings.issuer + "/.well-known/openid-configuration"
        metadata = self._get(url)
        if str(metadata.get("issuer", "")).rstrip("/") != self.settings.issuer:
            raise SsoError(
                f"{url} names the issuer {metadata.get('issuer')!r}, not RECONCILER_OIDC_ISSUER "
                f"{self.settings.issuer!r}: set the variable to the provider's issuer exactly"
            )
        for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not metadata.get(key):
                raise SsoError(f"{url} has no {key}")
        with self._lock:
            self._metadata, self._fetched_at, self._jwks = metadata, time.monotonic(), None
        return metadata

    def _session(self) -> OAuth2Session:
        metadata = self.metadata()
        methods = metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        if not self.settings.client_secret:
            method = "none"
        else:
            method = "client_secret_basic" if "client_secret_basic" in methods else "client_secret_post"
        return OAuth2Session(
            client_id=self.settings.client_id,
            client_secret=self.settings.client_secret or None,
            scope=" ".join(self.settings.scopes),
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method=method,
        )

    def authorization_url(self, state: str, nonce: str, code_verifier: str) -> str:
        with self._session() as session:
            url, _ = session.create_authorization_url(
                self.metadata()["authorization_endpoint"], state=state, code_verifier=code_verifier, nonce=nonce
            )
        return str(url)

    def _key_set(self, force: bool = False) -> KeySet:
        with self._lock:
            jwks = None if force else self._jwks
        if jwks is None:
            jwks = self._get(self.metadata()["jwks_uri"])
            with self._lock:
                self._jwks = jwks
        return KeySet.import_key_set(jwks)

    def _id_token_claims(self, token: dict[str, Any], nonce: str) -> dict[str, Any]:
        raw = token.get("id_token")
        if not raw:
            raise SsoError("the provider's token answer holds no id_token: ask for the openid scope")
        metadata = self.metadata()
        registry = JWSRegistry(algorithms=metadata.get("id_token_signing_alg_values_supported") or ["RS256"])
        try:
            try:
                decoded = jwt.decode(raw, self._key_set(), registry=registry)
            except InvalidKeyIdError:  # the provider rotated its keys since they were fetched
                decoded = jwt.decode(raw, self._key_set(force=True), registry=registry)
            claims = CodeIDToken(
                decoded.claims,
                decoded.header,
                {"iss": {"values": [metadata["issuer"]]}},
                {"nonce": nonce, "client_id": self.settings.client_id, "access_token": token.get("access_token")},
            )
            claims.validate(leeway=ID_TOKEN_LEEWAY_SECONDS)
        except JoseError as exc:
            raise SsoError(f"the provider's ID token was refused: {exc.description or exc.error}") from None
        return dict(claims)

    def _userinfo(self, access_token: str) -> dict[str, Any]:
        endpoint = self.metadata().get("userinfo_endpoint")
        if not endpoint or not access_token:
            return {}
        try:
            response = requests.get(
                endpoint, headers={"Authorization": f"Bearer {access_token}"}, timeout=HTTP_TIMEOUT_SECONDS
            )
            response.raise_for_status()
            body = response.json()
        except (requests.RequestException, ValueError):
            return {}  # groups from userinfo are a fallback: the ID token was already verified
        return body if isinstance(body, dict) else {}

    def identity(self, code: str, code_verifier: str, nonce: str, scopes: tuple[str, ...]) -> SsoIdentity:
        """Exchange the authorization code and read who signed in; `scopes` name the group claims."""
        try:
            with self._session() as session:
                token = session.fetch_token(
                    self.metadata()["token_endpoint"], grant_type="authorization_code", code=code,
                    code_verifier=code_verifier, redirect_uri=self.redirect_uri, timeout=HTTP_TIMEOUT_SECONDS,
                )  # fmt: skip
        except SsoError:
            raise
        except Exception as exc:  # authlib raises OAuthError, requests its own: say which, not the body
            raise SsoError(f"the provider refused the authorization code: {exc}") from None
        claims = self._id_token_claims(dict(token), nonce)
        if not any(claim_values(claims, scope) for scope in scopes):
            info = self._userinfo(str(token.get("access_token") or ""))
            if info.get("sub") == claims.get("sub"):
                claims = {**info, **claims, **{s: info[s] for s in scopes if s in info and s not in claims}}
        subject = str(claims.get("sub") or "")
        if not subject or subject.startswith(RESERVED_PREFIXES):
            raise SsoError(f"the ID token's subject {subject!r} cannot be used (empty, or reserved: token:, proj:)")
        groups = []
        for scope in scopes:
            values = claim_values(claims, scope)
            groups += [g for g in values if g not in groups and not g.startswith(RESERVED_PREFIXES)]
        name = str(claims.get("email") or claims.get("preferred_username") or subject)
        return SsoIdentity(subject=subject, name=name, groups=tuple(groups))
