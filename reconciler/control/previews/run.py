"""A whole preview: resolve base and head, list the files between them, preview every app the
change concerns (only those it touches are rendered), and the apps an app-of-apps adds or
removes. `should_stop` is asked between apps: a newer push of the same pull request stops an
older preview (PreviewCancelled), so the queue never works on a stale commit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reconciler.control.previews.app_preview import Commits, preview_app
from reconciler.control.previews.appsets import appset_entries, registered_sets
from reconciler.control.previews.children import child_entries
from reconciler.control.previews.document import app_entry, sort_apps
from reconciler.control.previews.request import PreviewRequest
from reconciler.control.previews.select import concerned_apps
from reconciler.core.errors import InputError, ReconcilerError
from reconciler.core.urls import redact_url
from reconciler.model import Application, SpecError, parse_application
from reconciler.services import Services
from reconciler.source.git.changes import changed_files


class PreviewCancelled(Exception):
    """A newer preview of the same pull request took over; this one stops without a result."""


class PreviewFailed(InputError):
    """The preview as a whole cannot run (a revision that does not resolve); the message says which."""


def _parse(name: str, manifest: dict[str, Any]) -> Application | None:
    try:
        return parse_application(manifest, source_file=f"registered application {name}")
    except SpecError:
        return None  # an invalid app: its poll reports it; a preview cannot render it


def resolve_commits(services: Services, request: PreviewRequest) -> Commits:
    try:
        base = services.git.resolve(request.repo_url, request.base, refresh=True)
        # The listing just made answers the head too: one `ls-remote` per preview.
        head = services.git.resolve(request.repo_url, request.head)
    except ReconcilerError as exc:
        raise PreviewFailed(f"preview of {redact_url(request.repo_url)}: {exc}") from None
    return Commits(request.repo_url, base, head)


def run_preview(
    services: Services, request: PreviewRequest, should_stop: Callable[[], bool] = lambda: False
) -> dict[str, Any]:
    """The preview document (reconciler/control/previews/document.py). Raises PreviewFailed,
    PreviewCancelled."""
    manifests = services.store.app_manifests()
    if not concerned_apps(manifests, request.repo_url, None, request.apps):
        # No app (that the caller may see) uses the repository: nothing to fetch or render.
        return {"repoURL": redact_url(request.repo_url), "base": request.base, "head": request.head,
                "changedFiles": 0, "apps": []}  # fmt: skip
    commits = resolve_commits(services, request)
    try:
        changed = changed_files(services.git, request.repo_url, commits.base, commits.head)
    except ReconcilerError as exc:
        raise PreviewFailed(str(exc)) from None
    entries: dict[str, dict[str, Any]] = {}
    registered = manifests.__contains__
    for concerned in concerned_apps(manifests, request.repo_url, changed, request.apps):
        app = _parse(concerned.name, concerned.manifest) if concerned.touched else None
        if app is None:
            _add(entries, app_entry(concerned.name, concerned.project, "unchanged"))
            continue
        if should_stop():
            raise PreviewCancelled(request.head)
        preview = preview_app(services, app, commits)
        _add(entries, preview.entry)
        for child in child_entries(services, preview, commits, registered):
            _add(entries, child)
    for appset in registered_sets(services, request.repo_url):
        owned = set(services.store.apps_owned_by(appset.name))
        if request.apps is not None and not owned <= set(request.apps):
            continue  # the caller may not see every app of the set: its generation is not theirs to run
        if should_stop():
            raise PreviewCancelled(request.head)
        for entry in appset_entries(services, appset, commits, registered, appset):
            if request.apps is None or entry["status"] != "removed" or entry["name"] in request.apps:
                _add(entries, entry)
    return {
        "repoURL": redact_url(request.repo_url),
        "base": commits.base,
        "head": commits.head,
        "changedFiles": len(changed),
        "apps": sort_apps(list(entries.values())),
    }


def _add(entries: dict[str, dict[str, Any]], entry: dict[str, Any]) -> None:
    """One entry per app: an app its parent drops at head is `removed`, whatever its own
    render says (its parent deregisters it)."""
    if entries.get(entry["name"], {}).get("status") != "removed":
        entries[entry["name"]] = entry
