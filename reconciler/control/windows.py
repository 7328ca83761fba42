"""Sync windows as the control layer asks: may this app sync now, and if not, why."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from reconciler.control.catalog import project_for
from reconciler.model import Application, AppProject
from reconciler.model.sync_windows import Permission, sync_permission
from reconciler.state import Store


def sync_allowed(
    store: Store, app: Application, *, manual: bool, now: datetime | None = None,
    project: AppProject | Literal[False] | None = False,
) -> Permission:
    """The app's project's sync windows at `now` (a project that cannot be loaded has none:
    the sync itself is refused for that reason elsewhere). `project`: the app's project when
    the caller read it already (None: it has none); read here otherwise."""
    if project is False:
        project, _problem = project_for(store, app)
    if project is None or not project.sync_windows:
        return Permission(True)
    return sync_permission(project.sync_windows, app, now or datetime.now(UTC), manual=manual)
