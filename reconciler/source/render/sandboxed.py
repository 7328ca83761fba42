"""Renders that evaluate a repository's code (Helm templates, Jsonnet) run in a sandbox process.

Two halves, one per side of the process boundary:
- `render_job` marks a module-level function as a job: in the sandbox process it runs the
  function and hands back its value, or the RenderError it raised, as plain data;
- `run_render(job, args, tool=..., origin=...)` runs that job under `render_limits()` and
  gives its value, raising the job's RenderError as it was, or a RenderError naming the limit
  (memory, CPU, time) and `origin` when the sandbox stopped it.

Manifests cross the boundary as [file, document, line, object] rows (`to_rows`, `from_rows`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from reconciler.core.sandbox import JobFailed, LimitExceeded, run_untrusted
from reconciler.source.render.errors import RenderError
from reconciler.source.render.limits import limit_message, render_limits
from reconciler.source.render.manifests import Manifest

_ERROR = "renderError"


def render_job(fn: Callable[..., Any]) -> Callable[..., dict[str, Any]]:
    """`fn` as a sandbox job: {"value": ...} or {"renderError": {message, file, line}}."""

    @functools.wraps(fn)
    def job(*args: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            return {"value": fn(*args, **kwargs)}
        except RenderError as err:
            return {_ERROR: {"message": err.message, "file": err.file, "line": err.line}}

    return job


def run_render(job: Callable[..., dict[str, Any]], args: tuple[Any, ...], *, tool: str, origin: str) -> Any:
    """The value of `job(*args)` run in a sandbox process under the render limits."""
    try:
        answer = run_untrusted(job, args, render_limits())
    except LimitExceeded as breach:
        raise RenderError(limit_message(tool, breach), file=origin) from None
    except JobFailed as exc:
        raise RenderError(f"{tool} failed: {exc}", file=origin) from None
    if _ERROR in answer:
        error = answer[_ERROR]
        raise RenderError(str(error["message"]), file=error.get("file"), line=error.get("line"))
    return answer["value"]


def to_rows(manifests: list[Manifest]) -> list[list[Any]]:
    return [[m.file, m.document, m.line, m.obj] for m in manifests]


def from_rows(rows: list[list[Any]]) -> list[Manifest]:
    return [Manifest(file=str(file), document=int(document), line=line, obj=obj) for file, document, line, obj in rows]
