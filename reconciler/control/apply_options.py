"""How one desired object is written, following its sync options and the app's.

    write_object(cluster, app, obj) -> Written     raises KubeError (the step records it)

- default: server-side apply as this system's field manager; `ServerSideApply=false`:
  client-side apply; `Validate=false`: the server ignores unknown fields instead of refusing
  them; `ClientSideApplyMigration` (see engine/apply_mode.py).
- `Replace=true` (resource annotation, or the app's option): create, or PUT over the live
  object at its resourceVersion, instead of apply.
- `Force=true`: when the server refuses the change as invalid (an immutable field, 422), delete
  the object and create it again. The old object may take a moment to go: `wait` says so and
  the step runs again later.
- `RespectIgnoreDifferences=true` (app): fields the app's ignoreDifferences JSON pointers name
  keep their live values (jq path expressions are left out of what is applied).
- `FailOnSharedResource=true` (app): an object another app tracks is not written.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from reconciler.engine.apply_mode import apply_mode, apply_object, option
from reconciler.engine.cluster import Cluster, KubeError
from reconciler.engine.compare import tracked_by_other_app
from reconciler.engine.diff.ignore import parse_json_pointer, remove_jq_paths, rule_matches
from reconciler.model import Application
from reconciler.model.resources import ResourceKey

JsonObj = dict[str, Any]


@dataclass
class Written:
    message: str = "applied"
    wait: str = ""  # non-empty: nothing final happened yet, run the step again later
    # The server's answer to a plain apply of the manifest as it is (what a dry-run would answer
    # right after); None for the other ways of writing (Replace, Force, RespectIgnoreDifferences).
    applied: JsonObj | None = None
    server_side: bool = False  # `applied` came from a server-side apply (it holds our Apply entry)


def _live(cluster: Cluster, obj: JsonObj) -> JsonObj | None:
    meta = obj.get("metadata") or {}
    return cluster.get(str(obj["apiVersion"]), str(obj["kind"]), meta.get("namespace"), meta["name"])


def write_object(cluster: Cluster, app: Application, obj: JsonObj) -> Written:
    key = ResourceKey.of(obj)
    replace = option(app, obj, "Replace") == "true"
    force = option(app, obj, "Force") == "true"
    fail_on_shared = app.sync_policy.option_enabled("FailOnSharedResource")
    respect = app.sync_policy.option_enabled("RespectIgnoreDifferences")
    live = _live(cluster, obj) if (replace or fail_on_shared or respect) else None
    if fail_on_shared:
        other = tracked_by_other_app(live, app.name)
        if other:
            raise KubeError(
                f"{key} is tracked by application {other!r}; FailOnSharedResource=true refuses to take it over "
                "(remove it from one of the apps)"
            )
    if respect and live is not None:
        obj = keep_ignored_fields(app, key, obj, live)
    mode = apply_mode(app, obj)
    try:
        if replace:
            if live is None:
                cluster.create(obj, field_validation=mode.field_validation)
                return Written("created (Replace=true)")
            cluster.replace(obj, str((live.get("metadata") or {}).get("resourceVersion", "")),
                            field_validation=mode.field_validation)
            return Written("replaced (Replace=true)")
        stored = apply_object(cluster, obj, mode)
        # With RespectIgnoreDifferences the object written is not the manifest: nothing to vouch for.
        return Written("applied" if mode.server_side else "applied (client-side)",
                       applied=None if respect else stored, server_side=mode.server_side)
    except KubeError as exc:
        if not force or exc.status != 422:
            raise
    return _recreate(cluster, app, obj, key)


def _recreate(cluster: Cluster, app: Application, obj: JsonObj, key: ResourceKey) -> Written:
    """Force=true: delete the object the server will not change in place, then create it."""
    live = _live(cluster, obj)
    meta = obj.get("metadata") or {}
    if live is not None:
        live_meta = live.get("metadata") or {}
        if not live_meta.get("deletionTimestamp"):
            cluster.delete(
                str(obj["apiVersion"]), key.kind, meta.get("namespace"), key.name, propagation="Background",
                uid=live_meta.get("uid"),
            )
        if _live(cluster, obj) is not None:
            return Written(wait=f"Force=true: waiting for {key} to be deleted before creating it again")
    apply_object(cluster, obj, apply_mode(app, obj))
    return Written("deleted and created again (Force=true)")


def keep_ignored_fields(app: Application, key: ResourceKey, obj: JsonObj, live: JsonObj) -> JsonObj:
    result = copy.deepcopy(obj)
    for rule in app.ignore_differences:
        if not rule_matches(rule, key):
            continue
        for pointer in rule.json_pointers:
            _copy_pointer(result, live, parse_json_pointer(pointer))
        for expression in rule.jq_path_expressions:
            result = remove_jq_paths(result, expression)
    return result


def _copy_pointer(target: JsonObj, source: JsonObj, tokens: list[str]) -> None:
    """Set target's value at `tokens` to source's (dict paths; remove it when source has none)."""
    if not tokens:
        return
    src: Any = source
    for token in tokens:
        src = src.get(token) if isinstance(src, dict) else None
        if src is None:
            break
    node: Any = target
    for token in tokens[:-1]:
        if not isinstance(node, dict):
            return
        if src is None and token not in node:
            return
        node = node.setdefault(token, {})
    if not isinstance(node, dict):
        return
    if src is None:
        node.pop(tokens[-1], None)
    else:
        node[tokens[-1]] = copy.deepcopy(src)
