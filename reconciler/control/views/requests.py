"""The views as plain-data requests, for the API (run here with cluster access, or handed to a
worker: control/cluster_requests.py) and the CLI. `answer(services, kind, params)` returns the
view's JSON body, or `{"error": message, "code": HTTP status}` for a request the view refuses."""

from __future__ import annotations

from typing import Any

from reconciler.control.catalog import UnknownApplication
from reconciler.control.views.actions import list_actions, run_action
from reconciler.control.views.events import app_events
from reconciler.control.views.logs import LogQuery, read_logs
from reconciler.control.views.resource import ResourceViewError, resource_view
from reconciler.control.views.scope import NotInApplication
from reconciler.control.views.tree import safe_tree
from reconciler.engine.actions import ActionError
from reconciler.engine.cluster import KubeError
from reconciler.model.resources import ResourceKey
from reconciler.services import Services

KINDS = ("resource-tree", "resource", "events", "logs", "actions", "run-action")


def log_query(params: dict[str, Any]) -> LogQuery:
    def number(name: str) -> int | None:
        value = params.get(name)
        return None if value in (None, "") else int(value)

    return LogQuery(namespace=str(params.get("namespace") or ""), pod_name=str(params.get("podName") or ""),
                    kind=str(params.get("kind") or ""), resource_name=str(params.get("resourceName") or ""),
                    group=params.get("group"), container=str(params.get("container") or ""),
                    previous=bool(params.get("previous")), tail_lines=number("tailLines"),
                    since_seconds=number("sinceSeconds"))


def _run(services: Services, kind: str, name: str, p: dict[str, Any]) -> dict[str, Any]:
    if kind == "resource-tree":
        return safe_tree(services, name)
    if kind == "resource":
        key = ResourceKey(str(p.get("group") or ""), str(p["kind"]), str(p.get("namespace") or ""),
                          str(p["resourceName"]))
        return resource_view(services, name, key)
    if kind == "events":
        return app_events(services, name, namespace=str(p.get("resourceNamespace") or ""),
                          resource_name=str(p.get("resourceName") or ""), uid=str(p.get("resourceUID") or ""))
    if kind == "logs":
        return {"text": read_logs(services, name, log_query(p))}
    target = (str(p.get("group") or ""), str(p.get("kind") or ""), str(p.get("namespace") or ""),
              str(p.get("resourceName") or ""))
    if kind == "actions":
        return list_actions(services, name, *target)
    if kind == "run-action":
        return run_action(services, name, *target, str(p.get("action") or ""), dict(p.get("params") or {}))
    raise ValueError(f"no view {kind!r}; known: {', '.join(KINDS)}")


def answer(services: Services, kind: str, params: dict[str, Any]) -> dict[str, Any]:
    name = str(params["name"])
    try:
        return _run(services, kind, name, params)
    except UnknownApplication as exc:
        return {"error": str(exc), "code": 404}
    except NotInApplication as exc:
        return {"error": str(exc), "code": 404}
    except (ActionError, ValueError) as exc:
        return {"error": str(exc), "code": 400}
    except ResourceViewError as exc:
        return {"error": str(exc), "code": 409}
    except KubeError as exc:
        # The API server's refusal stands (a container to name, no previous container: 400).
        code = exc.status if exc.status in (400, 403, 404, 409, 422) else 502
        return {"error": str(exc), "code": code}
