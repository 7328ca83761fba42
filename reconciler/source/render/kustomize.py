"""Kustomize sources: `kustomize build` (or `kubectl kustomize`) run on the snapshot.

Argo CD applies `spec.source.kustomize` options with `kustomize edit` inside the
checkout; the snapshot here is read-only and shared, so the options go into a
temporary overlay whose only resource is the source directory.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml

from reconciler.model import KustomizeSource
from reconciler.source.render.errors import RenderError
from reconciler.source.render.limits import inside, run_tool
from reconciler.source.render.manifests import Manifest
from reconciler.source.render.parsing import parse_rendered_text
from reconciler.source.render.paths import relative_name, safe_join

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def find_kustomization(directory: Path) -> Path | None:
    for name in KUSTOMIZATION_FILES:
        if (directory / name).is_file():
            return directory / name
    return None


def kustomize_command() -> list[str] | None:
    """`kustomize build`, else `kubectl kustomize`, else None when neither is on PATH."""
    if binary := shutil.which("kustomize"):
        return [binary, "build"]
    if binary := shutil.which("kubectl"):
        return [binary, "kustomize"]
    return None


def render_kustomize(tree: Path, source_dir: Path, options: KustomizeSource | None) -> list[Manifest]:
    """Objects Kustomize builds from `source_dir`, with Argo CD's kustomize options applied."""
    directory = relative_name(tree, source_dir)
    command = kustomize_command()
    if command is None:
        raise RenderError(f"kustomize is not installed: put a kustomize binary on PATH to render {directory}")
    kustomization = find_kustomization(source_dir)
    origin = relative_name(tree, kustomization) if kustomization else directory
    settings = overlay_settings(options, tree, source_dir)
    if not settings:
        output = _build(command, source_dir, origin, tree)
    else:
        with tempfile.TemporaryDirectory(prefix="reconciler-kustomize-") as scratch:
            # Kustomize refuses absolute resource paths: point at the source relatively.
            source = Path(os.path.relpath(source_dir.resolve(), Path(scratch).resolve())).as_posix()
            overlay: dict[str, Any] = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"}
            components = settings.pop("components", [])
            if components:
                settings["components"] = [
                    Path(os.path.relpath(folder, Path(scratch).resolve())).as_posix() for folder in components
                ]
            overlay |= {"resources": [source], **settings}
            Path(scratch, "kustomization.yaml").write_text(yaml.safe_dump(overlay, sort_keys=False))
            output = _build(command, Path(scratch), origin, tree)
    return parse_rendered_text(output, tool="kustomize", origin=origin)


def overlay_settings(
    options: KustomizeSource | None, tree: Path | None = None, source_dir: Path | None = None
) -> dict[str, Any]:
    """Kustomization fields that apply Argo CD's `kustomize` options; empty when none are set.

    Argo CD runs `kustomize edit` in the source folder; an overlay gives the same result, with
    one difference: its labels and annotations always win over the source kustomization's,
    as Argo CD's forceCommonLabels / forceCommonAnnotations make them (without them Argo CD
    fails when a key is set twice). Patch files are read here (inside the repository only)
    and inlined; components are absolute folders the caller makes relative to the overlay.
    """
    if options is None:
        return {}
    settings: dict[str, Any] = {}
    if options.name_prefix:
        settings["namePrefix"] = options.name_prefix
    if options.name_suffix:
        settings["nameSuffix"] = options.name_suffix
    if options.namespace:
        settings["namespace"] = options.namespace
    if options.common_labels:
        pairs = dict(sorted(options.common_labels.items()))
        settings["labels"] = [{"pairs": pairs, "includeSelectors": not options.label_without_selector}]
    if options.common_annotations:
        settings["commonAnnotations"] = dict(sorted(options.common_annotations.items()))
    if options.images:
        settings["images"] = [parse_image_override(image) for image in options.images]
    if options.replicas:
        settings["replicas"] = [{"name": replica.name, "count": replica.count} for replica in options.replicas]
    if options.patches:
        patches = enumerate(options.patches)
        settings["patches"] = [_inline_patch(tree, source_dir, patch, index) for index, patch in patches]
    if options.components:
        if tree is None or source_dir is None:
            raise RenderError("spec.source.kustomize.components need the repository to resolve them")
        settings["components"] = [
            _component_folder(tree, source_dir, component, index) for index, component in enumerate(options.components)
        ]
    return settings


