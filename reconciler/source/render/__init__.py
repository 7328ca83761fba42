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
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

from reconciler.model import Application
from reconciler.model.resources import ResourceKey
from reconciler.source.render.directory import render_directory
from reconciler.source.render.errors import RenderError
from reconciler.source.render.kustomize import find_kustomization, render_kustomize
from reconciler.source.render.manifests import Manifest
from reconciler.source.render.paths import check_symlinks_inside, relative_name, safe_join
from reconciler.source.render.tracking import default_namespace, mark_tracked

__all__ = ["RENDERER_VERSION", "RenderError", "detect_tool", "render", "source_fingerprint"]

# Bump when a change here changes output for the same input, to invalidate caches.
RENDERER_VERSION = 2


def render(
    app: Application, tree: Path, cluster_scoped: Collection[tuple[str, str]] | None = None
) -> list[dict[str, Any]]:
    """The desired objects of `app` from the repository snapshot at `tree`.

    `cluster_scoped` adds (group, kind) pairs known from discovery to the built-in
    table of cluster-scoped kinds. Raises RenderError; never returns a partial list.
    """
    tree = Path(tree)
    if app.source.chart:
        raise RenderError(
            f"spec.source.chart {app.source.chart!r}: charts from Helm repositories are not supported; "
            "vendor the chart into the Git repository and set spec.source.path to its folder"
        )
    source_dir = safe_join(tree, app.source.path, field="spec.source.path")
    if not source_dir.is_dir():
        raise RenderError(
            f"spec.source.path {app.source.path!r} is not a directory at this revision: "
            "fix the path or the targetRevision"
        )
    check_symlinks_inside(tree, source_dir)
    manifests = _render_with_tool(detect_tool(app, source_dir), app, tree, source_dir)
    namespace = app.destination.namespace
    # Kinds of CRDs rendered here may not be served yet: their scope comes from the CRD itself.
    extra = frozenset(cluster_scoped or ()) | _cluster_scoped_crd_kinds(m.obj for m in manifests)
    settled = [dataclasses.replace(m, obj=default_namespace(m.obj, namespace, extra)) for m in manifests]
    _reject_duplicates(settled)
    return [mark_tracked(m.obj, app.name) for m in settled]


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


def source_fingerprint(app: Application) -> str:
    """sha256 of everything besides the tree that shapes the output: a cache key part."""
    canonical = json.dumps(
        {
            "renderer": RENDERER_VERSION,
            "app": app.name,
            "namespace": app.destination.namespace,
            "source": dataclasses.asdict(app.source),
        },
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _render_with_tool(tool: str, app: Application, tree: Path, source_dir: Path) -> list[Manifest]:
    if tool == "Helm":
        from reconciler.source.render.helm import render_helm  # loads a Go runtime: only when needed

        if not (source_dir / "Chart.yaml").is_file():
            raise RenderError(
                "spec.source.helm is set but there is no Chart.yaml here: point spec.source.path at a chart",
                file=relative_name(tree, source_dir),
            )
        return render_helm(
            tree, source_dir, app.source.helm, release_name=app.name, namespace=app.destination.namespace
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
