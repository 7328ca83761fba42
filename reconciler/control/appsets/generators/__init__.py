"""The generators, one module each, and what they share: a generator's spec is rendered with the
parameters of a matrix's earlier generator (when it has any), run, post-filtered by its
`selector`, and paired with its template (its own `template` over the set's, as Argo CD's
mergeGeneratorTemplate: a field the generator's template leaves empty comes from the set's).

    run(ctx, generator, where, base_template, interpolate=None) -> [(params, template), ...]
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from reconciler.control.appsets.context import GenerateContext, GeneratorError, label_selector_matches, string_params
from reconciler.control.appsets.template import TemplateError

Entry = tuple[dict[str, Any], dict[str, Any]]


def _kind(generator: dict[str, Any]) -> str:
    return next(key for key in generator if key != "selector")


def fill_template(own: Any, base: Any) -> Any:
    """`own` with every empty field filled from `base` (mergo.Merge without override)."""
    if not own:
        return copy.deepcopy(base)
    if isinstance(own, dict) and isinstance(base, dict):
        out = copy.deepcopy(own)
        for key, value in base.items():
            out[key] = fill_template(out.get(key), value)
        return out
    return copy.deepcopy(own)


def _generators() -> dict[str, Callable[[GenerateContext, dict[str, Any], str], list[dict[str, Any]]]]:
    from reconciler.control.appsets.generators import clusters, git, matrix, merge, pull_request, scm_provider
    from reconciler.control.appsets.generators import list as list_generator

    return {
        "list": list_generator.generate,
        "clusters": clusters.generate,
        "git": git.generate,
        "matrix": matrix.generate,
        "merge": merge.generate,
        "pullRequest": pull_request.generate,
        "scmProvider": scm_provider.generate,
    }


def run(
    ctx: GenerateContext,
    generator: dict[str, Any],
    where: str,
    base_template: dict[str, Any],
    interpolate: dict[str, Any] | None = None,
) -> list[Entry]:
    """The parameter sets of one generator, each with the template it renders."""
    kind = _kind(generator)
    body = generator.get(kind) or {}
    selector = generator.get("selector")
    if interpolate:
        try:
            body, selector = ctx.engine.render_trees(
                [body, selector or {}], [interpolate, interpolate], f"{where} rendered with the parameters of"
            )
        except TemplateError as exc:
            raise GeneratorError(where, str(exc)) from None
    template = fill_template(body.get("template"), base_template)
    params = _generators()[kind](ctx, body, f"{where}.{kind}")
    if selector:
        params = [p for p in params if label_selector_matches(selector, string_params(p))]
    return [(p, template) for p in params]


def params_of(
    ctx: GenerateContext, generator: dict[str, Any], where: str, interpolate: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """A child generator of a matrix or merge: its parameters only (its template is not used)."""
    return [params for params, _ in run(ctx, generator, where, {}, interpolate)]


def drop_nested_selectors(ctx: GenerateContext, generator: dict[str, Any]) -> dict[str, Any]:
    """Argo CD ignores the selectors of the generators inside a nested matrix or merge unless
    spec.applyNestedSelectors is true."""
    kind = _kind(generator)
    if ctx.appset.apply_nested_selectors or kind not in ("matrix", "merge"):
        return generator
    out = copy.deepcopy(generator)
    for child in out[kind].get("generators") or []:
        child.pop("selector", None)
    return out


__all__ = ["Entry", "GeneratorError", "drop_nested_selectors", "fill_template", "params_of", "run"]
