"""Many Go templates rendered in one call of Helm's engine, in a sandbox process.

A tiny chart holds one template that ranges over the jobs and runs each job's text with
Helm's `tpl` against that job's data, so `.` and `$` are the job's data, as in Argo CD.
Each result leaves as one JSON string on its own line, so no output can be confused with
another. One bad job fails Helm's whole render; the jobs are then run one by one to name it.

Templates come from repositories (an ApplicationSet in Git), so they are untrusted code:
the engine runs in a sandbox process under the render limits (source/render/sandboxed.py),
never in a worker or the API, and a template that allocates or loops without bound is a
GoTemplateError naming the limit. helm_python is imported only there.
"""

from __future__ import annotations

import json
import re
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.core.errors import InputError
from reconciler.source.gotemplate.rewrite import DEFINES, TemplateRewriteError, rewrite_template
from reconciler.source.render.errors import RenderError
from reconciler.source.render.sandboxed import render_job, run_render

if TYPE_CHECKING:
    import helm_python

_CHART = "apiVersion: v2\nname: gotemplate\nversion: 0.1.0\n"
_TEMPLATE_FILE = "gotemplate/templates/jobs.yaml"
_JOBS_TEMPLATE = DEFINES + (
    "{{- range $index, $job := .Values.jobs }}\n{{ $index }}: {{ tpl $job.text $job.data | toJson }}\n{{- end }}\n"
)
# Helm's messages around the part that speaks of the user's template
_INNER_ERROR = re.compile(r"template: gotpl:(?P<rest>.*)$", re.DOTALL)
_FAIL_ERROR = re.compile(r"^execution error at \([^)]*\): (?P<message>.*)$", re.DOTALL)


@dataclass(frozen=True)
class GoTemplateJob:
    """One template and the data its `.` is; `label` names it in errors (e.g. a field path)."""

    text: str
    data: Mapping[str, Any] = field(default_factory=dict)
    label: str = "template"


class GoTemplateError(InputError, ValueError):
    """A template failed to parse or run; the message starts with the job's label."""


def render_go_templates(jobs: Sequence[GoTemplateJob], *, missingkey_error: bool = False) -> list[str]:
    """The output of each job, in order. Sprig and Go's builtins as Argo CD's ApplicationSet
    templates have them (see rewrite.py); `missingkey_error` is goTemplateOptions'
    `missingkey=error`. Without it a missing key prints nothing (Helm drops Go's `<no value>`)."""
    if not jobs:
        return []
    prepared = [_prepared(job, missingkey_error) for job in jobs]
    answer = _in_sandbox(prepared, jobs[0].label)
    if "outputs" in answer:
        return list(answer["outputs"])
    if len(jobs) == 1:
        raise GoTemplateError(f"{jobs[0].label}: {answer['failed']}")
    for job, values in zip(jobs, prepared, strict=True):
        alone = _in_sandbox([values], job.label)
        if "failed" in alone:
            raise GoTemplateError(f"{job.label}: {alone['failed']}")
    raise GoTemplateError("templates failed together but each renders alone")  # not expected: Helm is per job


def render_go_template(
    text: str, data: Mapping[str, Any], *, label: str = "template", missingkey_error: bool = False
) -> str:
    return render_go_templates([GoTemplateJob(text, data, label)], missingkey_error=missingkey_error)[0]


def _prepared(job: GoTemplateJob, missingkey_error: bool) -> dict[str, Any]:
    try:
        text = rewrite_template(job.text, missingkey_error=missingkey_error)
    except TemplateRewriteError as err:
        raise GoTemplateError(f"{job.label}: {err}") from None
    try:
        data = json.loads(json.dumps(job.data))
    except (TypeError, ValueError) as err:
        raise GoTemplateError(f"{job.label}: the template's data is not plain JSON data: {err}") from None
    return {"text": text, "data": data}


def _in_sandbox(jobs: list[dict[str, Any]], label: str) -> dict[str, Any]:
    try:
        answer: dict[str, Any] = run_render(render_batch, (jobs,), tool="go template", origin=label)
    except RenderError as err:  # a limit (memory, CPU, time) stopped the engine
        raise GoTemplateError(f"{label}: {err.message}") from None
    return answer


def sandbox_warm_up() -> None:
    """In a new sandbox process: load Helm's Go runtime before the first job's limits are set."""
    import helm_python  # noqa: F401


@render_job
def render_batch(jobs: list[dict[str, Any]]) -> dict[str, Any]:
    """In the sandbox: {"outputs": [...]} or {"failed": Helm's message about the template}."""
    try:
        return {"outputs": _ENGINE.render(jobs)}
    except _RenderFailed as failure:
        return {"failed": str(failure)}


class _RenderFailed(Exception):
    """Helm's message, reduced to what it says about the user's template."""


class _HelmJobsChart:
    """The jobs chart, written once per process and loaded into Helm on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._chart: helm_python.Chart | None = None

    def render(self, jobs: list[dict[str, Any]]) -> list[str]:
        import helm_python

        with self._lock:
            chart = self._loaded(helm_python)
            try:
                output = chart.render({"jobs": jobs}, name="gotemplate", namespace="default")
            except helm_python.HelmError as err:
                raise _RenderFailed(_user_part(str(err))) from None
        return _results(output.get(_TEMPLATE_FILE, ""), len(jobs))

    def _loaded(self, helm_python: Any) -> helm_python.Chart:
        if self._chart is None:
            directory = Path(tempfile.mkdtemp(prefix="reconciler-gotemplate-")) / "gotemplate"
            (directory / "templates").mkdir(parents=True)
            (directory / "Chart.yaml").write_text(_CHART)
            (directory / "templates" / "jobs.yaml").write_text(_JOBS_TEMPLATE)
            self._chart = helm_python.Chart.load(directory)
        return self._chart


def _results(output: str, count: int) -> list[str]:
    results: list[str] = [""] * count
    for line in output.splitlines():
        index, separator, encoded = line.partition(": ")
        if separator and index.isdigit():
            results[int(index)] = json.loads(encoded)
    return results


def _user_part(message: str) -> str:
    failed = _FAIL_ERROR.match(message)
    if failed:
        return failed.group("message")
    inner = _INNER_ERROR.search(message)
    if inner:
        return "line " + inner.group("rest").lstrip(":").replace('executing "gotpl" ', "")
    return message


_ENGINE = _HelmJobsChart()
