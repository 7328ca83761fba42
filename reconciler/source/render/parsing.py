"""A repository's YAML and JSON files, and the text kustomize wrote, parsed in the render sandbox.

Parsing is work whose size a Git writer chooses: a few kilobytes of git history unpack into a
manifest file of tens of megabytes (repeated documents compress to nearly nothing), and PyYAML
needs seconds per megabyte and many times the text in memory. Parsed in a worker, such a file
held the worker for minutes (then the task time limit killed it, and the poll was redelivered);
parsed here it is stopped by the render limits like a template is: a RenderError naming the
limit, its setting and the file.

    parse_manifest_files(tree, paths) -> [Manifest]   files of a directory source, in order
    parse_rendered_text(text, tool, origin) -> [Manifest]

Before anything is parsed the files' combined size is held to MAX_RENDER_BYTES (Argo CD holds
a directory's manifests to `reposerver.max.combined.directory.manifests.size`, 10M by default).
Up to IN_PROCESS_BYTES the text is parsed here: its cost is bounded by its size (aliases by
the node budget, nesting by libyaml's depth limit) to well under a second, and most apps are
that small, so they pay no round trip to a sandbox process (nor its start, seconds on a loaded
machine, in each new worker process).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reconciler.source.render.errors import RenderError
from reconciler.source.render.limits import MAX_RENDER_BYTES
from reconciler.source.render.manifests import Manifest, parse_json_document, parse_yaml_stream
from reconciler.source.render.paths import relative_name
from reconciler.source.render.sandboxed import from_rows, render_job, run_render, to_rows

_MEBIBYTE = 1024 * 1024
IN_PROCESS_BYTES = _MEBIBYTE


def parse_manifest_files(tree: Path, paths: list[Path], max_bytes: int = MAX_RENDER_BYTES) -> list[Manifest]:
    """The objects of the YAML and JSON files `paths` (inside `tree`, already checked), in order."""
    if not paths:
        return []
    named = [(path, relative_name(tree, path)) for path in paths]
    sizes = {file: _size(path, file) for path, file in named}
    total = sum(sizes.values())
    largest = max(sizes, key=lambda file: sizes[file])
    if total > max_bytes:
        raise RenderError(
            f"the manifest files of this source hold {total // _MEBIBYTE} MiB, more than the limit of "
            f"{max_bytes // _MEBIBYTE} MiB for one render (this file alone: {sizes[largest] // _MEBIBYTE} MiB): "
            "split the app, or generate the objects with a tool",
            file=largest,
        )
    jobs = [(str(path), file) for path, file in named]
    if total <= IN_PROCESS_BYTES:
        return from_rows(parse_files.__wrapped__(jobs))  # type: ignore[attr-defined]
    return from_rows(run_render(parse_files, (jobs,), tool="reading the manifests", origin=largest))


def parse_rendered_text(text: str, *, tool: str, origin: str) -> list[Manifest]:
    """The objects of a tool's YAML output (at most MAX_RENDER_BYTES, run_tool's cap)."""
    if len(text) <= IN_PROCESS_BYTES:
        return parse_yaml_stream(text, origin)
    return from_rows(run_render(parse_text, (text, origin), tool=f"reading {tool}'s output", origin=origin))


def _size(path: Path, file: str) -> int:
    try:
        return path.stat().st_size
    except OSError as err:
        raise RenderError(f"cannot read file: {err.strerror}", file=file) from None


@render_job
def parse_files(jobs: list[tuple[str, str]]) -> list[list[Any]]:
    """In the sandbox: the manifests of each (path, repository-relative name), as to_rows."""
    manifests: list[Manifest] = []
    for path, file in jobs:
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise RenderError("file is not UTF-8 text: re-encode it as UTF-8", file=file) from None
        except OSError as err:
            raise RenderError(f"cannot read file: {err.strerror}", file=file) from None
        if file.endswith(".json"):
            manifests.extend(parse_json_document(text, file))
        else:
            manifests.extend(parse_yaml_stream(text, file))
    return to_rows(manifests)


@render_job
def parse_text(text: str, file: str) -> list[list[Any]]:
    """In the sandbox: the manifests of one YAML stream, as to_rows."""
    return to_rows(parse_yaml_stream(text, file))
