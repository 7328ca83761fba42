"""The built-in roles, as Argo CD's `assets/builtin-policy.csv` grants them.

- `role:readonly` may `get` every resource;
- `role:admin` may do everything, and is a member of `role:readonly`.

Application-scoped resources (applications, applicationsets, logs, exec) take `<project>/<name>`
objects, so their lines use `*/*`; the others take a name, so `*`.

One difference on purpose: Argo CD also binds its local user `admin` (`g, admin, role:admin`).
There is no such user here, and the line would make an SSO group called `admin` an
administrator, so it is left out; static tokens carry their role instead
(reconciler/api/access/identity.py).
"""

from __future__ import annotations

APP_SCOPED = ("applications", "applicationsets", "logs", "exec")
READONLY = "role:readonly"
ADMIN = "role:admin"

# resource -> actions role:admin holds beyond role:readonly's `get`
_ADMIN_ACTIONS: dict[str, tuple[str, ...]] = {
    "applications": ("create", "update", "update/*", "delete", "delete/*", "sync", "override", "action/*"),
    "applicationsets": ("create", "update", "delete"),
    "certificates": ("create", "update", "delete"),
    "clusters": ("create", "update", "delete"),
    "repositories": ("create", "update", "delete"),
    "write-repositories": ("create", "update", "delete"),
    "projects": ("create", "update", "delete"),
    "accounts": ("update",),
    "gpgkeys": ("create", "delete"),
    "exec": ("create",),
}
_READONLY_RESOURCES = (
    "applications", "applicationsets", "certificates", "clusters", "repositories", "write-repositories",
    "projects", "accounts", "gpgkeys", "logs",
)  # fmt: skip


def _object(resource: str) -> str:
    return "*/*" if resource in APP_SCOPED else "*"


def builtin_rules() -> list[tuple[str, ...]]:
    """The built-in policy as rules: `("p", sub, res, act, obj, eft)` and `("g", member, role)`."""
    rules: list[tuple[str, ...]] = [("p", READONLY, res, "get", _object(res), "allow") for res in _READONLY_RESOURCES]
    for resource, actions in _ADMIN_ACTIONS.items():
        rules.extend(("p", ADMIN, resource, action, _object(resource), "allow") for action in actions)
    rules.append(("g", ADMIN, READONLY))
    return rules
