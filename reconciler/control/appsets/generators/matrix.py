"""The matrix generator: every parameter set of the first generator combined with every set of
the second, the second rendered with the first's parameters (so it can use `{{path}}`).

As Argo CD: a child that produces no parameters is an error (nothing changes), and in the
default mode a key both children set to different values is an error; with goTemplate the
first child's values win and nested mappings are merged.
"""

from __future__ import annotations

import copy
from typing import Any

from reconciler.control.appsets.context import GenerateContext, GeneratorError
from reconciler.control.appsets.generators import drop_nested_selectors, params_of


def deep_merge(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """mergo.Merge without override: keys of `first` stay, missing ones come from `second`."""
    out = copy.deepcopy(first)
    for key, value in second.items():
        if key not in out or out[key] in (None, "", {}, []):
            out[key] = copy.deepcopy(value)
        elif isinstance(out[key], dict) and isinstance(value, dict):
            out[key] = deep_merge(out[key], value)
    return out


def _combine_strings(first: dict[str, Any], second: dict[str, Any], where: str) -> dict[str, Any]:
    out = dict(first)
    for key, value in second.items():
        if key in out and out[key] != value:
            raise GeneratorError(where, f"found duplicate key {key} with different value, a: {out[key]} ,b: {value}")
        out[key] = value
    return out


def generate(ctx: GenerateContext, spec: dict[str, Any], where: str) -> list[dict[str, Any]]:
    children = [drop_nested_selectors(ctx, child) for child in spec["generators"]]
    result = params_of(ctx, children[0], f"{where}.generators[0]")
    if not result:
        raise GeneratorError(f"{where}.generators[0]", "child generator generated no parameters")
    for index in range(1, len(children)):
        combined = []
        for earlier in result:
            later = params_of(ctx, children[index], f"{where}.generators[{index}]", interpolate=earlier)
            if not later:
                raise GeneratorError(f"{where}.generators[{index}]", "child generator generated no parameters")
            for params in later:
                combined.append(deep_merge(earlier, params) if ctx.go else _combine_strings(earlier, params, where))
        result = combined
    return result
