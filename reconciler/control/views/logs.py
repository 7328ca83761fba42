"""`GET .../logs` and `reconciler app logs`: container logs of the app's Pods through the API
server's `pods/log` subresource (engine/cluster/pod_logs.py).

A Pod named by `podName`, or every Pod under the named object (a Deployment's Pods through its
ReplicaSets, a Job's, a StatefulSet's); lines of several Pods are prefixed with the Pod's
name, as `kubectl logs --prefix` does. Without a container, each Pod's default container is
read, as kubectl picks it: the `kubectl.kubernetes.io/default-container` annotation, else the
first container.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from reconciler.control.views.scope import AppScope, scope_of
from reconciler.engine.cluster import KubeError
from reconciler.engine.cluster.pod_logs import MAX_TAIL_LINES, LogRequest, follow_log, read_log
from reconciler.services import Services

DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"


@dataclass(frozen=True)
class LogQuery:
    namespace: str = ""
    pod_name: str = ""
    kind: str = ""
    resource_name: str = ""
    group: str | None = None
    container: str = ""
    previous: bool = False
    tail_lines: int | None = None
    since_seconds: int | None = None

    def check(self) -> None:
        if not self.pod_name and not self.resource_name:
            raise ValueError("name a Pod (podName) or one of the app's objects (kind and resourceName)")
        if self.tail_lines is not None and not 0 <= self.tail_lines <= MAX_TAIL_LINES:
            raise ValueError(f"tailLines must be between 0 and {MAX_TAIL_LINES}")
        if self.since_seconds is not None and self.since_seconds < 1:
            raise ValueError("sinceSeconds must be 1 or more")


def _pods(scope: AppScope, query: LogQuery) -> list[tuple[str, str]]:
    """(namespace, pod) pairs to read, sorted."""
    if query.pod_name:
        pod = scope.find(kind="Pod", namespace=query.namespace, name=query.pod_name, group="")
        return [(pod.namespace, pod.name)]
    target = scope.find(kind=query.kind, namespace=query.namespace, name=query.resource_name, group=query.group)
    pods = [o for o in scope.under(target) if o.kind == "Pod" and o.key.group == ""]
    return sorted((p.namespace, p.name) for p in pods)


def _container(scope: AppScope, namespace: str, pod: str, wanted: str) -> str:
    if wanted:
        return wanted
    try:
        obj = scope.cluster.get("v1", "Pod", namespace, pod) or {}
    except KubeError:
        return ""  # the log request itself will say what is wrong
    annotated = ((obj.get("metadata") or {}).get("annotations") or {}).get(DEFAULT_CONTAINER_ANNOTATION)
    containers = [str(c.get("name", "")) for c in (obj.get("spec") or {}).get("containers") or []]
    return str(annotated) if annotated in containers else (containers[0] if containers else "")


def _requests(services: Services, name: str, query: LogQuery) -> tuple[AppScope, list[LogRequest], bool]:
    query.check()
    scope = scope_of(services, name)
    pods = _pods(scope, query)
    requests = [LogRequest(ns, pod, _container(scope, ns, pod, query.container), query.previous, query.tail_lines,
                           query.since_seconds) for ns, pod in pods]
    return scope, requests, not query.pod_name


def read_logs(services: Services, name: str, query: LogQuery) -> str:
    """The logs as text (lines of several Pods prefixed `[pod/<name>/<container>]`)."""
    scope, requests, prefixed = _requests(services, name, query)
    out: list[str] = []
    for request in requests:
        text = read_log(scope.cluster, request)
        lines = text.splitlines()
        out += [f"[pod/{request.pod}/{request.container}] {line}" for line in lines] if prefixed else lines
    return "\n".join(out) + ("\n" if out else "")


def follow_logs(services: Services, name: str, query: LogQuery, stop: threading.Event) -> Iterator[str]:
    """Lines as the containers write them (one reader thread per Pod), until every stream ends
    or `stop` is set. Raises KubeError when the first read fails (a wrong container name)."""
    scope, requests, prefixed = _requests(services, name, query)
    lines: queue.Queue[str | None] = queue.Queue(maxsize=10_000)
    streams = [follow_log(scope.cluster, r) for r in requests]  # each opened here: errors surface now

    def pump(request: LogRequest, stream: Iterator[str]) -> None:
        try:
            for line in stream:
                if stop.is_set():
                    break
                lines.put(f"[pod/{request.pod}/{request.container}] {line}" if prefixed else line)
        except KubeError as exc:
            lines.put(f"[{request.describe()}: {exc}]")
        finally:
            lines.put(None)

    for request, stream in zip(requests, streams, strict=True):
        threading.Thread(target=pump, args=(request, stream), daemon=True, name=f"logs-{request.pod}").start()
    open_streams = len(streams)
    while open_streams and not stop.is_set():
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        if line is None:
            open_streams -= 1
        else:
            yield line

