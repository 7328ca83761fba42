"""The list generator: `elements` (and `elementsYaml`, a YAML list in a string) as parameter sets."""

from __future__ import annotations

from typing import Any

import yaml

from reconciler.control.appsets.context import GenerateContext, GeneratorError


def generate(ctx: GenerateContext, spec: dict[str, Any], where: str) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    for index, element in enumerate(spec.get("elements") or []):
        params.append(dict(element) if ctx.go else _flat(element, f"{where}.elements[{index}]"))
    text = spec.get("elementsYaml") or ""
    if text:
        try:
            items = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise GeneratorError(f"{where}.elementsYaml", f"is not YAML: {exc}") from None
        if items is not None and (not isinstance(items, list) or not all(isinstance(i, dict) for i in items)):
            raise GeneratorError(f"{where}.elementsYaml", "must be a YAML list of mappings")
        # As Argo CD: the YAML's elements join `elements` and are read the same way.
        for index, item in enumerate(items or []):
            params.append(dict(item) if ctx.go else _flat(item, f"{where}.elementsYaml[{index}]"))
    return params


def _flat(element: dict[str, Any], where: str) -> dict[str, Any]:
    """Argo CD's default mode: every value a string; `values` a mapping of strings (values.KEY)."""
    out: dict[str, Any] = {}
    for key, value in element.items():
        if key == "values":
            if not isinstance(value, dict):
                raise GeneratorError(f"{where}.values", "must be a mapping of strings")
            for name, item in value.items():
                if not isinstance(item, str):
                    raise GeneratorError(
                        f"{where}.values.{name}", "must be a string (quote it), or use goTemplate: true"
                    )
                out[f"values.{name}"] = item
        elif isinstance(value, str):
            out[str(key)] = value
        else:
            raise GeneratorError(
                f"{where}.{key}", "must be a string (quote it), or use goTemplate: true for other values"
            )
    return out
