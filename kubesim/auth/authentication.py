"""Authentication: static bearer tokens (kube-apiserver's --token-auth-file) and impersonation.

The token file is CSV, one user a line: `token,user,uid,"group1,group2"` (groups optional).
An authenticated user also belongs to `system:authenticated`, as on a real server. A request
without a valid token is 401 (kube-apiserver with --anonymous-auth=false). Impersonation
(https://kubernetes.io/docs/reference/access-authn-authz/authentication/#user-impersonation):
`Impersonate-User`, `Impersonate-Group` (repeatable) and `Impersonate-Uid` act as that user
once the requester may `impersonate` users/groups/uids.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

from kubesim.errors import ApiError, Forbidden

AUTHENTICATED = "system:authenticated"
MASTERS = "system:masters"


@dataclass(frozen=True)
class UserInfo:
    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"username": self.name, "groups": list(self.groups)}
        if self.uid:
            out["uid"] = self.uid
        return out


# Who a request is when authentication is off: everything is allowed, as before auth existed.
OPEN_ACCESS_USER = UserInfo("kubesim-admin", "", (MASTERS, AUTHENTICATED))


class Unauthorized(ApiError):
    code = 401
    reason = "Unauthorized"

    def __init__(self) -> None:
        super().__init__("Unauthorized")


def load_token_file(path: str | Path) -> dict[str, UserInfo]:
    """Token -> user from a kube-apiserver static token file; ValueError names a bad line."""
    users: dict[str, UserInfo] = {}
    with open(path, newline="") as handle:
        for number, row in enumerate(csv.reader(handle), start=1):
            if not row or not row[0].strip() or row[0].lstrip().startswith("#"):
                continue
            if len(row) < 3:
                raise ValueError(f"{path}:{number}: a token line needs token,user,uid[,\"groups\"]")
            token, name, uid = (cell.strip() for cell in row[:3])
            groups = tuple(g.strip() for g in row[3].split(",") if g.strip()) if len(row) > 3 else ()
            if token in users:
                raise ValueError(f"{path}:{number}: duplicate token for user {name!r}")
            users[token] = UserInfo(name, uid, (*groups, AUTHENTICATED) if AUTHENTICATED not in groups else groups)
    return users


class TokenAuthenticator:
    def __init__(self, tokens: dict[str, UserInfo]) -> None:
        self.tokens = tokens

    def authenticate(self, headers: Message) -> UserInfo:
        scheme, _, token = (headers.get("Authorization") or "").partition(" ")
        user = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            raise Unauthorized()
        return user


def impersonate(requester: UserInfo, headers: Message,
                may: Callable[[UserInfo, str, str, str], bool]) -> UserInfo:
    """The user a request acts as: `requester`, or whom its Impersonate-* headers name.

    `may(user, group, resource, name)` answers whether `user` may impersonate that name."""
    target = headers.get("Impersonate-User")
    groups = headers.get_all("Impersonate-Group") or []
    uid = headers.get("Impersonate-Uid") or ""
    if not target:
        if groups or uid:
            raise ApiError("requested [" + ", ".join(f"{{Group {g}}}" for g in groups) +
                           "] without impersonating a user", code=500, reason="InternalError")
        return requester
    checks = [("", "users", target)] + [("", "groups", g) for g in groups]
    if uid:
        checks.append(("authentication.k8s.io", "uids", uid))
    for group, resource, name in checks:
        if not may(requester, group, resource, name):
            raise Forbidden(resource, name, f'User "{requester.name}" cannot impersonate resource "{resource}" in '
                                            f'API group "{group}" at the cluster scope', group)
    all_groups = tuple(groups)
    if target != "system:anonymous" and AUTHENTICATED not in all_groups:
        all_groups = (*all_groups, AUTHENTICATED)
    return UserInfo(target, uid, all_groups)
