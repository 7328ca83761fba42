"""Argo CD sync options this system implements, and the values it accepts for each.

    app_option_problem(option) -> str | None        for spec.syncPolicy.syncOptions[i]
    resource_option_problem(option) -> str | None   for annotation argocd.argoproj.io/sync-options

Anything else is refused by name (at `app create` for the app's options, at compare for a
resource's annotation): an option silently ignored would do something other than what its
author expects. Values are compared case-insensitively, as Argo CD does.

Notes on what some accepted values mean here:
- `ServerSideApply=true` is what this system always does; `false` (client-side apply) is refused.
- `Validate=false`: this system never asks the API server for strict field validation, so
  unknown fields are not rejected either way; both values are accepted.
- `ClientSideApplyMigration=false`: this system never migrates client-side-apply field
  ownership, which is what `false` asks for; `true` is refused.
"""

from __future__ import annotations

_BOOL = frozenset({"true", "false"})

APP_OPTIONS: dict[str, frozenset[str]] = {
    "CreateNamespace": _BOOL,
    "PruneLast": _BOOL,
    "ApplyOutOfSyncOnly": _BOOL,
    "Replace": _BOOL,
    "ServerSideApply": frozenset({"true"}),
    "RespectIgnoreDifferences": _BOOL,
    "FailOnSharedResource": _BOOL,
    "PrunePropagationPolicy": frozenset({"foreground", "background", "orphan"}),
    "Validate": _BOOL,
    "SkipDryRunOnMissingResource": _BOOL,
    "ClientSideApplyMigration": frozenset({"false"}),
}

RESOURCE_OPTIONS: dict[str, frozenset[str]] = {
    "Prune": frozenset({"true", "false", "confirm"}),
    "Delete": _BOOL,
    "Replace": _BOOL,
    "Force": _BOOL,
    "ServerSideApply": frozenset({"true"}),
    "Validate": _BOOL,
    "SkipDryRunOnMissingResource": _BOOL,
    "ClientSideApplyMigration": frozenset({"false"}),
    "PruneLast": _BOOL,
}

_WHY_REFUSED = {
    "ServerSideApply": "this system always uses server-side apply",
    "ClientSideApplyMigration": "this system never migrates client-side-apply field ownership",
}


def _problem(option: str, table: dict[str, frozenset[str]], where: str) -> str | None:
    name, sep, value = option.partition("=")
    name, value = name.strip(), value.strip()
    if not sep or not name:
        return f'"{option}" must be Name=value, like CreateNamespace=true'
    allowed = table.get(name)
    if allowed is None:
        known = ", ".join(sorted(table))
        return f'sync option "{name}" is not supported {where}; supported: {known}'
    if value.lower() not in allowed:
        why = f" ({_WHY_REFUSED[name]})" if name in _WHY_REFUSED else ""
        return f'sync option "{name}={value}" is not supported{why}; use {name}=' + " or ".join(sorted(allowed))
    return None


def app_option_problem(option: str) -> str | None:
    return _problem(option, APP_OPTIONS, "in spec.syncPolicy.syncOptions")


def resource_option_problem(option: str) -> str | None:
    return _problem(option, RESOURCE_OPTIONS, "on a resource")
