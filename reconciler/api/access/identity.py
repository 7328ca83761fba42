"""Who calls: a static token, a login session (SSO), a project role token, or nobody (auth off).

    authenticate(settings, store, token) -> Caller      raises ApiError 401 naming what to do

A token arrives as `Authorization: Bearer <token>` or, from the dashboard after a single
sign-on, as the `reconciler_session` cookie. Its form says what it is: `rcs.<id>.<secret>` a
session (reconciler/api/access/sessions.py), a JWT a project role token
(reconciler/control/access/project_tokens.py), anything else a static token of
RECONCILER_API_TOKENS, compared as SHA-256 digests with hmac.compare_digest against every
configured token, so neither a token's length nor how much of it matched shows in the timing.

In RBAC terms (reconciler/control/access/enforcer.py) a static token is the subject
`token:<name>` holding the role of its entry (`role:admin`, `role:readonly`); an SSO user is
the ID token's `sub` with the groups of the RBAC `scopes`; a project token is
`proj:<project>:<role>`. With authentication off (RECONCILER_API_AUTH=none) the caller is
anonymous: an administrator when no RBAC policy is configured (today's single-machine mode),
else only what `policy.default` grants, as Argo CD's anonymous access.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from reconciler.api.access import sessions
from reconciler.api.errors import ApiError
from reconciler.control.access.builtin import ADMIN
from reconciler.control.access.enforcer import Asker
from reconciler.control.access.project_tokens import TokenRefused, looks_like_jwt, signing_secret, verify_token
from reconciler.settings import Settings
from reconciler.state import Store

SESSION_COOKIE = "reconciler_session"
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="reconciler"'}


@dataclass(frozen=True)
class Caller:
    role: str  # "admin" | "readonly" (static tokens), "user" (SSO), "project" (role token), "anonymous"
    subject: str = ""  # the RBAC subject
    name: str = ""  # what the audit log and the dashboard show
    groups: tuple[str, ...] = ()
    via: str = "none"  # "token" | "sso" | "project-token" | "none"
    roles: tuple[str, ...] = ()  # roles held outright
    session_id: str = ""
    token_id: str = ""

    @property
    def asker(self) -> Asker:
        return Asker(self.subject, groups=self.groups, roles=self.roles)

    def describe(self) -> str:
        groups = f" (groups: {', '.join(self.groups)})" if self.groups else ""
        return f"{self.name or self.subject or 'anonymous'}{groups}"


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def static_token(settings: Settings, token: str) -> tuple[str, str] | None:
    """(role, name) of a configured static token, or None."""
    given = _digest(token)
    found: tuple[str, str] | None = None
    names = settings.api_token_names
    for index, (role, configured) in enumerate(settings.api_tokens):
        # No early exit: every configured token is compared whatever matched first.
        if hmac.compare_digest(given, _digest(configured)) and found is None:
            found = (role, names[index] if index < len(names) else f"{role}-{index + 1}")
    return found


def anonymous(policy_configured: bool) -> Caller:
    return Caller("anonymous", roles=() if policy_configured else (ADMIN,))


def authentication_configured(settings: Settings) -> bool:
    return bool(settings.api_tokens) or settings.oidc is not None


def authenticate(settings: Settings, store: Store, token: str | None, policy_configured: bool) -> Caller:
    if not authentication_configured(settings) and settings.api_auth == "none":
        return anonymous(policy_configured)
    if not token:
        if not authentication_configured(settings):
            raise _no_tokens_configured()
        raise ApiError(
            401, "missing bearer token: send the header `Authorization: Bearer <token>`, or log in", headers=CHALLENGE
        )
    if sessions.is_session_token(token):
        session = sessions.check_access_token(store, token)
        if session is None:
            raise ApiError(401, "the session expired or was revoked: log in again", headers=CHALLENGE)
        return Caller("user", session.subject, session.name, session.groups, "sso", session_id=session.session_id)
    if looks_like_jwt(token):
        try:
            who = verify_token(store, signing_secret(settings), token)
        except TokenRefused as exc:
            raise ApiError(401, str(exc), headers=CHALLENGE) from None
        return Caller("project", who.subject, f"{who.subject} (token {who.token_id})", via="project-token",
                      token_id=who.token_id)  # fmt: skip
    found = static_token(settings, token)
    if found is None:
        if not authentication_configured(settings):
            raise _no_tokens_configured()
        raise ApiError(
            401, "the bearer token is not valid: use a token listed in RECONCILER_API_TOKENS, or log in",
            headers=CHALLENGE,
        )  # fmt: skip
    role, name = found
    return Caller(role, f"token:{name}", f"token:{name}", via="token", roles=(f"role:{role}",))


def _no_tokens_configured() -> ApiError:
    return ApiError(
        401,
        "the REST API has no tokens configured, so every call is refused: set RECONCILER_API_TOKENS "
        "(e.g. admin:<token>,readonly:<token>) or RECONCILER_API_TOKENS_FILE, "
        "or set RECONCILER_API_AUTH=none to leave the API open (single machine only)",
        headers=CHALLENGE,
    )