def _inline_patch(tree: Path | None, source_dir: Path | None, patch: dict[str, Any], index: int) -> dict[str, Any]:
    entry = {key: value for key, value in patch.items() if key != "path"}
    file = patch.get("path")
    if isinstance(file, str):
        if tree is None or source_dir is None:
            raise RenderError(f"spec.source.kustomize.patches[{index}].path needs the repository to read it")
        field = f"spec.source.kustomize.patches[{index}].path"
        resolved = safe_join(tree, file, field=field, base=source_dir, allow_parent=True)
        if not resolved.is_file():
            raise RenderError(f"{field}: patch file not found", file=relative_name(tree, resolved))
        entry["patch"] = resolved.read_text(encoding="utf-8-sig")
    return entry


def _component_folder(tree: Path, source_dir: Path, component: str, index: int) -> str:
    field = f"spec.source.kustomize.components[{index}]"
    resolved = safe_join(tree, component, field=field, base=source_dir, allow_parent=True)
    if find_kustomization(resolved) is None:
        raise RenderError(f"{field} {component!r} is not a folder holding a kustomization.yaml (kind: Component)")
    return str(resolved)


def parse_image_override(image: str) -> dict[str, str]:
    """Argo CD's `images` entry (`name[=newName][:tag][@digest]`) as a kustomize image."""
    name, equals, target = image.partition("=")
    reference = target if equals else image
    entry: dict[str, str] = {}
    reference, at, digest = reference.partition("@")
    if at:
        entry["digest"] = digest
    repository, tag = reference, ""
    if ":" in reference.rsplit("/", 1)[-1]:
        repository, _, tag = reference.rpartition(":")
    if tag:
        entry["newTag"] = tag
    if equals:
        entry["newName"] = repository
        return {"name": name, **entry}
    return {"name": repository, **entry}


def _build(command: list[str], directory: Path, origin: str, tree: Path) -> str:
    check_references(directory, tree)
    # Files only from inside each kustomization's root; no exec plugins, no Helm, no remote
    # bases (check_references), so a repository cannot read or run anything outside itself.
    # The render limits (memory, CPU, time) and a clean environment come with run_tool.
    return run_tool([*command, "--load-restrictor", "LoadRestrictionsRootOnly", "--", str(directory)],
                    origin=origin, tool="kustomize build")


# Fields of a kustomization that name other directories or files to load.
_REFERENCE_FIELDS = ("resources", "bases", "components", "crds", "patchesStrategicMerge")
_REMOTE_PREFIXES = ("git@", "github.com/", "gitlab.com/", "bitbucket.org/")
# Fields that run code or fetch from elsewhere: refused outright.
_REFUSED_FIELDS = ("helmCharts", "helmChartInflationGenerator", "generators", "transformers", "validators")


def check_references(directory: Path, tree: Path, seen: set[Path] | None = None) -> None:
    """Refuse remote bases, plugins and any directory outside the repository snapshot `tree`,
    in `directory`'s kustomization and every local kustomization it reaches. Kustomize's load
    restrictor keeps files inside each kustomization root, but lets a base be any directory."""
    seen = seen if seen is not None else set()
    directory = directory.resolve()
    if directory in seen:
        return
    seen.add(directory)
    kustomization = find_kustomization(directory)
    if kustomization is None:
        return
    root = tree.resolve()
    origin = relative_name(tree, kustomization) if inside(kustomization.resolve(), root) else "kustomization"
    try:
        doc = yaml.safe_load(kustomization.read_text()) or {}
    except (yaml.YAMLError, OSError, UnicodeDecodeError) as exc:
        raise RenderError(f"cannot read the kustomization: {exc}", file=origin) from None
    if not isinstance(doc, dict):
        raise RenderError("a kustomization must be a mapping", file=origin)
    for name in _REFUSED_FIELDS:
        if doc.get(name):
            raise RenderError(
                f"{name} is refused: Kustomize plugins and Helm inflation run code or fetch charts; "
                "render the chart with a Helm source instead",
                file=origin,
            )
    for name in _REFERENCE_FIELDS:
        entries = doc.get(name) or []
        if not isinstance(entries, list):
            continue
        for entry in entries:
            if not isinstance(entry, str):
                continue
            if "://" in entry or "?ref=" in entry or entry.startswith(_REMOTE_PREFIXES):
                raise RenderError(
                    f"{name} entry {entry!r} is a remote base, which is refused: vendor it into the repository",
                    file=origin,
                )
            target = (directory / entry).resolve()
            # (The one kustomization outside the tree is our own scratch overlay of the source.)
            if not inside(target, root) and inside(directory, root):
                raise RenderError(
                    f"{name} entry {entry!r} points outside the repository; keep every base inside it",
                    file=origin,
                )
            if target.is_dir():
                check_references(target, tree, seen)
