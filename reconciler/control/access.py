"""What an application's AppProject forbids for one sync: checked before anything is applied,
by the sync itself and by its dry-run preview alike."""

from __future__ import annotations

from typing import Any

from reconciler.control.catalog import project_for
from reconciler.engine.cluster import Cluster
from reconciler.engine.project_rules import check_application, check_resource
from reconciler.model import Application
from reconciler.model.resources import ResourceKey
from reconciler.state import Store


def access_problems(store: Store, app: Application, cluster: Cluster, objects: list[dict[str, Any]]) -> str:
    """Every rule the app or one of its objects breaks, joined; "" when the sync may run."""
    project, problem = project_for(store, app)
    if project is None:
        return problem
    problems = check_application(project, app)
    for obj in objects:
        key = ResourceKey.of(obj)
        namespaced = cluster.is_namespaced(str(obj.get("apiVersion")), key.kind) if key.kind else True
        found = check_resource(project, key, namespaced, destination=app.destination)
        if found:
            problems.append(found)
    return "; ".join(problems)
