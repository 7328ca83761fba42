"""Directory sources: the YAML and JSON files of a folder, as Argo CD reads them."""

from __future__ import annotations

import os
from pathlib import Path

from reconciler.model import DirectorySource
from reconciler.source.render.errors import RenderError
from reconciler.source.render.globs import glob_match
from reconciler.source.render.manifests import Manifest, parse_json_document, parse_yaml_stream
from reconciler.source.render.paths import relative_name, safe_join

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


def render_directory(tree: Path, source_dir: Path, options: DirectorySource | None) -> list[Manifest]:
    """Objects of every manifest file under `source_dir`, in file-name then document order."""
    options = options or DirectorySource()
    manifests: list[Manifest] = []
    for relative in select_files(source_dir, options):
        path = source_dir / relative
        file = relative_name(tree, path)
        # A symlinked file may point anywhere; read it only when it stays in the repository.
        safe_join(tree, relative, field="manifest file", base=source_dir)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise RenderError("file is not UTF-8 text: re-encode it as UTF-8", file=file) from None
        except OSError as err:
            raise RenderError(f"cannot read file: {err.strerror}", file=file) from None
        if relative.endswith(".json"):
            manifests.extend(parse_json_document(text, file))
        else:
            manifests.extend(parse_yaml_stream(text, file))
    return manifests


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
            if options.exclude and glob_match(options.exclude, relative, field="spec.source.directory.exclude"):
                continue
            if options.include and not glob_match(options.include, relative, field="spec.source.directory.include"):
                continue
            selected.append(relative)
    return sorted(selected)
