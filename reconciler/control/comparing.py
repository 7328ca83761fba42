"""The compare pipeline fed by the running system: the app's registered project, the process's
Git source and clusters, and the render cache and inventory kept in Redis. Polls, syncs and
previews call this; the pipeline itself (engine/pipeline.py) touches no Redis."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from reconciler.control.catalog import ownership_problems, project_for, registered_project
from reconciler.engine.live_view import LiveView
from reconciler.engine.pipeline import AppComparison, compare_app
from reconciler.model import Application, AppProject
from reconciler.services import Services


def compare_registered(
    services: Services,
    app: Application,
    *,
    revision: str = "",
    commit: str = "",
    fresh_refs: bool = False,
    fill_cache: bool = True,
    verified: Mapping[str, str] | None = None,
    live: LiveView | None = None,
    project: tuple[AppProject | None, str] | None = None,
) -> AppComparison:
    """`compare_app` for a registered app. `fill_cache=False` reads the render cache without
    writing it (a preview changes nothing). `live`: the watcher's index (a poll passes it; a
    sync and a preview ask the cluster). Raises what the pipeline raises.

    Besides what the app's project forbids, `refused` names each child app or project the app
    renders that someone else registered: a parent never overwrites it. `project`: what
    `project_for` answered, when the caller read it already (a poll reads it once)."""
    store = services.store
    project, project_problem = project if project is not None else project_for(store, app)
    result = compare_app(
        app,
        project,
        services.git,
        services.clusters.for_destination(app.destination),
        revision=revision,
        commit=commit,
        fresh_refs=fresh_refs,
        cache=(store.cached_render, store.cache_render if fill_cache else lambda _key, _objects: None),
        inventory=store.inventory(app.name),
        verified=verified,
        project_problem=project_problem,
        charts=services.charts,
        live=live,
        projects=lambda name: registered_project(store, name),
        customizations=services.customizations(),
    )
    owned = ownership_problems(store, app.name, result.desired.child_apps)
    if not owned:
        return result
    children = dict(result.children)
    for key, problem in owned.items():
        children[key] = f"{children[key]}; {problem}" if key in children else problem
    refused = "; ".join(part for part in (result.refused, *owned.values()) if part)
    return dataclasses.replace(result, refused=refused, children=children)
