"""What every generator reads: the set, its template engine, the registered clusters, the Git
source, and the SCM access of the pull-request and SCM-provider generators.

A generator raises GeneratorError naming itself (`spec.generators[0].git`) and the cause; the
caller then changes nothing at all (the error-holds-everything rule, reconcile.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.control.appsets.template import Engine, TemplateError
from reconciler.core.errors import ReconcilerError
from reconciler.model.appset_types import ApplicationSet


class GeneratorError(ReconcilerError):
    """A generator could not produce its parameters; nothing is changed for the set."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where


@dataclass(frozen=True)
class ClusterInfo:
    """A cluster as the cluster generator sees it."""

    name: str
    server: str
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    project: str = ""
    local: bool = False  # the in-cluster cluster without a Secret of its own


@dataclass
class GenerateContext:
    appset: ApplicationSet
    engine: Engine
    clusters: Callable[[], list[ClusterInfo]]
    # (repo URL, revision) -> the root directory of a read-only snapshot of that commit
    git_tree: Callable[[str, str], Any]
    scm: Any = None  # reconciler.control.appsets.scm.ScmAccess; None where no SCM generator may run
    requeue_after: list[float] = field(default_factory=list)  # each generator's wish, seconds
    pull_request_repos: list[str] = field(default_factory=list)  # for webhooks: repos whose PRs matter
    git_repos: list[str] = field(default_factory=list)  # for webhooks: repos whose pushes matter

    @property
    def go(self) -> bool:
        return self.appset.go_template


def append_values(ctx: GenerateContext, values: Any, params: dict[str, Any], where: str) -> None:
    """A generator's `values`, rendered with the generator's own parameters (Argo CD's
    appendTemplatedValues): `values.KEY` in the default mode, a `values` mapping with goTemplate."""
    if not values:
        return
    rendered: dict[str, str] = {}
    for key, value in values.items():
        try:
            rendered[str(key)] = ctx.engine.render_string(str(value), params, f"{where}.values.{key}")
        except TemplateError as exc:
            raise GeneratorError(where, str(exc)) from None
    if ctx.go:
        params["values"] = rendered
    else:
        params.update({f"values.{key}": value for key, value in rendered.items()})


def label_selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A Kubernetes label selector against string labels (values not restricted to label syntax,
    as Argo CD's generator selector allows URLs)."""
    if not selector:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(str(key)) != str(value):
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = str(expression.get("key", "")), expression.get("operator")
        values = [str(v) for v in expression.get("values") or []]
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def string_params(params: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """The string values of a parameter set; with goTemplate nested mappings are flattened to
    dotted keys first (so a selector can name `path.basename`)."""
    out: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, str):
            out[name] = value
        elif isinstance(value, dict):
            out.update(string_params(value, f"{name}."))
    return out
