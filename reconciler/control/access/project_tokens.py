"""JWTs of AppProject roles, as Argo CD's `argocd proj role create-token` makes them.

    create_token(store, secret, project, role, expires_in) -> dict   token, id, iat, exp
    delete_token(store, project, role, id_or_iat) -> dict            the revoked token's record
    verify_token(store, secret, token) -> ProjectTokenIdentity        raises TokenRefused

A token is an HS256 JWT: `sub` `proj:<project>:<role>`, `jti` its id, `iat`, `exp` when it
expires, `iss` "reconciler". Its id, issued-at and expiry are recorded in Redis under the
project (rc:project-tokens:<project>); a token is honoured only while that record exists and
the project still has the role, so deleting the record revokes it at once, on every replica.

The signing secret is RECONCILER_TOKEN_SIGNING_KEY (at least 32 characters), or when unset a
random one generated once into `<data dir>/token-signing.key` (mode 0600). API replicas on
several machines must share it (the Helm chart and compose set the variable), or a token
made by one replica is refused by the others. The key used to sign is derived from the
secret for this purpose only.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from reconciler.control.access.registered import registered_project
from reconciler.core.errors import InputError
from reconciler.model import AppProject, parse_duration
from reconciler.model.project_roles import role_subject
from reconciler.settings import Settings
from reconciler.state import Store
from reconciler.state.sealing import key_from_file

ISSUER = "reconciler"
KEY_FILE = "token-signing.key"
MIN_SECRET_CHARS = 32
_ALGORITHM = "HS256"


class ProjectTokenError(InputError, ValueError):
    """A token cannot be made or revoked as asked (no such role, no such token)."""


class TokenRefused(InputError, ValueError):
    """A presented token is not a valid project token; the message says why (never the token)."""


@dataclass(frozen=True)
class ProjectTokenIdentity:
    project: str
    role: str
    token_id: str
    issued_at: int

    @property
    def subject(self) -> str:
        return role_subject(self.project, self.role)


def signing_secret(settings: Settings) -> str:
    secret = settings.token_signing_key
    if secret:
        if len(secret) < MIN_SECRET_CHARS:
            raise ValueError(
                f"RECONCILER_TOKEN_SIGNING_KEY has {len(secret)} characters; use at least {MIN_SECRET_CHARS} "
                "random ones (e.g. `openssl rand -base64 48`)"
            )
        return secret
    return key_from_file(settings.data_dir / KEY_FILE)


def _key(secret: str) -> OctKey:
    return OctKey.import_key(hmac.new(secret.encode(), b"project-role-tokens", hashlib.sha256).digest())


def parse_expires_in(value: object) -> float:
    """Seconds in a token lifetime as Argo CD's `--expires-in` takes it: `12h`, `30m`, `7d`, a number
    of seconds; empty or 0: never expires. Raises ProjectTokenError naming the value."""
    text = str(value if value is not None else "").strip()
    if text in ("", "0"):
        return 0.0
    try:
        seconds = parse_duration(text[:-1]) * 86400 if text.endswith("d") else parse_duration(text)
    except ValueError:
        raise ProjectTokenError(f"expires-in {text!r} is not a duration like 3600, 12h or 7d") from None
    if seconds < 0:
        raise ProjectTokenError(f"expires-in {text!r} is negative; use a duration like 12h")
    return seconds


def looks_like_jwt(token: str) -> bool:
    parts = token.split(".")
    return len(parts) == 3 and token.startswith("eyJ") and all(parts)


def _role(project: AppProject, role: str) -> None:
    if not any(r.name == role for r in project.roles):
        known = ", ".join(r.name for r in project.roles) or "none"
        raise ProjectTokenError(
            f"project {project.name!r} has no role {role!r} (its roles: {known}); add it to the AppProject's "
            "spec.roles and register the project again"
        )


def create_token(
    store: Store, secret: str, project: AppProject, role: str, expires_in: float = 0, now: float | None = None
) -> dict[str, Any]:
    """A new token of `role` in `project`; `expires_in` seconds (0: never expires)."""
    _role(project, role)
    issued_at = int(now if now is not None else time.time())
    record = {"id": str(uuid.uuid4()), "iat": issued_at, "exp": issued_at + int(expires_in) if expires_in > 0 else 0}
    claims: dict[str, Any] = {"iss": ISSUER, "sub": role_subject(project.name, role), "jti": record["id"],
                              "iat": issued_at, "nbf": issued_at}  # fmt: skip
    if record["exp"]:
        claims["exp"] = record["exp"]
    token = jwt.encode({"alg": _ALGORITHM, "typ": "JWT"}, claims, _key(secret))
    store.put_project_token(project.name, role, record)
    return {"token": token, **record}


def delete_token(store: Store, project: str, role: str, id_or_iat: str) -> dict[str, Any]:
    """Revoke the token of `role` whose id is `id_or_iat`, or (digits, as Argo CD's DeleteToken
    takes) whose issued-at is; raises ProjectTokenError when there is none."""
    records = store.project_tokens(project).get(role, [])
    wanted = [r for r in records if r["id"] == id_or_iat or (id_or_iat.isdigit() and r["iat"] == int(id_or_iat))]
    if not wanted:
        raise ProjectTokenError(
            f"role {role!r} of project {project!r} has no token with id or issued-at {id_or_iat!r}; "
            f"list them with `reconciler proj role list-tokens {project} {role}`"
        )
    for record in wanted:
        store.delete_project_token(project, role, record["id"])
    return wanted[0]


def _claims(secret: str, token: str, now: float) -> dict[str, Any]:
    try:
        decoded = jwt.decode(token, _key(secret), algorithms=[_ALGORITHM])
        registry = jwt.JWTClaimsRegistry(
            now=int(now), leeway=0, iss={"essential": True, "value": ISSUER}, sub={"essential": True},
            jti={"essential": True}, iat={"essential": True},
        )  # fmt: skip
        registry.validate(decoded.claims)
    except JoseError as exc:
        raise TokenRefused(f"the project token is not valid: {exc.description or exc.error}") from None
    except ValueError:
        raise TokenRefused("the project token is not valid: it cannot be decoded") from None
    return decoded.claims


def verify_token(store: Store, secret: str, token: str, now: float | None = None) -> ProjectTokenIdentity:
    """The project role a token stands for; TokenRefused when its signature, expiry, project,
    role or record (revocation) says no."""
    claims = _claims(secret, token, now if now is not None else time.time())
    parts = str(claims["sub"]).split(":")
    if len(parts) != 3 or parts[0] != "proj":
        raise TokenRefused("the token is not a project role token (its subject is not proj:<project>:<role>)")
    project_name, role = parts[1], parts[2]
    project = registered_project(store, project_name)
    if project is None or not any(r.name == role for r in project.roles):
        raise TokenRefused(f"project {project_name!r} no longer has the role {role!r} this token belongs to")
    record = store.project_token(project_name, role, str(claims["jti"]))
    if record is None or record.get("iat") != claims["iat"]:
        raise TokenRefused(f"this token of role {role!r} in project {project_name!r} was revoked")
    return ProjectTokenIdentity(project_name, role, str(claims["jti"]), int(claims["iat"]))
