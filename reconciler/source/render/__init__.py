"""Rendering: an Application's source at one commit -> the objects it asks for.

`render(app, tree)` picks the tool (Helm, Kustomize or plain directory, explicit or
detected like Argo CD), renders, then settles namespaces and adds tracking marks.
Pure apart from reading `tree` (and running kustomize): same input, same output,
so callers may cache by (repo, commit, path, `source_fingerprint(app)`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.model import Application
from reconciler.model.resources import ResourceKey
from reconciler.source.render.build_env import build_environment, with_build_environment
from reconciler.source.render.capabilities import Capabilities
from reconciler.source.render.directory import render_directory
from reconciler.source.render.errors import RenderError
from reconciler.source.render.kustomize import find_kustomization, render_kustomize
from reconciler.source.render.limits import check_objects_size
from reconciler.source.render.manifests import Manifest
from reconciler.source.render.paths import check_symlinks_inside, relative_name, safe_join
from reconciler.source.render.tracking import default_namespace, mark_tracked

if TYPE_CHECKING:
    from reconciler.source.helm import ChartRepositories

__all__ = [
    "RENDERER_VERSION",
    "Capabilities",
    "RenderError",
    "detect_tool",
    "render",
    "render_manifests",
    "render_sources",
    "source_fingerprint",
]

# Bump when a change here changes output for the same input, to invalidate caches.
RENDERER_VERSION = 3


def render(
    app: Application,
    tree: Path,
    cluster_scoped: Collection[tuple[str, str]] | None = None,
    *,
    charts: ChartRepositories | None = None,
    capabilities: Capabilities | None = None,
    refs: Mapping[str, Path] | None = None,
    revision: str = "",
    allow_repo: Callable[[str], str] | None = None,
) -> list[dict[str, Any]]:
    """The desired objects of `app` from the repository snapshot at `tree` (for a
    `spec.source.chart` source: the folder its chart archive was expanded into).

    `cluster_scoped` adds (group, kind) pairs known from discovery to the built-in
    table of cluster-scoped kinds; `charts` fetches Helm chart dependencies, from the
    repositories `allow_repo(url)` has no objection to (the project's sourceRepos);
    `capabilities` are the destination's, for Helm; `refs` the trees of a multi-source
    app's `ref` sources; `revision` the commit (or chart version) `tree` holds, for the
    build environment ($ARGOCD_APP_REVISION). Raises RenderError; never returns a partial list.
    """
    manifests = render_manifests(
        app, tree, charts=charts, capabilities=capabilities, refs=refs, revision=revision, allow_repo=allow_repo
    )
    return _settle(app, manifests, cluster_scoped)


def render_manifests(
    app: Application,
    tree: Path,
    *,
    charts: ChartRepositories | None = None,
    capabilities: Capabilities | None = None,
    refs: Mapping[str, Path] | None = None,
    revision: str = "",
    allow_repo: Callable[[str], str] | None = None,
) -> list[Manifest]:
    """The manifests of `app.source` as its tool renders them, before namespaces and tracking,
    with Argo CD's build environment substituted in the options it applies to (build_env.py)."""
    tree = Path(tree)
    environment = build_environment(app, app.source, revision, capabilities)
    app = dataclasses.replace(app, source=with_build_environment(app.source, environment, (refs or {}).keys()))
    if app.source.chart:
        source_dir = _expanded_chart(tree, app.source.chart)
    else:
        source_dir = safe_join(tree, app.source.path, field="spec.source.path")
    if not source_dir.is_dir():
        raise RenderError(
            f"spec.source.path {app.source.path!r} is not a directory at this revision: "
            "fix the path or the targetRevision"
        )
    check_symlinks_inside(tree, source_dir)
    tool = "Helm" if app.source.chart else detect_tool(app, source_dir)
    return _render_with_tool(tool, app, tree, source_dir, charts, capabilities, refs, allow_repo)


def render_sources(
    app: Application, parts: list[list[Manifest]], cluster_scoped: Collection[tuple[str, str]] | None = None
) -> list[dict[str, Any]]:
    """The desired objects of a multi-source app from each rendering source's manifests: one
    set, namespaces settled and tracked, an object defined by two sources refused."""
    return _settle(app, [manifest for part in parts for manifest in part], cluster_scoped)


def _settle(
    app: Application, manifests: list[Manifest], cluster_scoped: Collection[tuple[str, str]] | None
) -> list[dict[str, Any]]:
    namespace = app.destination.namespace
    # Kinds of CRDs rendered here may not be served yet: their scope comes from the CRD itself.
    extra = frozenset(cluster_scoped or ()) | _cluster_scoped_crd_kinds(m.obj for m in manifests)
    settled = [dataclasses.replace(m, obj=default_namespace(m.obj, namespace, extra)) for m in manifests]
    _reject_duplicates(settled)
    objects = [mark_tracked(m.obj, app.name) for m in settled]
    check_objects_size(objects)
    return objects


def _cluster_scoped_crd_kinds(objects: Iterable[dict[str, Any]]) -> frozenset[tuple[str, str]]:
    found = set()
    for obj in objects:
        if obj.get("kind") != "CustomResourceDefinition" or not str(obj.get("apiVersion", "")).startswith(
            "apiextensions.k8s.io/"
        ):
            continue
        spec = obj.get("spec") or {}
        if isinstance(spec, dict) and spec.get("scope") == "Cluster":
            kind = (spec.get("names") or {}).get("kind")
            if spec.get("group") and kind:
                found.add((str(spec["group"]), str(kind)))
    return frozenset(found)


def detect_tool(app: Application, source_dir: Path) -> str:
    """`Helm`, `Kustomize` or `Directory`: the spec's choice, else Argo CD's detection."""
    if app.source.kind:
        return app.source.kind
    if (source_dir / "Chart.yaml").is_file():
        return "Helm"
    if find_kustomization(source_dir) is not None:
        return "Kustomize"
    return "Directory"


def _expanded_chart(tree: Path, chart: str) -> Path:
    folders = [entry for entry in sorted(tree.iterdir()) if entry.is_dir()]
    if len(folders) != 1:
        raise RenderError(f"spec.source.chart {chart!r}: the chart archive does not hold exactly one chart")
    return folders[0]


def source_fingerprint(app: Application, capabilities: Capabilities | None = None) -> str:
    """sha256 of everything besides the tree that shapes the output: a cache key part."""
    canonical = json.dumps(
        {
            "renderer": RENDERER_VERSION,
            # With the revision (the key's other part) and the capabilities, everything the build
            # environment ($ARGOCD_APP_*, $KUBE_*) is made of.
            "app": app.name,
            "namespace": app.destination.namespace,
            "project": app.project,
            "source": dataclasses.asdict(app.source),
            "sources": [dataclasses.asdict(source) for source in app.sources],
            "capabilities": dataclasses.asdict(capabilities) if capabilities else None,
        },
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _render_with_tool(
    tool: str,
    app: Application,
    tree: Path,
    source_dir: Path,
    charts: ChartRepositories | None,
    capabilities: Capabilities | None,
    refs: Mapping[str, Path] | None,
    allow_repo: Callable[[str], str] | None,
) -> list[Manifest]:
    if tool == "Helm":
        from reconciler.source.render.helm import render_helm

        if not (source_dir / "Chart.yaml").is_file():
            raise RenderError(
                "spec.source.helm is set but there is no Chart.yaml here: point spec.source.path at a chart",
                file=relative_name(tree, source_dir),
            )
        return render_helm(
            tree,
            source_dir,
            app.source.helm,
            release_name=app.name,
            namespace=app.destination.namespace,
            charts=charts,
            capabilities=capabilities,
            refs=refs,
            allow_repo=allow_repo,
        )
    if tool == "Kustomize":
        return render_kustomize(tree, source_dir, app.source.kustomize)
    return render_directory(tree, source_dir, app.source.directory)


def _reject_duplicates(manifests: list[Manifest]) -> None:
    seen: dict[ResourceKey, Manifest] = {}
    for manifest in manifests:
        metadata = manifest.obj.get("metadata") or {}
        if not metadata.get("name"):
            continue  # generateName objects get their name from the server
        key = ResourceKey.of(manifest.obj)
        if key in seen:
            first = seen[key]
            raise RenderError(
                f"{key} is defined twice: in {first.where()} and in {manifest.where()}; remove one",
                file=manifest.file,
                line=manifest.line,
            )
        seen[key] = manifest
