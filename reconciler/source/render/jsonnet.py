"""Jsonnet files of a directory source, evaluated with go-jsonnet (the `gojsonnet` wheel).

As Argo CD does: every `*.jsonnet` file the directory selects is evaluated with
`directory.jsonnet.extVars`, `tlas` (strings, or Jsonnet code with `code: true`) and
`libs` (import search folders relative to the repository root); its value is one object
or an array of objects. go-jsonnet was chosen over the C++ `jsonnet` wheel because it is
an order of magnitude faster here (bench/jsonnet_engines.py).

Imports go through our own callback, which reads only regular files inside the repository
snapshot: `import "../../etc/passwd"` or a symlink out of the repository is an error
naming the import, never a read.

Evaluation runs in the render sandbox (sandboxed.py): Jsonnet is a programming language, and
a file that recurses or allocates without end stops its sandbox process under the render
limits, with a RenderError naming the limit and the file, never the worker.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reconciler.model import JsonnetOptions
from reconciler.source.render.errors import RenderError
from reconciler.source.render.limits import check_text_size
from reconciler.source.render.manifests import Manifest, objects_of
from reconciler.source.render.paths import relative_name
from reconciler.source.render.sandboxed import from_rows, render_job, run_render, to_rows

JSONNET_SUFFIX = ".jsonnet"
LIBSONNET_SUFFIX = ".libsonnet"
MAX_STACK = 500


def render_jsonnet_file(tree: Path, path: Path, options: JsonnetOptions | None) -> list[Manifest]:
    """The objects the Jsonnet file at `path` evaluates to (evaluated in the render sandbox)."""
    file = relative_name(tree, path)
    rows = run_render(evaluate_file, (tree, path, options), tool="jsonnet evaluation", origin=file)
    return from_rows(rows)


def sandbox_warm_up() -> None:
    """In a new sandbox process: load go-jsonnet's Go runtime before the first job's limits are set."""
    import _gojsonnet  # noqa: F401


@render_job
def evaluate_file(tree: Path, path: Path, options: JsonnetOptions | None) -> list[list[Any]]:
    """In the sandbox: the manifests of one Jsonnet file, as sandboxed.to_rows."""
    import _gojsonnet  # a Go runtime: loaded in the sandbox process only

    options = options or JsonnetOptions()
    file = relative_name(tree, path)
    root = tree.resolve()
    search = [_lib_folder(root, lib, index) for index, lib in enumerate(options.libs)]

    refused: list[str] = []

    def import_callback(directory: str, name: str) -> tuple[str, bytes]:
        # A Python exception raised here reaches go-jsonnet's error text as freed memory (seen:
        # undecodable bytes), so a refusal is recorded and the import evaluates to an error.
        try:
            return _read_import(root, search, Path(directory), name)
        except RuntimeError as exc:
            refused.append(str(exc))
            return f"<refused import {len(refused)}>", b'error "import refused"'

    try:
        output = _gojsonnet.evaluate_file(
            str(path),
            max_stack=MAX_STACK,
            ext_vars={v.name: v.value for v in options.ext_vars if not v.code},
            ext_codes={v.name: v.value for v in options.ext_vars if v.code},
            tla_vars={v.name: v.value for v in options.tlas if not v.code},
            tla_codes={v.name: v.value for v in options.tlas if v.code},
            import_callback=import_callback,
        )
    except (RuntimeError, UnicodeDecodeError) as err:
        if refused:
            raise RenderError(refused[0], file=file) from None
        raise RenderError(f"jsonnet evaluation failed: {_short(str(err), root)}", file=file) from None
    if refused:  # an importstr of a refused file evaluates; the refusal still fails the render
        raise RenderError(refused[0], file=file)
    # Checked here, before the answer crosses into the worker: a string built to fill the memory
    # allowance would otherwise be copied and decoded there.
    check_text_size(len(output), tool="jsonnet evaluation", origin=file)
    value = json.loads(output)
    items: list[Any] = value if isinstance(value, list) else [value]
    manifests: list[Manifest] = []
    for number, item in enumerate(items, start=1):
        manifests.extend(objects_of(item, file, number, None))
    return to_rows(manifests)


def _lib_folder(root: Path, lib: str, index: int) -> Path:
    folder = (root / lib).resolve()
    if not folder.is_relative_to(root):
        raise RenderError(f"spec.source.directory.jsonnet.libs[{index}] {lib!r} leaves the repository")
    return folder


def _read_import(root: Path, search: list[Path], directory: Path, name: str) -> tuple[str, bytes]:
    """(path, content) of `import name` from a file in `directory`: the importing file's folder
    first, then each lib folder, as go-jsonnet's file importer does; only inside `root`."""
    if Path(name).is_absolute():
        raise RuntimeError(f"import {name!r}: absolute imports are not allowed; import a path inside the repository")
    for base in (directory, *search):
        candidate = (base / name).resolve()
        if not candidate.is_relative_to(root):
            raise RuntimeError(f"import {name!r} leaves the repository: import a file inside it")
        if candidate.is_file():
            return str(candidate), candidate.read_bytes()
    raise RuntimeError(f"import {name!r}: no such file next to the importing file or in jsonnet.libs")


def _short(message: str, root: Path) -> str:
    """go-jsonnet's message with absolute snapshot paths made repository-relative."""
    return message.replace(str(root) + "/", "").strip()[:2000]
