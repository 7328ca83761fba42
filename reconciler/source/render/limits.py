"""Limits every render runs under, whatever the tool: time, output size, YAML node count.

A repository is input from whoever can push to it. Without limits a small file (a YAML
"billion laughs" of nested anchors, a Kustomize or Helm source that expands without end)
pins a worker for minutes and every other app waits behind it. Renderers call these:
- `run_tool(command, origin=...)` runs an external renderer (kustomize, and any later one)
  with a wall-clock timeout and a cap on the bytes it may write;
- `check_text_size(text, tool, origin)` for in-process renderers (Helm's Go engine) and
  `check_objects_size(objects)` for what `render()` returns;
- manifests.py counts YAML nodes (aliases expanded) against MAX_DOCUMENT_NODES, the
  budget Application files get.
The time of an in-process render (Helm) cannot be cut short from Python: it is bounded by
the worker's hard task time limit (RECONCILER_TASK_TIME_LIMIT), which ends the process.
"""

from __future__ import annotations

import json
import resource
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from reconciler.source.render.errors import RenderError

RENDER_TIMEOUT_SECONDS = 120
MAX_RENDER_BYTES = 64 * 1024 * 1024
_STDERR_LIMIT = 2000


def _limit_file_size(max_bytes: int) -> None:
    # In the child before exec: writing past this gets SIGXFSZ, so output cannot fill the disk.
    resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes + 1, max_bytes + 1))


def run_tool(
    command: list[str], *, origin: str, tool: str,
    timeout: float = RENDER_TIMEOUT_SECONDS, max_bytes: int = MAX_RENDER_BYTES,
) -> str:  # fmt: skip
    """Stdout of `command`, refused (RenderError naming `origin`) past `timeout` seconds or
    past `max_bytes` of output. Arguments are passed as a list: no shell ever parses them."""
    with tempfile.TemporaryFile(prefix="reconciler-render-") as out, tempfile.TemporaryFile() as err:
        try:
            completed = subprocess.run(
                command, stdout=out, stderr=err, timeout=timeout, check=False,
                # Runs in the forked child before exec; it only calls setrlimit (no lock a thread could hold).
                preexec_fn=lambda: _limit_file_size(max_bytes),
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise RenderError(f"{tool} took longer than {timeout:g} s and was stopped", file=origin) from None
        except OSError as exc:
            raise RenderError(f"cannot run {command[0]}: {exc.strerror}", file=origin) from None
        size = out.tell()
        if size > max_bytes or completed.returncode == -25:  # -SIGXFSZ: it tried to write more
            raise RenderError(f"{tool} wrote more than {max_bytes} bytes of manifests and was stopped", file=origin)
        out.seek(0)
        err.seek(0)
        if completed.returncode != 0:
            message = err.read().decode(errors="replace").strip()[-_STDERR_LIMIT:]
            raise RenderError(f"{tool} failed: {message or f'exit status {completed.returncode}'}", file=origin)
        return out.read().decode(errors="replace")


def check_text_size(text_size: int, *, tool: str, origin: str, max_bytes: int = MAX_RENDER_BYTES) -> None:
    if text_size > max_bytes:
        raise RenderError(f"{tool} rendered more than {max_bytes} bytes of manifests; refused", file=origin)


def check_objects_size(objects: list[dict[str, Any]], max_bytes: int = MAX_RENDER_BYTES) -> None:
    size = sum(len(json.dumps(obj, separators=(",", ":"))) for obj in objects)
    if size > max_bytes:
        raise RenderError(
            f"the render is {size} bytes of objects, more than the limit of {max_bytes}: split the app"
        )


def inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents
