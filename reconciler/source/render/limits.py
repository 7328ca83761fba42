"""Limits every render runs under, whatever the tool: memory, CPU, time, output size, YAML nodes.

A repository is input from whoever can push to it. Without limits a small file (a YAML
"billion laughs" of nested anchors, a Helm template or Jsonnet file that allocates or loops
without end, a Kustomize tree that multiplies its objects) takes a worker's memory or pins
it for minutes while every other app waits. So:
- every tool runs out of this process: Helm's and Jsonnet's Go engines in a sandbox process
  (sandboxed.py, reconciler.core.sandbox), kustomize as a program (`run_tool`), each with a
  clean environment and the limits of `render_limits()`: RECONCILER_RENDER_MEMORY_LIMIT,
  RECONCILER_RENDER_CPU_SECONDS and RECONCILER_RENDER_TIMEOUT. A breach is a RenderError
  naming the limit, its setting and the file; the worker goes on;
- `run_tool` also caps the bytes a program may write, `check_text_size` what a tool
  rendered and `check_objects_size` what `render()` returns;
- manifests.py counts YAML nodes (aliases expanded) against MAX_DOCUMENT_NODES, the budget
  Application files get.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from reconciler.core.sandbox import CPU, MEMORY, LimitExceeded, Limits
from reconciler.core.sandbox.pool import clean_environment
from reconciler.source.render.errors import RenderError

MAX_RENDER_BYTES = 64 * 1024 * 1024
_STDERR_LIMIT = 2000
_SETTING = {
    MEMORY: "RECONCILER_RENDER_MEMORY_LIMIT",
    CPU: "RECONCILER_RENDER_CPU_SECONDS",
    "time": "RECONCILER_RENDER_TIMEOUT",
}
_cached: tuple[tuple[str, ...], Limits] | None = None


def render_limits() -> Limits:
    """The limits of one render, from the environment (read again when it changes)."""
    global _cached
    from reconciler.settings import Settings

    names = (*_SETTING.values(), "RECONCILER_TASK_TIME_LIMIT")
    raw = tuple(os.environ.get(name, "") for name in names)
    if _cached is None or _cached[0] != raw:
        memory, cpu, timeout = Settings.render_limits_from_env()
        _cached = (raw, Limits(memory_bytes=memory, cpu_seconds=cpu, timeout_seconds=timeout))
    return _cached[1]


def limit_message(tool: str, breach: LimitExceeded) -> str:
    """What a user reads when a render hit a limit: which, how much, and what to change."""
    setting = _SETTING.get(breach.limit, "")
    return (
        f"{tool} was stopped: it {breach.limits.describe(breach.limit)} (the limit of one render, "
        f"{setting}); fix the source so it renders within it, or raise {setting} if it really needs more"
    )


def _limit_child(max_bytes: int, limits: Limits) -> None:
    # In the child before exec (only setrlimit: no lock a thread could hold). Writing past
    # max_bytes gets SIGXFSZ, so output cannot fill the disk; RLIMIT_DATA holds the heap of a
    # Go program (RLIMIT_AS would trip on its address-space reservations), RLIMIT_CPU its CPU.
    cpu = int(limits.cpu_seconds) + 1
    for which, soft, hard in (
        (resource.RLIMIT_FSIZE, max_bytes + 1, max_bytes + 1),
        (resource.RLIMIT_DATA, limits.memory_bytes, limits.memory_bytes),
        (resource.RLIMIT_CPU, cpu, cpu + 1),
        (resource.RLIMIT_CORE, 0, 0),
    ):
        _, current = resource.getrlimit(which)  # a lower hard limit (a container's) stays
        ceiling = hard if current == resource.RLIM_INFINITY else min(hard, current)
        resource.setrlimit(which, (min(soft, ceiling), ceiling))


def run_tool(
    command: list[str], *, origin: str, tool: str,
    limits: Limits | None = None, max_bytes: int = MAX_RENDER_BYTES,
) -> str:  # fmt: skip
    """Stdout of `command`, run with a clean environment under `limits` (default:
    render_limits()) and refused (RenderError naming `origin`) past them or past `max_bytes`
    of output. Arguments are passed as a list: no shell ever parses them."""
    limits = limits or render_limits()
    with tempfile.TemporaryDirectory(prefix="reconciler-tool-") as home, \
            tempfile.TemporaryFile(prefix="reconciler-render-") as out, tempfile.TemporaryFile() as err:  # fmt: skip
        try:
            completed = subprocess.run(
                command, stdout=out, stderr=err, timeout=limits.timeout_seconds, check=False,
                env=clean_environment(home), preexec_fn=lambda: _limit_child(max_bytes, limits),
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise RenderError(limit_message(tool, LimitExceeded("time", limits)), file=origin) from None
        except OSError as exc:
            raise RenderError(f"cannot run {command[0]}: {exc.strerror}", file=origin) from None
        size = out.tell()
        if size > max_bytes or completed.returncode == -25:  # -SIGXFSZ: it tried to write more
            raise RenderError(f"{tool} wrote more than {max_bytes} bytes of manifests and was stopped", file=origin)
        out.seek(0)
        err.seek(0)
        message = err.read().decode(errors="replace").strip()
        if completed.returncode != 0:
            breach = _breach(completed.returncode, message, limits)
            if breach is not None:
                raise RenderError(limit_message(tool, breach), file=origin)
            raise RenderError(
                f"{tool} failed: {message[-_STDERR_LIMIT:] or f'exit status {completed.returncode}'}", file=origin
            )
        return out.read().decode(errors="replace")


def _breach(returncode: int, stderr: str, limits: Limits) -> LimitExceeded | None:
    """The limit a program that failed ran into, from its exit and the start of its stderr."""
    head = stderr[:_STDERR_LIMIT].lower()
    if "sigxcpu" in head or returncode in (-24, -9):  # a Go program says so; others die of SIGXCPU, then SIGKILL
        return LimitExceeded(CPU, limits)
    if "out of memory" in head or "cannot allocate memory" in head:
        return LimitExceeded(MEMORY, limits)
    return None


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
