"""How an action's result becomes a change: Argo CD's clean-up of what Lua cannot tell apart
(an empty table is an empty list to it, so `{}` fields come back as `[]`), and the JSON merge
patch (RFC 7386) from the live object to the result, which Argo CD sends."""

from __future__ import annotations

from typing import Any

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
