"""The merge generator: the first generator's parameter sets are the base; a set of a later
generator whose `mergeKeys` values equal a base set's overrides that set's values (later
generators win). Sets of later generators that match no base set are dropped, as in Argo CD."""

from __future__ import annotations

import copy
import json
from typing import Any

from reconciler.control.appsets.context import GenerateContext, GeneratorError, string_params
from reconciler.control.appsets.generators import drop_nested_selectors, params_of


def _override(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """mergo.Merge with override: the update's values win, nested mappings merge."""
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(out.get(key), dict) and isinstance(value, dict):
            out[key] = _override(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _key_of(ctx: GenerateContext, params: dict[str, Any], keys: list[str]) -> str:
    values = params if not ctx.go else {**params, **string_params(params)}
    return json.dumps({key: values.get(key) for key in keys}, sort_keys=True, default=str)


def _by_key(
    ctx: GenerateContext, sets: list[dict[str, Any]], keys: list[str], where: str
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for params in sets:
        key = _key_of(ctx, params, keys)
        if key in out:
            raise GeneratorError(where, f"the merge keys {keys} are not unique: two parameter sets have {key}")
        out[key] = params
    return out


def generate(ctx: GenerateContext, spec: dict[str, Any], where: str) -> list[dict[str, Any]]:
    keys = list(spec["mergeKeys"])
    children = [drop_nested_selectors(ctx, child) for child in spec["generators"]]
    all_sets = [params_of(ctx, child, f"{where}.generators[{i}]") for i, child in enumerate(children)]
    base = _by_key(ctx, all_sets[0], keys, f"{where}.generators[0]")
    for index, sets in enumerate(all_sets[1:], start=1):
        overrides = _by_key(ctx, sets, keys, f"{where}.generators[{index}]")
        for key, params in base.items():
            if key in overrides:
                base[key] = _override(params, overrides[key])
    return list(base.values())
