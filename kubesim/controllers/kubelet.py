"""The kubelet of the one simulated node: takes every pod from Pending to Running (or to a
failure the image name asks for) `ready_delay` seconds after it first sees it.

Failure images, so tests can provoke the states health checks must recognise:
- tag `broken` (`nginx:broken`) or a repository name containing `crashloop`: the
  container exits with code 1 at start. restartPolicy Always/OnFailure: CrashLoopBackOff
  with a rising restartCount (back-off doubling from `ready_delay`, capped at 16x);
  restartPolicy Never: the pod fails (phase Failed, terminated reason Error).
- tag `missing` (`nginx:missing`): ErrImagePull, then ImagePullBackOff; the pod stays Pending.
Pods whose restartPolicy is Never or OnFailure (Job pods) run their command to
completion: `ready_delay` after starting they are Succeeded (exit code 0, reason Completed).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from kubesim.controllers.conditions import Condition, put
from kubesim.controllers.context import KUBELET, NODE_IP, ControllerContext
from kubesim.storage.objects import now
from kubesim.storage.store import Obj

PODS = ("", "pods")
_CONDITION_ORDER = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")
_BACKOFF_CAP = 16  # in units of ready_delay, as the kubelet's 5 min cap is 30x its 10 s start
_MIN_UNIT = 0.05  # back-off unit when ready_delay is 0, so a crash loop does not spin the thread


def image_fault(image: str) -> str:
    """"crash", "pull" or "" for an image reference, by the conventions in the module docstring."""
    ref = image.split("@", 1)[0]
    head, _, last = ref.rpartition("/")
    name, _, tag = last.partition(":")
    repository = f"{head}/{name}" if head else name
    if tag == "broken" or "crashloop" in repository:
        return "crash"
    if tag == "missing":
        return "pull"
    return ""


def _normalised(image: str) -> str:
    ref = image.split("@", 1)[0]
    first = ref.split("/", 1)[0]
    if "/" not in ref:
        ref = f"docker.io/library/{ref}"
    elif "." not in first and ":" not in first and first != "localhost":
        ref = f"docker.io/{ref}"
    return ref if ":" in ref.rsplit("/", 1)[-1] else f"{ref}:latest"


def _fake_digest(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class _Clock:
    """Where a pod is in its simulated life: `age` seconds after the kubelet first saw it."""

    age: float
    delay: float

    @property
    def unit(self) -> float:
        return max(self.delay, _MIN_UNIT)

    def crash_times(self) -> tuple[int, float]:
        """(crashes so far, seconds until the next one) for a container that exits at every start."""
        if self.age < self.delay:
            return 0, self.delay - self.age
        crashes, at, step = 1, self.delay, self.unit
        while at + step <= self.age:
            at += step
            crashes += 1
            step = min(step * 2, self.unit * _BACKOFF_CAP)
        return crashes, at + step - self.age


def _previous(pod: Obj, field_name: str, name: str) -> dict[str, Any]:
    for status in (pod.get("status") or {}).get(field_name) or []:
        if status.get("name") == name:
            return dict(status)
    return {}


def _kept(previous: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    """Keep the timestamps of a state that has not changed, so an unchanged pod writes nothing."""
    old_state = previous.get("state") or {}
    if set(old_state) == set(state):
        (kind, value), = state.items()
        old_value = old_state[kind]
        if all(old_value.get(k) == v for k, v in value.items() if not k.endswith("At")):
            return {kind: old_value}
    return state


class _PodView:
    """Builds one container's status for a given outcome."""

    def __init__(self, pod: Obj, clock: _Clock) -> None:
        self.pod = pod
        self.clock = clock
        self.uid = pod["metadata"].get("uid", "")
        m = pod["metadata"]
        self.pod_ref = f"{m['name']}_{m.get('namespace', '')}({self.uid})"

    def container(self, container: dict[str, Any], field_name: str, outcome: str,
                  restarts: int = 0) -> dict[str, Any]:
        name, image = str(container.get("name", "")), str(container.get("image", ""))
        previous = _previous(self.pod, field_name, name)
        status: dict[str, Any] = {"name": name, "image": image, "imageID": "", "ready": False,
                                  "restartCount": restarts, "started": False}
        last_state: dict[str, Any] = {}
        started_at = ((previous.get("state") or {}).get("running") or {}).get("startedAt") or now()
        container_id = f"containerd://{_fake_digest(self.uid, name, str(restarts))}"
        image_id = f"{_normalised(image).rsplit(':', 1)[0]}@sha256:{_fake_digest(_normalised(image))}"
        if outcome == "creating":
            reason = "PodInitializing" if field_name == "containerStatuses" and self.pod["spec"].get(
                "initContainers") else "ContainerCreating"
            state: dict[str, Any] = {"waiting": {"reason": reason}}
        elif outcome == "running":
            status.update(imageID=image_id, containerID=container_id, ready=True, started=True)
            state = {"running": {"startedAt": started_at}}
        elif outcome in ("completed", "error"):
            code, reason = (0, "Completed") if outcome == "completed" else (1, "Error")
            status.update(imageID=image_id, containerID=container_id)
            state = {"terminated": {"exitCode": code, "reason": reason, "startedAt": started_at,
                                    "finishedAt": now(), "containerID": container_id}}
        elif outcome == "crashloop":
            back_off = min(self.clock.unit * 2 ** max(restarts - 1, 0), self.clock.unit * _BACKOFF_CAP)
            status.update(imageID=image_id, containerID=container_id)
            state = {"waiting": {"reason": "CrashLoopBackOff",
                                 "message": f"back-off {back_off:g}s restarting failed container={name} "
                                            f"pod={self.pod_ref}"}}
            last_state = {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": now(), "finishedAt": now(),
                                         "containerID": container_id}}
            if previous.get("restartCount") == restarts and previous.get("lastState"):
                last_state = previous["lastState"]
        elif outcome == "errimagepull":
            ref = _normalised(image)
            state = {"waiting": {"reason": "ErrImagePull",
                                 "message": f'rpc error: code = NotFound desc = failed to pull and unpack image '
                                            f'"{ref}": failed to resolve reference "{ref}": {ref}: not found'}}
        else:  # imagepullbackoff
            state = {"waiting": {"reason": "ImagePullBackOff", "message": f'Back-off pulling image "{image}"'}}
        status["state"] = _kept(previous, state)
        status["lastState"] = last_state
        return status


