"""Directory sources: the YAML, JSON and Jsonnet files of a folder, as Argo CD reads them.

No false green: a directory that yields no object while it holds files nothing read
(`.libsonnet` only, manifests in subfolders without `recurse`, a chart's templates, ...)
is an error naming them, so an app never shows Synced for a deployment of nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

from reconciler.core.globs import GlobError, compile_glob
from reconciler.model import DirectorySource
from reconciler.source.render.errors import RenderError
from reconciler.source.render.jsonnet import JSONNET_SUFFIX, render_jsonnet_file
from reconciler.source.render.manifests import Manifest
from reconciler.source.render.parsing import parse_manifest_files
from reconciler.source.render.paths import relative_name, safe_join

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json", JSONNET_SUFFIX)
# Files that describe a repository to people, never objects for a cluster.
_DOCUMENTATION_SUFFIXES = (".md", ".txt", ".rst", ".adoc")
_DOCUMENTATION_NAMES = ("readme", "license", "licence", "owners", "codeowners", "notice", "authors", "changelog")
_SHOWN_FILES = 8


def render_directory(tree: Path, source_dir: Path, options: DirectorySource | None) -> list[Manifest]:
    """Objects of every manifest file under `source_dir`, in file-name then document order."""
    options = options or DirectorySource()
    manifests: list[Manifest] = []
    pending: list[Path] = []  # YAML and JSON files, parsed together in the render sandbox
    for relative in select_files(source_dir, options):
        path = source_dir / relative
        # A symlinked file may point anywhere; read it only when it stays in the repository.
        safe_join(tree, relative, field="manifest file", base=source_dir)
        if relative.endswith(JSONNET_SUFFIX):
            manifests.extend(parse_manifest_files(tree, pending))
            pending = []
            manifests.extend(render_jsonnet_file(tree, path, options.jsonnet))
            continue
        pending.append(path)
    manifests.extend(parse_manifest_files(tree, pending))
    if not manifests:
        _refuse_unread_files(tree, source_dir, options)
    return manifests


def _refuse_unread_files(tree: Path, source_dir: Path, options: DirectorySource) -> None:
    """Raise when the folder (subfolders included) holds files that no renderer read."""
    selected = set(select_files(source_dir, options))
    unread: list[str] = []
    for current, dirs, files in os.walk(source_dir, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        base = Path(current).relative_to(source_dir)
        for name in sorted(files):
            relative = (base / name).as_posix()
            if relative not in selected and not name.startswith(".") and not _is_documentation(name):
                unread.append(relative)
    if not unread:
        return
    more = len(unread) - _SHOWN_FILES
    shown = ", ".join(unread[:_SHOWN_FILES]) + (f" and {more} more" if more > 0 else "")
    raise RenderError(
        f"renders no objects, but holds files no renderer read: {shown}. "
        "A Jsonnet library (.libsonnet) is only read through an import from a .jsonnet file; "
        "manifests in subfolders need spec.source.directory.recurse: true; a Helm chart needs its "
        "Chart.yaml in the source path; check directory.include/exclude",
        file=relative_name(tree, source_dir),
    )


def _is_documentation(name: str) -> bool:
    lower = name.lower()
    return lower.endswith(_DOCUMENTATION_SUFFIXES) or lower.split(".")[0] in _DOCUMENTATION_NAMES


def select_files(source_dir: Path, options: DirectorySource) -> list[str]:
    """Relative POSIX paths of the manifest files to read, sorted.

    Subfolders are read only with `recurse`; hidden folders (.git, .github) never.
    Include/exclude globs match the path relative to `source_dir`.
    """
    selected: list[str] = []
    for current, dirs, files in os.walk(source_dir, followlinks=False):
        dirs[:] = [d for d in dirs if options.recurse and not d.startswith(".")]
        base = Path(current).relative_to(source_dir)
        for name in files:
            if not name.endswith(MANIFEST_SUFFIXES):
                continue
            relative = (base / name).as_posix()
            if options.exclude and _matches(options.exclude, relative, "spec.source.directory.exclude"):
                continue
            if options.include and not _matches(options.include, relative, "spec.source.directory.include"):
                continue
            selected.append(relative)
    return sorted(selected)


def _matches(pattern: str, relative: str, field: str) -> bool:
    """Argo CD's glob over the whole relative path; a pattern it cannot read is an error naming
    the field (Argo CD would log it and match nothing)."""
    try:
        return compile_glob(pattern).fullmatch(relative) is not None
    except GlobError as error:
        raise RenderError(f"{field}: {error}") from None
