"""Which Applications and AppProjects the system manages: register, read, forget.

Applications come from `reconciler app create -f`, the REST API, or an app-of-apps
parent's render; all end up here, in Redis, where beat finds them on its next tick. Each
registration records its owner (state/registry.py): a parent writes only what it owns or
what nobody registered, never an app or project an admin or another parent registered.
"""

from __future__ import annotations

import dataclasses
import time
import zlib
from collections.abc import Iterable
from typing import Any

from reconciler.core.errors import InputError
from reconciler.model import (
    APPLICATION_KIND,
    DEFAULT_PROJECT,
    PROJECT_KIND,
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
from reconciler.state.registry import PARENT_OWNER_PREFIX, OwnedElsewhere, parent_owner

# The owner of the built-in `default` project until an admin registers one: no parent writes it.
BUILT_IN_OWNER = "the system (the built-in project)"

# First polls of newly registered apps are spread over this many seconds, so registering
# a thousand apps at once does not make a thousand polls in the same second.
FIRST_POLL_SPREAD_SECONDS = 5.0


class UnknownApplication(InputError, LookupError):
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
    owner: str = "",
    first_poll_in: float | None = None,
) -> list[str]:
    """Store each document for `owner` (`api`, `cli`), taking it over from whoever registered it
    (an admin's word wins over an app-of-apps parent's); new or changed apps are polled soon,
    ApplicationSets generated at once, cluster Secrets registered. Returns the app names written."""
    from reconciler.control.appsets.actions import register_appset, register_clusters

    written: list[str] = []
    for doc in documents:
        if isinstance(doc, AppProject):
            store.put_project(doc.name, project_to_manifest(doc), owner=owner)
            continue
        if isinstance(doc, ApplicationSet):
            register_appset(store, doc)
            continue
        if isinstance(doc, ClusterSecret):
            register_clusters(store, [doc])
            continue
        manifest = application_to_manifest(doc)
        before = store.app_manifest(doc.name)
        store.put_app(doc.name, manifest, owner=owner)
        written.append(doc.name)
        _poll_if_changed(store, doc, before != manifest, first_poll_in)
    return written


def register_for_parent(
    store: Store, parent: str, documents: Iterable[Application | AppProject | ApplicationSet]
) -> tuple[list[str], list[OwnedElsewhere]]:
    """Store each document an app-of-apps `parent` rendered, only where the parent owns it or
    nobody registered it: (app and set names written, what someone else owns and was left alone)."""
    from reconciler.control.appsets.actions import register_appset

    written: list[str] = []
    refused: list[OwnedElsewhere] = []
    for doc in documents:
        try:
            if isinstance(doc, ApplicationSet):
                _claim_appset(store, doc, parent)
                register_appset(store, doc, parent=parent)
                written.append(doc.name)
                continue
            if isinstance(doc, AppProject):
                if doc.name == DEFAULT_PROJECT and store.project_manifest(DEFAULT_PROJECT) is None:
                    raise OwnedElsewhere("project", doc.name, BUILT_IN_OWNER)
                store.claim_project(doc.name, project_to_manifest(doc), parent)
                continue
            manifest = application_to_manifest(doc)
            before = store.app_manifest(doc.name)
            store.claim_app(doc.name, manifest, parent)
        except OwnedElsewhere as exc:
            refused.append(exc)
            continue
        written.append(doc.name)
        _poll_if_changed(store, doc, before != manifest, None)
    return written, refused


def _claim_appset(store: Store, appset: ApplicationSet, parent: str) -> None:
    """A parent writes an ApplicationSet only if it registered it, or nobody has."""
    if store.appset_manifest(appset.name) is None:
        return
    holder = store.appset_parent(appset.name)
    if holder != parent:
        raise OwnedElsewhere("ApplicationSet", appset.name, parent_owner(holder) if holder else "api")


