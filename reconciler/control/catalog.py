"""Which Applications and AppProjects the system manages: register, read, forget.

Applications come from `reconciler app create -f`, the REST API, or an app-of-apps
parent's render; all end up here, in Redis, where beat finds them on its next tick.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterable

from reconciler.model import (
    Application,
    AppProject,
    SpecError,
    application_to_manifest,
    default_project,
    parse_application,
    parse_project,
    project_to_manifest,
)
from reconciler.model.appset_types import ApplicationSet, ClusterSecret
from reconciler.state import Store

# First polls of newly registered apps are spread over this many seconds, so registering
# a thousand apps at once does not make a thousand polls in the same second.
FIRST_POLL_SPREAD_SECONDS = 5.0


class UnknownApplication(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"application {name!r} is not registered; register it with `reconciler app create -f FILE`")
        self.name = name


def poll_interval_of(app: Application) -> float | None:
    """An app's own poll interval from the annotation `reconciler.io/poll-interval` (seconds)."""
    raw = app.annotations.get("reconciler.io/poll-interval", "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if value > 0 else None


def register(
    store: Store,
    documents: Iterable[Application | AppProject | ApplicationSet | ClusterSecret],
    *,
    parent: str | None = None,
    first_poll_in: float | None = None,
) -> list[str]:
    """Store each document; new or changed apps are polled soon, ApplicationSets generated at
    once, cluster Secrets registered. Returns the app names written."""
    from reconciler.control.appsets.actions import register_appset, register_clusters

    written: list[str] = []
    now = time.time()
    for doc in documents:
        if isinstance(doc, AppProject):
            store.put_project(doc.name, project_to_manifest(doc))
            continue
        if isinstance(doc, ApplicationSet):
            register_appset(store, doc, parent=parent)
            continue
        if isinstance(doc, ClusterSecret):
            register_clusters(store, [doc])
            continue
        manifest = application_to_manifest(doc)
        before = store.app_manifest(doc.name)
        store.put_app(doc.name, manifest, parent=parent)
        written.append(doc.name)
        if before != manifest or store.next_poll(doc.name) is None:
            delay = first_poll_in
            if delay is None:
                delay = (zlib.crc32(doc.name.encode()) % 1000) / 1000 * FIRST_POLL_SPREAD_SECONDS
            store.schedule_poll(doc.name, at=now + delay, interval=poll_interval_of(doc))
    return written


def load_application(store: Store, name: str) -> Application:
    manifest = store.app_manifest(name)
    if manifest is None:
        raise UnknownApplication(name)
    return parse_application(manifest, source_file=f"registered application {name}")


def project_for(store: Store, app: Application) -> tuple[AppProject | None, str]:
    """(project, problem): the app's project, or None and a message saying what to register."""
    name = app.project or "default"
    manifest = store.project_manifest(name)
    if manifest is None:
        if name == "default":
            return default_project(), ""
        return None, (
            f"spec.project: project {name!r} does not exist; register its AppProject with "
            "`reconciler app create -f FILE` or use project \"default\""
        )
    try:
        return parse_project(manifest, source_file=f"registered project {name}"), ""
    except SpecError as exc:
        return None, f"project {name!r} is invalid: {exc}"
