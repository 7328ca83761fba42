"""Login sessions: what a single sign-on leaves the browser (a cookie) and the CLI (a token pair).

    start_session(store, who, client, duration) -> IssuedSession
    check_access_token(store, token) -> Session | None
    refresh_session(store, refresh_token) -> IssuedSession          raises SessionRefused
    revoke_session(store, session_id) -> bool

A session lives in Redis under a random id, with who signed in (subject, name, groups), when it
ends (RECONCILER_SESSION_DURATION after the login; the key expires then too) and the SHA-256 of
its secrets: never the secrets. Tokens are `rcs.<id>.<secret>` (access) and `rcr.<id>.<secret>`
(refresh). The dashboard's cookie holds an access token valid for the whole session; the CLI's
access token lasts at most an hour and is renewed with the refresh token, which is replaced at
each use. A refresh token shown a second time ends the session (it was copied). Deleting the
session revokes every token of it at once, on every API replica.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

from reconciler.api.access.oidc import SsoIdentity
from reconciler.state import Store

ACCESS_PREFIX = "rcs"
REFRESH_PREFIX = "rcr"
CLI_ACCESS_SECONDS = 3600.0


class SessionRefused(Exception):
    """A refresh token that cannot be used; the message says what to do."""


@dataclass(frozen=True)
class Session:
    session_id: str
    subject: str
    name: str
    groups: tuple[str, ...]
    client: str  # "dashboard" | "cli"
    expires_at: float


@dataclass(frozen=True)
class IssuedSession:
    session: Session
    access_token: str
    access_expires_at: float
    refresh_token: str = ""  # the CLI's only


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _split(token: str, prefix: str) -> tuple[str, str] | None:
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != prefix or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def is_session_token(token: str) -> bool:
    return token.startswith(ACCESS_PREFIX + ".")


def _session(session_id: str, record: dict[str, Any]) -> Session:
    return Session(
        session_id=session_id,
        subject=record["subject"],
        name=record["name"],
        groups=tuple(record.get("groups") or ()),
        client=record.get("client", ""),
        expires_at=float(record["expires"]),
    )


def start_session(
    store: Store, who: SsoIdentity, client: str, duration: float, now: float | None = None
) -> IssuedSession:
    now = time.time() if now is None else now
    session_id = secrets.token_urlsafe(16)
    access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32) if client == "cli" else ""
    expires = now + duration
    access_expires = min(expires, now + CLI_ACCESS_SECONDS) if client == "cli" else expires
    record = {
        "subject": who.subject, "name": who.name, "groups": list(who.groups), "client": client,
        "created": now, "expires": expires, "accessHash": _hash(access), "accessExpires": access_expires,
        "refreshHash": _hash(refresh) if refresh else "",
    }  # fmt: skip
    store.put_session(session_id, record, expires)
    return IssuedSession(
        session=_session(session_id, record),
        access_token=f"{ACCESS_PREFIX}.{session_id}.{access}",
        access_expires_at=access_expires,
        refresh_token=f"{REFRESH_PREFIX}.{session_id}.{refresh}" if refresh else "",
    )


def check_access_token(store: Store, token: str, now: float | None = None) -> Session | None:
    """The session an access token belongs to, or None when it is unknown, revoked or expired."""
    parts = _split(token, ACCESS_PREFIX)
    if parts is None:
        return None
    record = store.session(parts[0])
    now = time.time() if now is None else now
    if record is None or not hmac.compare_digest(record["accessHash"], _hash(parts[1])):
        return None
    if now >= float(record["expires"]) or now >= float(record["accessExpires"]):
        return None
    return _session(parts[0], record)


def refresh_session(store: Store, refresh_token: str, now: float | None = None) -> IssuedSession:
    """A new access token and refresh token for the session of `refresh_token` (which is spent)."""
    parts = _split(refresh_token, REFRESH_PREFIX)
    if parts is None:
        raise SessionRefused("that is not a refresh token: log in again with `reconciler login --sso`")
    session_id, secret = parts
    now = time.time() if now is None else now
    record = store.session(session_id)
    if record is None or now >= float(record["expires"]):
        raise SessionRefused("the session ended (expired or revoked): log in again with `reconciler login --sso`")
    access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    access_expires = min(float(record["expires"]), now + CLI_ACCESS_SECONDS)
    swapped = store.rotate_session(session_id, _hash(secret), _hash(access), access_expires, _hash(refresh))
    if swapped == 0:
        store.delete_session(session_id)  # a refresh token used twice was copied: end the session
        raise SessionRefused("this refresh token was already used, so the session was ended: log in again")
    if swapped < 0:
        raise SessionRefused("the session ended (expired or revoked): log in again with `reconciler login --sso`")
    return IssuedSession(
        session=_session(session_id, record),
        access_token=f"{ACCESS_PREFIX}.{session_id}.{access}",
        access_expires_at=access_expires,
        refresh_token=f"{REFRESH_PREFIX}.{session_id}.{refresh}",
    )


def revoke_session(store: Store, session_id: str) -> bool:
    return store.delete_session(session_id)


def session_id_of(token: str) -> str:
    """The session id inside an access or refresh token ("" when it is neither)."""
    parts = _split(token, ACCESS_PREFIX) or _split(token, REFRESH_PREFIX)
    return parts[0] if parts else ""


def list_sessions(store: Store) -> list[Session]:
    return sorted((_session(sid, record) for sid, record in store.sessions().items()), key=lambda s: s.expires_at)
