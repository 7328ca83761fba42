"""How an action's result becomes a change: Argo CD's clean-up of what Lua cannot tell apart
(an empty table is an empty list to it, so `{}` fields come back as `[]`), and the JSON merge
patch (RFC 7386) from the live object to the result, which Argo CD sends."""

from __future__ import annotations

from typing import Any

from reconciler.core.errors import InputError

JsonObj = dict[str, Any]


def clean_returned(new: JsonObj, old: JsonObj) -> JsonObj:
    """`new` with every empty list that was a map in `old` turned back into that map (Argo CD's
    cleanReturnedObj), recursing into maps and lists both sides share."""
    for key, old_value in old.items():
        if key not in new:
            continue
        value = new[key]
        if isinstance(value, dict) and isinstance(old_value, dict):
            new[key] = clean_returned(value, old_value)
        elif isinstance(value, list):
            if isinstance(old_value, dict) and not value:
                new[key] = old_value
            elif isinstance(old_value, list):
                new[key] = _clean_list(value, old_value)
    return new


def _clean_list(new: list[Any], old: list[Any]) -> list[Any]:
    for index, value in enumerate(new):
        if index >= len(old):
            break
        if isinstance(value, dict) and isinstance(old[index], dict):
            new[index] = clean_returned(value, old[index])
        elif isinstance(value, list) and isinstance(old[index], list):
            new[index] = _clean_list(value, old[index])
    return new


def merge_patch(live: Any, new: Any) -> Any:
    """The RFC 7386 merge patch that turns `live` into `new` (a removed field is `null`; lists
    are replaced whole). `{}` when they are equal."""
    if not isinstance(live, dict) or not isinstance(new, dict):
        return new
    patch: JsonObj = {}
    for key in live:
        if key not in new:
            patch[key] = None
    for key, value in new.items():
        if key not in live:
            patch[key] = value
        elif live[key] != value:
            patch[key] = merge_patch(live[key], value) if isinstance(value, dict) and isinstance(live[key], dict) \
                else value
    return patch


class JsonPatchError(InputError, ValueError):
    """A JSON patch (RFC 6902) that cannot be applied; the message names the operation."""


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: `patch` applied to a copy of `target` (null removes a field)."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise JsonPatchError(f"path {path!r} must start with /")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def apply_json_patch(target: Any, operations: Any) -> Any:
    """RFC 6902 add, remove, replace and test on a copy of `target`."""
    import copy

    if not isinstance(operations, list):
        raise JsonPatchError("a JSON patch is a list of operations")
    doc = copy.deepcopy(target)
    for index, op in enumerate(operations):
        if not isinstance(op, dict) or op.get("op") not in ("add", "remove", "replace", "test"):
            raise JsonPatchError(f"operation {index}: op must be add, remove, replace or test")
        parts = _pointer(str(op.get("path", "")))
        if not parts:
            raise JsonPatchError(f"operation {index}: the whole document cannot be {op['op']}ed here")
        parent = doc
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent.get(part) if isinstance(
                parent, dict) else None
            if parent is None:
                raise JsonPatchError(f"operation {index}: path {op['path']} does not exist")
        last = parts[-1]
        kind = op["op"]
        if isinstance(parent, list):
            position = len(parent) if last == "-" else int(last)
            if kind == "add":
                parent.insert(position, op.get("value"))
            elif kind == "remove":
                parent.pop(position)
            elif kind == "replace":
                parent[position] = op.get("value")
            elif parent[position] != op.get("value"):
                raise JsonPatchError(f"operation {index}: test of {op['path']} failed")
            continue
        if not isinstance(parent, dict):
            raise JsonPatchError(f"operation {index}: path {op['path']} does not exist")
        if kind in ("remove", "replace", "test") and last not in parent:
            raise JsonPatchError(f"operation {index}: path {op['path']} does not exist")
        if kind == "test" and parent[last] != op.get("value"):
            raise JsonPatchError(f"operation {index}: test of {op['path']} failed")
        if kind == "remove":
            del parent[last]
        elif kind in ("add", "replace"):
            parent[last] = op.get("value")
    return doc
