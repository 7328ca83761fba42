"""`ignoreDifferences`: remove the fields a user told us not to compare, from both sides.

Rules follow Argo CD's `ResourceIgnoreDifferences`: group and kind are globs (fnmatch,
case-sensitive; "" is the core group), name and namespace match exactly when set.
Each matching rule removes, from desired and live alike:

- `jsonPointers`: RFC 6901 paths (`~1` is `/`, `~0` is `~`, digits index lists). A
  pointer that does not resolve on a side is skipped silently, as in Argo CD, because
  the same rule is usually written for a whole kind whose objects differ in shape.
- `jqPathExpressions`: evaluated as `del(<expr>)` with the `jq` package. An expression
  that fails at runtime on an object (e.g. iterating a field it lacks) leaves that
  object unchanged; one that does not compile raises `IgnoreRuleError`, since that is
  a mistake in the Application the user must fix.
- `managedFieldsManagers`: every field the named managers own per the LIVE object's
  `metadata.managedFields` (FieldsV1: `f:` fields, `k:` list-map items, `v:` set
  items, `i:` indexes). The live object is the only record of ownership, so its
  managedFields drive the removal on both sides.

Functions never mutate their inputs.
"""

from __future__ import annotations

import copy
import fnmatch
import json
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

import jq

from reconciler.core.errors import InputError
from reconciler.model import ResourceIgnoreDifferences
from reconciler.model.resources import ResourceKey

JsonObj = dict[str, Any]


class IgnoreRuleError(InputError, ValueError):
    """An ignoreDifferences rule that cannot be applied as written."""


def rule_matches(rule: ResourceIgnoreDifferences, key: ResourceKey) -> bool:
    """True when `rule` applies to the object identified by `key`."""
    if not fnmatch.fnmatchcase(key.group, rule.group or ""):
        return False
    if not fnmatch.fnmatchcase(key.kind, rule.kind or ""):
        return False
    if rule.name and rule.name != key.name:
        return False
    return not (rule.namespace and rule.namespace != key.namespace)


def apply_ignore_differences(
    key: ResourceKey,
    desired: JsonObj | None,
    live: JsonObj | None,
    rules: Sequence[ResourceIgnoreDifferences],
) -> tuple[JsonObj | None, JsonObj | None]:
    """Copies of `desired` and `live` without the fields the matching rules ignore.

    `live` must still carry `metadata.managedFields` for `managedFieldsManagers` to work.
    """
    matching = [rule for rule in rules if rule_matches(rule, key)]
    if not matching:
        return desired, live
    managers = {m for rule in matching for m in rule.managed_fields_managers}
    owned = _owned_field_sets(live, managers) if live is not None and managers else []
    pointers = [p for rule in matching for p in rule.json_pointers]
    expressions = [e for rule in matching for e in rule.jq_path_expressions]

    def strip(obj: JsonObj | None) -> JsonObj | None:
        if obj is None:
            return None
        result = copy.deepcopy(obj)
        for fields in owned:
            remove_managed_fields(result, fields)
        for pointer in pointers:
            remove_json_pointer(result, pointer)
        for expression in expressions:
            result = remove_jq_paths(result, expression)
        return result

    return strip(desired), strip(live)


# --- JSON pointers ---------------------------------------------------------------


def parse_json_pointer(pointer: str) -> list[str]:
    """RFC 6901 reference tokens of `pointer`; "" is the whole document."""
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise IgnoreRuleError(
            f"ignoreDifferences jsonPointers entry {pointer!r} must start with '/' (RFC 6901), e.g. /spec/replicas"
        )
    # Order matters: ~1 first would turn "~01" into "/" instead of "~1".
    return [token.replace("~1", "/").replace("~0", "~") for token in pointer[1:].split("/")]


def remove_json_pointer(obj: JsonObj, pointer: str) -> None:
    """Delete the value at `pointer` from `obj` in place; no-op when it does not resolve."""
    tokens = parse_json_pointer(pointer)
    if not tokens:
        # Ignoring the whole document means nothing is left to compare.
        obj.clear()
        return
    parent: Any = obj
    for token in tokens[:-1]:
        parent = _child(parent, token)
        if parent is None:
            return
    last = tokens[-1]
    if isinstance(parent, dict):
        parent.pop(last, None)
    elif isinstance(parent, list):
        index = _list_index(last, len(parent))
        if index is not None:
            del parent[index]


