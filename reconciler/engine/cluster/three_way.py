"""Client-side apply's patch, computed as kubectl computes it (k8s.io/kubectl `apply/patcher.go`).

    last_applied_json(obj) -> str                       the annotation kubectl writes, byte for byte
    with_last_applied(obj) -> obj                       `obj` carrying that annotation (the "modified")
    three_way_merge_patch(original, modified, current)  JSON merge patch, for custom resources
    three_way_strategic_patch(original, modified, current, schema)
                                                        strategic merge patch, for built-in kinds

`original` is the last-applied configuration (what this tool wrote last time), `modified`
what it wants now, `current` the live object. The patch sets every field of `modified` that
`current` lacks or holds differently, and deletes the fields `original` had that `modified`
dropped. Fields only `current` has (another manager's, the server's defaults) are left alone.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Protocol

LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"

JsonObj = dict[str, Any]
_MISSING = object()


def last_applied_json(obj: JsonObj) -> str:
    """The annotation's value: `obj` without the annotation itself, with `annotations` present
    (empty when it has none), encoded as Go's encoding/json does (sorted keys, compact, a
    trailing newline), so kubectl's own view-last-applied and apply read it as theirs."""
    body = copy.deepcopy(obj)
    meta = body.setdefault("metadata", {})
    annotations = dict(meta.get("annotations") or {})
    annotations.pop(LAST_APPLIED_ANNOTATION, None)
    meta["annotations"] = annotations
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # Go's encoder escapes these (HTML-safe output); outside strings JSON never holds them.
    for char, escaped in _GO_ESCAPES:
        text = text.replace(char, escaped)
    return text + "\n"


_GO_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


def with_last_applied(obj: JsonObj) -> JsonObj:
    modified = copy.deepcopy(obj)
    meta = modified.setdefault("metadata", {})
    annotations = dict(meta.get("annotations") or {})
    annotations[LAST_APPLIED_ANNOTATION] = last_applied_json(obj)
    meta["annotations"] = annotations
    return modified


def original_of(live: JsonObj | None) -> JsonObj:
    """The last-applied configuration recorded on `live` ({} when none or unreadable: then
    nothing is deleted, as kubectl does for an object it never applied)."""
    raw = (((live or {}).get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED_ANNOTATION)
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# --------------------------------------------------------------------------- JSON merge patch


def three_way_merge_patch(original: JsonObj, modified: JsonObj, current: JsonObj) -> JsonObj:
    """RFC 7386 patch: additions and changes from current→modified, deletions from original→modified.
    Lists are atomic (replaced whole), as JSON merge patch has no other way."""
    patch = _merge_changes(current, modified)
    _merge_into(patch, _merge_deletions(original, modified))
    return patch


def _merge_changes(current: Any, modified: JsonObj) -> JsonObj:
    patch: JsonObj = {}
    cur = current if isinstance(current, dict) else {}
    for key, want in modified.items():
        have = cur.get(key, _MISSING)
        if isinstance(want, dict) and isinstance(have, dict):
            sub = _merge_changes(have, want)
            if sub:
                patch[key] = sub
        elif have is _MISSING or have != want:
            patch[key] = copy.deepcopy(want)
    return patch


def _merge_deletions(original: Any, modified: JsonObj) -> JsonObj:
    patch: JsonObj = {}
    if not isinstance(original, dict):
        return patch
    for key, was in original.items():
        if key not in modified:
            patch[key] = None
        elif isinstance(was, dict) and isinstance(modified[key], dict):
            sub = _merge_deletions(was, modified[key])
            if sub:
                patch[key] = sub
    return patch


def _merge_into(target: JsonObj, extra: JsonObj) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge_into(target[key], value)
        elif key not in target:
            target[key] = value


# ----------------------------------------------------------------------- strategic merge patch


class PatchSchema(Protocol):
    """What a strategic merge patch needs to know of a field (the OpenAPI `x-kubernetes-patch-*`)."""

    def child(self, key: str) -> PatchSchema: ...

    def item(self) -> PatchSchema: ...

    @property
    def merge_key(self) -> str: ...

    @property
    def strategy(self) -> str: ...


def three_way_strategic_patch(original: JsonObj, modified: JsonObj, current: JsonObj, schema: PatchSchema) -> JsonObj:
    """strategicpatch.CreateThreeWayMergePatch with overwrite: lists with a patch merge key merge
    element by element (`$patch: delete` for elements dropped since last applied,
    `$setElementOrder` keeping modified's order), primitive lists with strategy `merge` add and
    `$deleteFromPrimitiveList`, every other list is replaced whole when it differs."""
    return _smp_map(original if isinstance(original, dict) else {}, modified, current, schema)


def _smp_map(original: JsonObj, modified: JsonObj, current: Any, schema: PatchSchema) -> JsonObj:
    cur = current if isinstance(current, dict) else {}
    patch: JsonObj = {}
    for key, want in modified.items():
        have = cur.get(key, _MISSING)
        was = original.get(key, _MISSING)
        child = schema.child(key)
        if have is _MISSING:
            patch[key] = copy.deepcopy(want)
        elif isinstance(want, dict) and isinstance(have, dict):
            sub = _smp_map(was if isinstance(was, dict) else {}, want, have, child)
            if sub:
                patch[key] = sub
        elif isinstance(want, list) and isinstance(have, list) and "merge" in child.strategy.split(","):
            _smp_list(patch, key, was if isinstance(was, list) else [], want, have, child)
        elif have != want:
            patch[key] = copy.deepcopy(want)
    for key in original:
        if key not in modified:
            patch[key] = None
    return patch


def _smp_list(patch: JsonObj, key: str, original: list[Any], modified: list[Any], current: list[Any],
              schema: PatchSchema) -> None:
    merge_key = schema.merge_key
    if merge_key and all(isinstance(item, dict) and merge_key in item for item in modified):
        _smp_keyed_list(patch, key, original, modified, current, schema)
        return
    if all(not isinstance(item, (dict, list)) for item in [*modified, *current]):
        added = [copy.deepcopy(item) for item in modified if item not in current]
        dropped = [item for item in original if item not in modified]
        if added:
            patch[key] = added
        if dropped:
            patch[f"$deleteFromPrimitiveList/{key}"] = dropped
        if added or dropped:
            patch[f"$setElementOrder/{key}"] = copy.deepcopy(modified)
        return
    if modified != current:
        patch[key] = copy.deepcopy(modified)


def _smp_keyed_list(patch: JsonObj, key: str, original: list[Any], modified: list[Any], current: list[Any],
                    schema: PatchSchema) -> None:
    merge_key = schema.merge_key
    by_key_current = {item.get(merge_key): item for item in current if isinstance(item, dict)}
    by_key_original = {item.get(merge_key): item for item in original if isinstance(item, dict)}
    wanted = {item[merge_key] for item in modified}
    items: list[Any] = []
    for want in modified:
        have = by_key_current.get(want[merge_key])
        if have is None:
            items.append(copy.deepcopy(want))
            continue
        was = by_key_original.get(want[merge_key]) or {}
        sub = _smp_map(was, want, have, schema.item())
        if sub:
            items.append({merge_key: want[merge_key], **sub})
    for was in original:
        if isinstance(was, dict) and merge_key in was and was[merge_key] not in wanted:
            items.append({merge_key: was[merge_key], "$patch": "delete"})
    if items:
        patch[key] = items
        patch[f"$setElementOrder/{key}"] = [{merge_key: item[merge_key]} for item in modified]
