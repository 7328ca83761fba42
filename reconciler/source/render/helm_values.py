"""Composing Helm values the way `helm template -f ... --set ...` does, as plain data.

Kept apart from helm.py so the merge rules are testable without the Helm engine.
"""

from __future__ import annotations

import copy
from typing import Any


def merge_values_file(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Helm's rule for successive `-f` files: maps merge deeply, later wins, lists and
    scalars are replaced. A null is kept, so that Helm deletes that key from the
    chart's defaults when it coalesces."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_values_file(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def merge_set(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Helm's rule for `--set`: like a values file, except that an indexed list
    (`a[1]=x`) changes that element and keeps the others."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        merged[key] = _set_into(merged.get(key), value)
    return merged


def _set_into(current: Any, value: Any) -> Any:
    if isinstance(value, dict) and isinstance(current, dict):
        return merge_set(current, value)
    if isinstance(value, list) and isinstance(current, list):
        result = copy.deepcopy(current)
        for index, element in enumerate(value):
            if index >= len(result):
                result.append(copy.deepcopy(element))
            elif element is not None:
                # Helm's parser pads a list with nulls up to the index it sets.
                result[index] = _set_into(result[index], element)
        return result
    return copy.deepcopy(value)


def set_expression(name: str, value: str) -> str:
    """`name=value` for Helm's --set parser, with commas in the value taken literally.

    Argo CD escapes commas so `a=x,y` sets one string, except in `{a,b}` list syntax.
    """
    if not (value.startswith("{") and value.endswith("}")):
        value = _escape_commas(value)
    return f"{_escape_commas(name)}={value}"


def _escape_commas(text: str) -> str:
    out: list[str] = []
    previous = ""
    for char in text:
        out.append("\\," if char == "," and previous != "\\" else char)
        previous = char
    return "".join(out)
