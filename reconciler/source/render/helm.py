"""Helm sources, the worker's side: dependencies fetched here, `helm template` in a sandbox.

The chart's templates run in a sandbox process (helm_engine.py, under the render limits), so
a template that allocates or loops without end stops that process with a RenderError naming
the limit and the chart, and never the worker or the API. Chart dependencies are fetched
here (helm_dependencies.py), through the outbound guard and the project's sourceRepos.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.model import HelmSource
from reconciler.source.render.capabilities import Capabilities
from reconciler.source.render.helm_dependencies import with_dependencies
from reconciler.source.render.helm_engine import template_chart
from reconciler.source.render.manifests import Manifest
from reconciler.source.render.paths import relative_name
from reconciler.source.render.sandboxed import from_rows, run_render

if TYPE_CHECKING:
    from reconciler.source.helm import ChartRepositories


def render_helm(
    tree: Path,
    chart_dir: Path,
    options: HelmSource | None,
    *,
    release_name: str,
    namespace: str,
    charts: ChartRepositories | None = None,
    capabilities: Capabilities | None = None,
    refs: Mapping[str, Path] | None = None,
    allow_repo: Callable[[str, str], None] | None = None,
) -> list[Manifest]:
    """Objects of the chart at `chart_dir` (its dependencies fetched first), CRDs included
    unless skipCrds, test hooks left out. `.Capabilities` are the spec's kubeVersion and
    apiVersions, else `capabilities` (the destination cluster's). `allow_repo(url, field)`
    raises when the app's project may not fetch from a dependency's repository."""
    options = options or HelmSource()
    chart_file = relative_name(tree, chart_dir)
    with tempfile.TemporaryDirectory(prefix="reconciler-helm-") as scratch:
        chart_path = with_dependencies(tree, chart_dir, charts, Path(scratch), allow_repo=allow_repo)
        rows = run_render(
            template_chart,
            (tree, chart_dir, chart_path, options, release_name, namespace, capabilities or Capabilities(), refs,
             Path(scratch)),
            tool="helm template",
            origin=chart_file,
        )  # fmt: skip
    return from_rows(rows)