def _child(node: Any, token: str) -> Any:
    if isinstance(node, dict):
        return node.get(token)
    if isinstance(node, list):
        index = _list_index(token, len(node))
        return node[index] if index is not None else None
    return None


def _list_index(token: str, length: int) -> int | None:
    # RFC 6901: decimal without leading zeros; "-" (past the end) never resolves here.
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        return None
    index = int(token)
    return index if index < length else None


# --- jq path expressions -----------------------------------------------------------


@lru_cache(maxsize=256)
def _compile_deletion(expression: str) -> Any:
    try:
        return jq.compile(f"del({expression})")
    except ValueError as err:
        first_line = str(err).splitlines()[0] if str(err) else "syntax error"
        raise IgnoreRuleError(
            f"ignoreDifferences jqPathExpressions entry {expression!r} is not a valid jq path "
            f"expression ({first_line}); write a path such as .spec.replicas"
        ) from None


def remove_jq_paths(obj: JsonObj, expression: str) -> JsonObj:
    """`obj` without the paths `expression` selects; unchanged when jq fails on it."""
    program = _compile_deletion(expression)
    try:
        result = program.input_value(obj).first()
    except ValueError:
        # A runtime error means the paths do not exist on this object (Argo CD skips too).
        return obj
    return result if isinstance(result, dict) else obj


# --- managed fields (FieldsV1) -------------------------------------------------------


def _owned_field_sets(live: JsonObj, managers: set[str]) -> list[JsonObj]:
    entries = (live.get("metadata") or {}).get("managedFields") or []
    return [
        entry["fieldsV1"]
        for entry in entries
        if isinstance(entry, dict) and entry.get("manager") in managers and isinstance(entry.get("fieldsV1"), dict)
    ]


def remove_managed_fields(obj: Any, fields: JsonObj) -> None:
    """Delete from `obj` (in place) every field a FieldsV1 set lists.

    A node that is owned itself (`"."`) and has no owned children is deleted whole;
    a node with owned children only loses those children, so a map shared with other
    managers (labels, annotations) keeps their entries.
    """
    for path_element, subfields in fields.items():
        if path_element == ".":
            continue
        children = subfields if isinstance(subfields, dict) else {}
        if isinstance(obj, dict) and path_element.startswith("f:"):
            name = path_element[2:]
            if name in obj:
                _remove_or_descend(obj, name, children)
        elif isinstance(obj, list):
            for index in _matching_indexes(obj, path_element):
                _remove_or_descend(obj, index, children)
    _drop_removed(obj)


def _remove_or_descend(container: Any, slot: Any, children: JsonObj) -> None:
    owned_children = {k: v for k, v in children.items() if k != "."}
    if not owned_children:
        container[slot] = _REMOVED
    else:
        remove_managed_fields(container[slot], owned_children)
        if "." in children and container[slot] in ({}, []):
            container[slot] = _REMOVED


class _Removed:
    """Placeholder so list deletions do not shift indexes mid-walk."""


_REMOVED = _Removed()


def _drop_removed(container: Any) -> None:
    if isinstance(container, dict):
        for name in [k for k, v in container.items() if v is _REMOVED]:
            del container[name]
    elif isinstance(container, list):
        container[:] = [item for item in container if item is not _REMOVED]


def _matching_indexes(items: list[Any], path_element: str) -> Iterable[int]:
    prefix, _, raw = path_element.partition(":")
    if prefix == "k":
        try:
            wanted = json.loads(raw)
        except json.JSONDecodeError:
            return []
        if not isinstance(wanted, dict):
            return []
        return [
            i
            for i, item in enumerate(items)
            if isinstance(item, dict) and all(item.get(k) == v for k, v in wanted.items())
        ]
    if prefix == "v":
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            return []
        return [i for i, item in enumerate(items) if item == value]
    if prefix == "i" and raw.isdigit() and int(raw) < len(items):
        return [int(raw)]
    return []
