"""Why a resource is OutOfSync, field by field (the dashboard's "why" and
`GET .../resource`): each field whose live value differs from the desired one, with the
manager that owns the live value (from `metadata.managedFields`) when it is not this system,
and each field an ignoreDifferences rule takes out of the comparison.

    [{"path": "spec.replicas", "live": 5, "desired": 3,
      "reason": "differs" | "owned by manager kubectl-edit" | "ignored by <rule>"}]

Pure, on objects already masked (Secret values never reach a reason).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from reconciler.engine.diff.ignore import apply_ignore_differences, rule_matches
from reconciler.engine.diff.resource_diff import normalize
from reconciler.engine.diff.secret_mask import mask_secret_pair
from reconciler.model import ResourceIgnoreDifferences
from reconciler.model.resources import ResourceKey

Path = tuple[str | int, ...]
_ABSENT = object()
MAX_REASONS = 200


def _leaves(value: Any, path: Path = ()) -> dict[Path, Any]:
    if isinstance(value, dict) and value:
        found: dict[Path, Any] = {}
        for key, item in value.items():
            found.update(_leaves(item, (*path, str(key))))
        return found
    if isinstance(value, list) and value:
        found = {}
        for index, item in enumerate(value):
            found.update(_leaves(item, (*path, index)))
        return found
    return {path: value}


def dotted(path: Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def describe_rule(rule: ResourceIgnoreDifferences) -> str:
    parts = [f"jsonPointers {', '.join(rule.json_pointers)}" if rule.json_pointers else "",
             f"jqPathExpressions {', '.join(rule.jq_path_expressions)}" if rule.jq_path_expressions else "",
             f"managedFieldsManagers {', '.join(rule.managed_fields_managers)}" if rule.managed_fields_managers
             else ""]
    what = "; ".join(p for p in parts if p)
    return f"ignoreDifferences ({rule.group or 'core'}/{rule.kind or '*'}: {what})"


def _fields_entry(fields: Any, item: Any, part: str | int) -> Any:
    """The FieldsV1 entry for one step of a path into the live object (`item` is the value there)."""
    if not isinstance(fields, dict):
        return None
    if isinstance(part, str):
        return fields.get(f"f:{part}")
    for entry, sub in fields.items():
        if entry.startswith("k:") and isinstance(item, dict):
            try:
                wanted = json.loads(entry[2:])
            except ValueError:
                continue
            if all(item.get(k) == v for k, v in wanted.items()):
                return sub
        if entry.startswith("v:") and entry[2:] == json.dumps(item, separators=(",", ":")):
            return sub
        if entry == f"i:{part}":
            return sub
    return None


def owner_of(live: dict[str, Any], path: Path) -> str:
    """The manager whose managedFields entry reaches deepest into `path` of `live` ("" if none)."""
    best, depth_best = "", -1
    for entry in (live.get("metadata") or {}).get("managedFields") or []:
        fields, value, depth = entry.get("fieldsV1"), live, 0
        for part in path:
            child = value[part] if isinstance(value, list) and isinstance(part, int) and part < len(value) else (
                value.get(part) if isinstance(value, dict) else None)
            fields = _fields_entry(fields, child, part)
            if fields is None:
                break
            value, depth = child, depth + 1
        if depth > depth_best and depth:
            best, depth_best = str(entry.get("manager", "")), depth
    return best


def explain(key: ResourceKey, desired: dict[str, Any] | None, live: dict[str, Any] | None,
            rules: Sequence[ResourceIgnoreDifferences], field_manager: str) -> list[dict[str, Any]]:
    """The reasons, fields ignored by rules first, then the fields Git sets whose live value
    differs (`desired` is the manifest as rendered)."""
    if desired is None or live is None:
        return []
    full_desired, full_live = mask_secret_pair(key, normalize(desired), normalize(live))
    reasons: list[dict[str, Any]] = []
    seen: set[Path] = set()
    for rule in (r for r in rules if rule_matches(r, key)):
        kept_desired, kept_live = apply_ignore_differences(key, desired, live, [rule])
        kept = set(_leaves(normalize(kept_desired or {}))) | set(_leaves(normalize(kept_live or {})))
        before_d, before_l = _leaves(full_desired or {}), _leaves(full_live or {})
        for path in sorted(set(before_d) | set(before_l), key=str):
            if path not in kept and path not in seen and before_d.get(path, _ABSENT) != before_l.get(path, _ABSENT):
                seen.add(path)
                reasons.append({"path": dotted(path), "live": before_l.get(path), "desired": before_d.get(path),
                                "reason": f"ignored by {describe_rule(rule)}"})
    compared_desired, compared_live = apply_ignore_differences(key, desired, live, rules)
    shown_desired, shown_live = mask_secret_pair(key, normalize(compared_desired or {}),
                                                 normalize(compared_live or {}))
    d_leaves, l_leaves = _leaves(shown_desired or {}), _leaves(shown_live or {})
    # The fields Git sets: the server's defaults and other managers' additions live beside them.
    for path in sorted(d_leaves, key=str):
        if d_leaves.get(path, _ABSENT) == l_leaves.get(path, _ABSENT) or path in seen:
            continue
        manager = owner_of(live, path) if path in l_leaves else ""
        reason = f"owned by manager {manager}" if manager and manager != field_manager else "differs"
        reasons.append({"path": dotted(path), "live": l_leaves.get(path), "desired": d_leaves.get(path),
                        "reason": reason})
        if len(reasons) >= MAX_REASONS:
            break
    return reasons