def _poll_if_changed(store: Store, app: Application, changed: bool, first_poll_in: float | None) -> None:
    if changed or store.next_poll(app.name) is None:
        delay = first_poll_in
        if delay is None:
            delay = (zlib.crc32(app.name.encode()) % 1000) / 1000 * FIRST_POLL_SPREAD_SECONDS
        store.schedule_poll(app.name, at=time.time() + delay, interval=poll_interval_of(app))


def load_application(store: Store, name: str) -> Application:
    manifest = store.app_manifest(name)
    if manifest is None:
        raise UnknownApplication(name)
    return parse_application(manifest, source_file=f"registered application {name}")


def project_for(store: Store, app: Application) -> tuple[AppProject | None, str]:
    """(project, problem): the app's project, or None and a message saying what to register."""
    return project_named(store, app.project or "default")


def registered_project(store: Store, name: str) -> AppProject | None:
    """The project `name` as the system knows it (the built-in `default` when not registered),
    or None when it does not exist or is invalid."""
    return project_named(store, name)[0]


def project_named(store: Store, name: str) -> tuple[AppProject | None, str]:
    manifest = store.project_manifest(name)
    if manifest is None:
        if name == "default":
            return default_project(), ""
        return None, (
            f"spec.project: project {name!r} does not exist; register its AppProject with "
            "`reconciler app create -f FILE` or use project \"default\""
        )
    try:
        project = parse_project(manifest, source_file=f"registered project {name}")
    except SpecError as exc:
        return None, f"project {name!r} is invalid: {exc}"
    if project.permit_only_project_scoped_clusters:
        from reconciler.services import registered_cluster_secrets  # (the Kubernetes client: loaded only here)

        scoped = tuple((c.name, c.server) for c in registered_cluster_secrets(store) if c.project == name)
        project = dataclasses.replace(project, scoped_clusters=scoped)
    return project, ""


def ownership_problems(store: Store, parent: str, manifests: Iterable[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """Each child Application or AppProject `parent` renders that someone else registered (an
    admin through the API or CLI, another parent, or a registration without a recorded owner),
    by (kind, name), with a message naming the child and its owner. A parent never overwrites
    those (register_for_parent refuses them too, atomically)."""
    named = [(str(m.get("kind") or APPLICATION_KIND), _name_of(m)) for m in manifests]
    named = [(kind, name) for kind, name in named if name]  # an unnamed child: the parser reports it
    apps, projects = store.registrations(
        [name for kind, name in named if kind != PROJECT_KIND], [name for kind, name in named if kind == PROJECT_KIND]
    )
    if DEFAULT_PROJECT in projects and projects[DEFAULT_PROJECT] is None:
        projects[DEFAULT_PROJECT] = BUILT_IN_OWNER
    mine = parent_owner(parent)
    problems: dict[tuple[str, str], str] = {}
    for kind, name in named:
        owner = (projects if kind == PROJECT_KIND else apps).get(name)
        if owner is None or owner == mine:
            continue
        if kind == PROJECT_KIND:
            what, handover = f'child AppProject "{name}"', "rename the project in Git, or ask an admin to change it"
        else:
            what = f'child application "{name}"'
            handover = (
                f"rename it in Git, or have an admin hand it over with `reconciler app delete {name}` (without "
                f"--cascade its resources stay) so that application {parent!r} registers it"
            )
        problems[(kind, name)] = (
            f"{what} is registered by {describe_owner(owner)}, not by application {parent!r}: not overwritten "
            f"(a parent only writes what it registered); {handover}"
        )
    return problems


def _name_of(manifest: dict[str, Any]) -> str:
    metadata = manifest.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return name if isinstance(name, str) else ""


def describe_owner(owner: str) -> str:
    """How a registration's owner reads in a message."""
    if owner.startswith(PARENT_OWNER_PREFIX):
        return f"application {owner.removeprefix(PARENT_OWNER_PREFIX)!r} (owner {owner})"
    if owner in ("api", "cli"):
        return f"{'the REST API' if owner == 'api' else 'the CLI'} (owner {owner})"
    return owner or "no recorded owner (registered before owners were recorded, so no parent's)"
