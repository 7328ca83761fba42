"""Argo CD sync options this system implements, and the values it accepts for each.

    app_option_problem(option) -> str | None        for spec.syncPolicy.syncOptions[i]
    resource_option_problem(option) -> str | None   for annotation argocd.argoproj.io/sync-options

Anything else is refused by name (at `app create` for the app's options, at compare for a
resource's annotation): an option silently ignored would do something other than what its
author expects. Values are compared case-insensitively, as Argo CD does.

Notes on what some accepted values mean here (engine/apply_mode.py does them):
- `ServerSideApply`: server-side apply is this system's default (Argo CD's is client-side);
  `false` is client-side apply as kubectl does it (last-applied-configuration annotation,
  three-way strategic or JSON merge patch).
- `Validate`: applies ask the server for `fieldValidation=Strict` (unknown or duplicate fields
  fail naming the field, as `kubectl apply` does); `false` asks for `Ignore`.
- `ClientSideApplyMigration`: on by default with server-side apply (Argo CD 3.x): fields owned
  by `kubectl-client-side-apply` move to this system's apply manager; `false` leaves them.
"""

from __future__ import annotations

_BOOL = frozenset({"true", "false"})

APP_OPTIONS: dict[str, frozenset[str]] = {
    "CreateNamespace": _BOOL,
    "PruneLast": _BOOL,
    "ApplyOutOfSyncOnly": _BOOL,
    "Replace": _BOOL,
    "ServerSideApply": _BOOL,
    "RespectIgnoreDifferences": _BOOL,
    "FailOnSharedResource": _BOOL,
    "PrunePropagationPolicy": frozenset({"foreground", "background", "orphan"}),
    "Validate": _BOOL,
    "SkipDryRunOnMissingResource": _BOOL,
    "ClientSideApplyMigration": _BOOL,
}

RESOURCE_OPTIONS: dict[str, frozenset[str]] = {
    "Prune": frozenset({"true", "false", "confirm"}),
    "Delete": _BOOL,
    "Replace": _BOOL,
    "Force": _BOOL,
    "ServerSideApply": _BOOL,
    "Validate": _BOOL,
    "SkipDryRunOnMissingResource": _BOOL,
    "ClientSideApplyMigration": _BOOL,
    "PruneLast": _BOOL,
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
        return f'sync option "{name}={value}" is not supported; use {name}=' + " or ".join(sorted(allowed))
    return None


def app_option_problem(option: str) -> str | None:
    return _problem(option, APP_OPTIONS, "in spec.syncPolicy.syncOptions")


def resource_option_problem(option: str) -> str | None:
    return _problem(option, RESOURCE_OPTIONS, "on a resource")