def _outcome(fault: str, restart_policy: str, clock: _Clock, done_running: bool) -> tuple[str, int, float | None]:
    """(outcome, restartCount, seconds until it changes) for a started container."""
    if fault == "pull":
        if clock.age < clock.delay + clock.unit:
            return "errimagepull", 0, clock.delay + clock.unit - clock.age
        return "imagepullbackoff", 0, None
    if fault == "crash":
        if restart_policy == "Never":
            return "error", 0, None
        crashes, wait = clock.crash_times()
        return "crashloop", crashes, wait
    if restart_policy in ("Never", "OnFailure"):
        return ("completed", 0, None) if done_running else ("running", 0, clock.delay * 2 - clock.age)
    return "running", 0, None


def _qos_class(spec: dict[str, Any]) -> str:
    resources = [c.get("resources") or {} for c in spec.get("containers") or []]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    guaranteed = all(
        set(r.get("limits") or {}) >= {"cpu", "memory"}
        and all((r.get("requests") or {}).get(k, v) == v for k, v in (r.get("limits") or {}).items())
        for r in resources)
    return "Guaranteed" if guaranteed else "Burstable"


def _pod_conditions(old: list[Condition] | None, *, started: bool, initialized: bool, ready: bool,
                    unready: list[str], phase: str, init_pending: list[str]) -> list[Condition]:
    if phase in ("Succeeded", "Failed"):
        not_ready: tuple[str, str] = ("PodCompleted" if phase == "Succeeded" else "PodFailed", "")
    else:
        not_ready = ("ContainersNotReady", f"containers with unready status: [{' '.join(unready)}]")
    conditions = put(old, "PodScheduled", "True")
    conditions = put(conditions, "PodReadyToStartContainers", "True" if started else "False")
    if initialized:
        conditions = put(conditions, "Initialized", "True")
    else:
        conditions = put(conditions, "Initialized", "False", "ContainersNotInitialized",
                         f"containers with incomplete status: [{' '.join(init_pending)}]")
    for kind in ("Ready", "ContainersReady"):
        conditions = put(conditions, kind, "True") if ready else put(conditions, kind, "False", *not_ready)
    return sorted(conditions, key=lambda c: _CONDITION_ORDER.index(c["type"]) if c["type"] in _CONDITION_ORDER
                  else len(_CONDITION_ORDER))


