"""Apps a change adds or removes through an ApplicationSet: each registered set whose Git
generators read the repository (its status's `watched` list), and each set an app-of-apps
renders at head, generated twice, with the repository's files at base and at head. An app only
the head generates is previewed as `added`; one only the base generates is `removed`.

Generation reads what it always reads (clusters, projects, SCM APIs); only the tree of the
previewed repository is pinned to the commit. Nothing is registered.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from reconciler.control.appsets.reconcile import context_for, generate_for
from reconciler.control.previews.app_preview import Commits, preview_app
from reconciler.control.previews.children import removed_entry
from reconciler.control.previews.document import error_entry
from reconciler.core.errors import ReconcilerError
from reconciler.core.urls import same_repository
from reconciler.model import SpecError, application_to_manifest
from reconciler.model.appset_types import ApplicationSet
from reconciler.model.parse_appset import parse_appset
from reconciler.services import Services


def registered_sets(services: Services, repo_url: str) -> list[ApplicationSet]:
    """Registered sets whose Git generators read `repo_url`."""
    store = services.store
    found = []
    for name, manifest in sorted(store.appset_manifests().items()):
        watched = ((store.appset_status(name) or {}).get("watched") or {}).get("git") or []
        if not any(same_repository(url, repo_url) for url in watched):
            continue
        try:
            found.append(parse_appset(manifest, source_file=f"registered ApplicationSet {name}"))
        except SpecError:
            continue  # its own generation reports it
    return found


def _generated(services: Services, appset: ApplicationSet, commits: Commits, commit: str) -> dict[str, Any]:
    """The apps `appset` generates with the previewed repository at `commit`, by name."""
    ctx = context_for(services, appset)
    read_tree = ctx.git_tree

    def pinned(repo_url: str, revision: str) -> Any:
        if same_repository(repo_url, commits.repo_url):
            return services.git.snapshot(commits.repo_url, commit)
        return read_tree(repo_url, revision)

    return dict(generate_for(services, appset, dataclasses.replace(ctx, git_tree=pinned)).apps)


def appset_entries(
    services: Services, appset: ApplicationSet, commits: Commits, registered: Callable[[str], bool],
    base_set: ApplicationSet | None,
) -> list[dict[str, Any]]:
    """Entries of the apps `appset` (at head) adds or removes; `base_set`: the set as it was at
    base (None: it is new, so it generated nothing)."""
    try:
        after = _generated(services, appset, commits, commits.head)
        before = _generated(services, base_set, commits, commits.base) if base_set is not None else {}
    except ReconcilerError as exc:
        project = str((appset.template.get("spec") or {}).get("project") or "default")
        return [error_entry(f"ApplicationSet {appset.name}", project, f"ApplicationSet {appset.name}: {exc}")]
    entries = []
    for name in sorted(set(after) - set(before)):
        if not registered(name):
            entries.append(preview_app(services, after[name], commits, added=True).entry)
    for name in sorted(set(before) - set(after)):
        entries.append(removed_entry(services, name, application_to_manifest(before[name])))
    return entries
