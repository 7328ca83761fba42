"""The Job controller (NonIndexed jobs): runs pods until spec.completions succeed or the
failures pass spec.backoffLimit, and writes the terminal conditions as Kubernetes 1.31+
does: SuccessCriteriaMet then Complete (reason CompletionsReached), or FailureTarget then
Failed (reason BackoffLimitExceeded, or DeadlineExceeded past activeDeadlineSeconds,
which is scaled by the sim's progress_deadline_scale like Deployment deadlines).

Failures count failed pods plus, for restartPolicy OnFailure, container restarts of
running pods (as the real controller does). Replacement pods are created at once
instead of after the real 10 s, 20 s, ... back-off.
"""

from __future__ import annotations

from typing import Any

from kubesim.controllers.conditions import is_true, put
from kubesim.controllers.context import ControllerContext
from kubesim.controllers.kubelet import PODS
from kubesim.controllers.replicasets import pod_is_ready
from kubesim.controllers.templates import pod_from_template
from kubesim.storage.objects import now
from kubesim.storage.store import Obj

JOBS = ("batch", "jobs")
_STARTED = "started"


def _restarts(pod: Obj) -> int:
    return sum(int(s.get("restartCount") or 0) for s in (pod.get("status") or {}).get("containerStatuses") or [])


def _terminal(conditions: list[dict[str, Any]] | None, kind: str, reason: str,
              message: str) -> list[dict[str, Any]]:
    interim = "SuccessCriteriaMet" if kind == "Complete" else "FailureTarget"
    conditions = put(conditions, interim, "True", reason, message, probe_time=True)
    return put(conditions, kind, "True", reason, message, probe_time=True)


def reconcile_job(ctx: ControllerContext, job: Obj) -> float | None:
    m, spec = job["metadata"], job.get("spec") or {}
    old = job.get("status") or {}
    conditions = old.get("conditions")
    if m.get("deletionTimestamp") or is_true(conditions, "Complete") or is_true(conditions, "Failed"):
        return None
    namespace = m.get("namespace", "")
    pods = [p for p in ctx.owned(PODS, namespace, m["uid"]) if not p["metadata"].get("deletionTimestamp")]
    active = [p for p in pods if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
    succeeded = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Succeeded")
    failed = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Failed")
    status: dict[str, Any] = {}
    if spec.get("suspend"):
        for pod in active:
            ctx.delete(PODS, pod)
        status["conditions"] = put(conditions, "Suspended", "True", "JobSuspended", "Job suspended",
                                   probe_time=True)
        _counts(status, 0, succeeded, failed, 0)
        ctx.update_status(JOBS, job, status)
        ctx.unmark(job, _STARTED)
        return None
    if is_true(conditions, "Suspended"):
        conditions = put(conditions, "Suspended", "False", "JobResumed", "Job resumed", probe_time=True)
    status["startTime"] = old.get("startTime") or now()
    elapsed = ctx.mark(job, _STARTED)
    restart_policy = ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy", "Never")
    restarts = sum(_restarts(p) for p in active) if restart_policy == "OnFailure" else 0
    completions = spec.get("completions")
    parallelism = int(spec.get("parallelism", 1))
    deadline = spec.get("activeDeadlineSeconds")
    remaining = float(deadline) * ctx.settings.progress_deadline_scale - elapsed if deadline is not None else None
    wake: float | None = None
    if failed + restarts > int(spec.get("backoffLimit", 6)) or (remaining is not None and remaining <= 0):
        for pod in active:
            ctx.delete(PODS, pod)
        exceeded = failed + restarts > int(spec.get("backoffLimit", 6))
        failed += len(active)  # pods terminated by the failure count as failed, as in the real status
        if exceeded:
            conditions = _terminal(conditions, "Failed", "BackoffLimitExceeded",
                                   "Job has reached the specified backoff limit")
        else:
            conditions = _terminal(conditions, "Failed", "DeadlineExceeded",
                                   "Job was active longer than specified deadline")
        active = []
    elif (succeeded >= int(completions) if completions is not None else succeeded > 0 and not active):
        conditions = _terminal(conditions, "Complete", "CompletionsReached",
                               "Reached expected number of succeeded pods")
        status["completionTime"] = now()
    else:
        wanted = parallelism if completions is None else min(parallelism, int(completions) - succeeded)
        for _ in range(max(wanted - len(active), 0)):
            active.append(ctx.create(PODS, namespace, pod_from_template(
                spec.get("template"), job, generate_name=f"{m['name']}-")))
        wake = remaining
    if conditions:
        status["conditions"] = conditions
    _counts(status, len(active), succeeded, failed, sum(1 for p in active if pod_is_ready(p)))
    ctx.update_status(JOBS, job, status)
    return wake


def _counts(status: dict[str, Any], active: int, succeeded: int, failed: int, ready: int) -> None:
    # active/succeeded/failed are omitempty; ready, terminating and uncountedTerminatedPods are always shown.
    if active:
        status["active"] = active
    if succeeded:
        status["succeeded"] = succeeded
    if failed:
        status["failed"] = failed
    status["ready"] = ready
    status["terminating"] = 0
    status["uncountedTerminatedPods"] = {}