def reconcile_pod(ctx: ControllerContext, pod: Obj) -> float | None:
    """Move a pod along its simulated life; returns seconds until it changes next (None: settled)."""
    m, spec = pod["metadata"], pod.get("spec") or {}
    old = pod.get("status") or {}
    if m.get("deletionTimestamp") or old.get("phase") in ("Succeeded", "Failed"):
        return None
    clock = _Clock(ctx.age(pod), ctx.settings.ready_delay)
    view = _PodView(pod, clock)
    restart_policy = str(spec.get("restartPolicy") or "Always")
    waits: list[float] = []
    started = clock.age >= clock.delay
    init_statuses: list[dict[str, Any]] = []
    init_pending: list[str] = []
    for container in spec.get("initContainers") or []:
        fault = image_fault(str(container.get("image", ""))) if started else ""
        if not started:
            outcome, restarts, wait = "creating", 0, clock.delay - clock.age
        elif fault:
            outcome, restarts, wait = _outcome(fault, restart_policy, clock, False)
        else:
            outcome, restarts, wait = "completed", 0, None
        init_statuses.append(view.container(container, "initContainerStatuses", outcome, restarts))
        if outcome != "completed":
            init_pending.append(str(container.get("name", "")))
        if wait is not None:
            waits.append(wait)
    initialized = not init_pending
    done_running = clock.age >= clock.delay * 2
    statuses: list[dict[str, Any]] = []
    outcomes: list[str] = []
    for container in spec.get("containers") or []:
        if not (started and initialized):
            outcome, restarts, wait = "creating", 0, (clock.delay - clock.age) if not started else None
        else:
            fault = image_fault(str(container.get("image", "")))
            outcome, restarts, wait = _outcome(fault, restart_policy, clock, done_running)
        statuses.append(view.container(container, "containerStatuses", outcome, restarts))
        outcomes.append(outcome)
        if wait is not None:
            waits.append(max(wait, 0.0))
    phase = _phase(outcomes, restart_policy, initialized, init_statuses)
    unready = [s["name"] for s in statuses if not s["ready"]]
    ready = phase == "Running" and not unready
    status: dict[str, Any] = {"phase": phase}
    status["conditions"] = _pod_conditions(old.get("conditions"), started=started, initialized=initialized,
                                           ready=ready, unready=unready, phase=phase, init_pending=init_pending)
    status["hostIP"], status["hostIPs"] = NODE_IP, [{"ip": NODE_IP}]
    if started:
        ip = ctx.pod_ip(m.get("uid", ""))
        status["podIP"], status["podIPs"] = ip, [{"ip": ip}]
    status["startTime"] = old.get("startTime") or now()
    if init_statuses:
        status["initContainerStatuses"] = init_statuses
    status["containerStatuses"] = statuses
    status["qosClass"] = old.get("qosClass") or _qos_class(spec)
    ctx.update_status(PODS, pod, status, manager=KUBELET)
    return min(waits) if waits and phase not in ("Succeeded", "Failed") else None


def _phase(outcomes: list[str], restart_policy: str, initialized: bool,
           init_statuses: list[dict[str, Any]]) -> str:
    if not initialized:
        failed_init = any("terminated" in (s.get("state") or {}) and s["state"]["terminated"].get("exitCode")
                          for s in init_statuses)
        return "Failed" if failed_init and restart_policy == "Never" else "Pending"
    if not outcomes or "creating" in outcomes or any(o in ("errimagepull", "imagepullbackoff") for o in outcomes):
        return "Pending"
    if all(o in ("completed", "error") for o in outcomes):
        return "Succeeded" if all(o == "completed" for o in outcomes) else "Failed"
    return "Running"
