"""Pod health: container errors, phase, readiness; hook-like pods never count as done while running."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.engine.health.rules.fields import condition, int_at, map_at, maps_at, str_at, value_at
from reconciler.engine.health.rules.model import Health, HealthStatus

# Argo CD's annotation for pods that run forever despite restartPolicy Never/OnFailure
# (operator-managed pods): judge them like long-running pods.
IGNORE_RESTART_POLICY_ANNOTATION = "argocd.argoproj.io/ignore-restart-policy"


def _is_failing_wait(reason: str) -> bool:
    """Waiting reasons the kubelet uses for errors, not for normal start-up (ContainerCreating,
    PodInitializing): CrashLoopBackOff, ImagePullBackOff, ErrImagePull, CreateContainerConfigError,
    InvalidImageName, RunContainerError, ..."""
    return reason.startswith("Err") or reason.endswith("Error") or reason.endswith("BackOff")


def _statuses(obj: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return maps_at(obj, "status.initContainerStatuses") + maps_at(obj, "status.containerStatuses")


def _failing_waits(obj: Mapping[str, Any]) -> list[str]:
    messages = []
    for status in _statuses(obj):
        reason = str_at(status, "state.waiting.reason")
        if _is_failing_wait(reason):
            name = str_at(status, "name")
            messages.append(str_at(status, "state.waiting.message") or f'container "{name}": {reason}')
    return messages


def _termination_message(status: Mapping[str, Any]) -> str:
    terminated = map_at(status, "state.terminated")
    if not terminated:
        return ""
    if message := str_at(terminated, "message"):
        return message
    if str_at(terminated, "reason") == "OOMKilled":
        return "OOMKilled"
    if exit_code := int_at(terminated, "exitCode"):
        return f'container "{str_at(status, "name")}" failed with exit code {exit_code}'
    return ""


def _running_health(obj: Mapping[str, Any], message: str) -> Health:
    ready = condition(obj, "Ready")
    if ready is not None and str_at(ready, "status") == "True":
        return Health(HealthStatus.Healthy, message)
    # Not ready after a container already died once: it is crashing, not starting.
    for status in maps_at(obj, "status.containerStatuses"):
        if value_at(status, "lastState.terminated") is not None:
            last = map_at(status, "lastState.terminated")
            detail = str_at(last, "reason") or f"exit code {int_at(last, 'exitCode')}"
            return Health(
                HealthStatus.Degraded,
                message or f'container "{str_at(status, "name")}" is not ready and last terminated: {detail}',
            )
    return Health(HealthStatus.Progressing, message)


def pod_health(obj: dict[str, Any]) -> Health:
    restart_policy = str_at(obj, "spec.restartPolicy", "Always")
    annotations = map_at(obj, "metadata.annotations")
    long_running = restart_policy == "Always" or IGNORE_RESTART_POLICY_ANNOTATION in annotations
    # Only long-running pods turn Degraded on a waiting error: a hook pod (Never/OnFailure)
    # marked Degraded would fail its sync early, then run anyway once the image appears.
    if long_running and (failures := _failing_waits(obj)):
        return Health(HealthStatus.Degraded, ", ".join(failures))

    message = str_at(obj, "status.message")
    # The API server writes phase Pending on create; no phase means nobody stored it yet.
    phase = str_at(obj, "status.phase", "Pending")
    if phase == "Pending":
        scheduled = condition(obj, "PodScheduled")
        if not message and scheduled is not None and str_at(scheduled, "status") == "False":
            message = str_at(scheduled, "message")
        return Health(HealthStatus.Progressing, message)
    if phase == "Succeeded":
        return Health(HealthStatus.Healthy, message)
    if phase == "Failed":
        if message:
            return Health(HealthStatus.Degraded, message)
        for status in _statuses(obj):
            if detail := _termination_message(status):
                return Health(HealthStatus.Degraded, detail)
        return Health(HealthStatus.Degraded, "")
    if phase == "Running":
        if long_running:
            return _running_health(obj, message)
        # Never/OnFailure pods have a finite life (usually sync hooks): running is not done.
        return Health(HealthStatus.Progressing, message)
    return Health(HealthStatus.Unknown, message or f'pod phase is "{phase}"')
