"""What the simulated containers write, derived from the Pod's status the kubelet keeps
(kubelet.py), so every reader sees the same lines and nothing is stored:

- at start: `Starting <container> (image <image>)`;
- a running container: `<container> is ready`, then, when its env has
  `KUBESIM_LOG_EVERY_SECONDS=<n>`, `tick <k>` every n seconds while it runs (for tests that
  follow a log);
- a container whose image crashes (tag `broken`, or `crashloop` in the repository name):
  `Error: <container> exited with code 1 ...` with the reason and the restart count;
- a container that ran to completion (restartPolicy Never/OnFailure): `<container> completed`.

Which instance a request reads follows the kubelet's rules (kubelet `validateContainerLogStatus`):
`previous` is the last terminated instance (`lastState.terminated`), else the error
`previous terminated container "<c>" in pod "<p>" not found`; the current one is the running
instance, or the terminated one, or, for a container waiting to restart, the last terminated
one; a container that never started answers `container "<c>" in pod "<p>" is waiting to start: <reason>`.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

from kubesim.controllers.kubelet import image_fault
from kubesim.errors import ApiError

LOG_EVERY_ENV = "KUBESIM_LOG_EVERY_SECONDS"
MAX_TICKS = 100_000


def bad_request(message: str) -> ApiError:
    return ApiError(message, code=400, reason="BadRequest")


@dataclass(frozen=True)
class Instance:
    """One run of a container: its id, when it started and ended, and how it went."""

    container: dict[str, Any]
    container_id: str
    started: float
    finished: float | None  # None: still running
    outcome: str  # running | crashed | completed
    restarts: int


def _parse(ts: str | None) -> float:
    if not ts:
        return time.time()
    return dt.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def _stamp(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def pick_container(pod: dict[str, Any], name: str) -> dict[str, Any]:
    """The container `name` of the pod (init containers too); the API server's errors otherwise."""
    spec = pod.get("spec") or {}
    pod_name = (pod.get("metadata") or {}).get("name", "")
    containers = spec.get("containers") or []
    inits = spec.get("initContainers") or []
    if not name:
        if len(containers) == 1:
            return containers[0]
        names = " ".join(str(c.get("name", "")) for c in containers)
        message = f"a container name must be specified for pod {pod_name}, choose one of: [{names}]"
        if inits:
            message += f" or one of the init containers: [{' '.join(str(c.get('name', '')) for c in inits)}]"
        raise bad_request(message)
    for container in containers + inits:
        if container.get("name") == name:
            return container
    raise bad_request(f"container {name} is not valid for pod {pod_name}")


def instance_of(pod: dict[str, Any], container: dict[str, Any], previous: bool) -> Instance:
    status = pod.get("status") or {}
    name = str(container.get("name", ""))
    pod_name = (pod.get("metadata") or {}).get("name", "")
    found: dict[str, Any] = {}
    for field_name in ("containerStatuses", "initContainerStatuses"):
        for entry in status.get(field_name) or []:
            if entry.get("name") == name:
                found = entry
    state, last = found.get("state") or {}, (found.get("lastState") or {}).get("terminated")
    restarts = int(found.get("restartCount") or 0)
    if previous:
        if not last or not last.get("containerID"):
            raise bad_request(f'previous terminated container "{name}" in pod "{pod_name}" not found')
        return _terminated(container, last, restarts)
    if "running" in state:
        running = state["running"]
        return Instance(container, str(found.get("containerID", "")), _parse(running.get("startedAt")), None,
                        "running", restarts)
    if "terminated" in state and state["terminated"].get("containerID"):
        return _terminated(container, state["terminated"], restarts)
    if last and last.get("containerID"):
        return _terminated(container, last, restarts)
    reason = str((state.get("waiting") or {}).get("reason") or "ContainerCreating")
    wording = {"ErrImagePull": "image can't be pulled", "ImagePullBackOff": "trying and failing to pull image"}
    raise bad_request(f'container "{name}" in pod "{pod_name}" is waiting to start: {wording.get(reason, reason)}')


def _terminated(container: dict[str, Any], terminated: dict[str, Any], restarts: int) -> Instance:
    outcome = "completed" if int(terminated.get("exitCode") or 0) == 0 else "crashed"
    return Instance(container, str(terminated.get("containerID", "")), _parse(terminated.get("startedAt")),
                    _parse(terminated.get("finishedAt")), outcome, restarts)


def lines_of(instance: Instance, now: float) -> list[tuple[float, str]]:
    """(time, text) of each line the instance has written by `now`."""
    container = instance.container
    name, image = str(container.get("name", "")), str(container.get("image", ""))
    at = instance.started
    lines = [(at, f"Starting {name} (image {image})")]
    if instance.outcome == "crashed":
        why = ("kubesim makes images tagged 'broken', or with 'crashloop' in the repository name, crash at start"
               if image_fault(image) == "crash" else "the process failed")
        lines.append((instance.finished or at, f"Error: {name} exited with code 1: {why}; "
                                               f"restart count {instance.restarts}"))
        return lines
    lines.append((at, f"{name} is ready"))
    every = _tick_seconds(container)
    end = instance.finished if instance.finished is not None else now
    if every:
        count = min(int((end - at) // every), MAX_TICKS)
        lines += [(at + every * k, f"tick {k}") for k in range(1, count + 1)]
    if instance.outcome == "completed":
        lines.append((instance.finished or end, f"{name} completed"))
    return lines


def _tick_seconds(container: dict[str, Any]) -> float:
    for env in container.get("env") or []:
        if env.get("name") == LOG_EVERY_ENV:
            try:
                value = float(env.get("value") or 0)
            except ValueError:
                return 0.0
            return value if value > 0 else 0.0
    return 0.0


def render(lines: list[tuple[float, str]], timestamps: bool) -> bytes:
    return b"".join(((f"{_stamp(at)} " if timestamps else "") + text + "\n").encode() for at, text in lines)
