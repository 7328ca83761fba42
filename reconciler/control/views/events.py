"""`GET .../events`: the Kubernetes Events of one of the app's objects and of everything under
it (a Deployment's ReplicaSets and Pods), or of all the app's objects, read with the API
server's `events` API (core/v1, one LIST per namespace involved) and sorted oldest first."""

from __future__ import annotations

from typing import Any

from reconciler.control.views.scope import scope_of
from reconciler.engine.cluster import KubeError
from reconciler.services import Services


def _when(event: dict[str, Any]) -> str:
    meta = event.get("metadata") or {}
    return str(event.get("lastTimestamp") or event.get("eventTime") or event.get("firstTimestamp")
               or meta.get("creationTimestamp") or "")


def app_events(services: Services, name: str, *, namespace: str = "", resource_name: str = "", uid: str = "",
               kind: str = "") -> dict[str, Any]:
    scope = scope_of(services, name)
    if uid or resource_name:
        target = scope.find(uid=uid, kind=kind, namespace=namespace, name=resource_name)
        objects = scope.under(target)
    else:
        objects = scope.objects
    uids = {o.uid for o in objects}
    items: list[dict[str, Any]] = []
    problems: list[str] = []
    for ns in sorted({o.namespace or "default" for o in objects}):
        try:
            listed = scope.cluster.list("v1", "Event", namespace=ns)
        except KubeError as exc:
            problems.append(f"events in namespace {ns!r} could not be read: {exc}")
            continue
        items += [e for e in listed if str((e.get("involvedObject") or {}).get("uid", "")) in uids]
    body: dict[str, Any] = {"items": sorted(items, key=_when)}
    if problems:
        body["problems"] = problems
    return body
