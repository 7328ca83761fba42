"""Which registered apps a change to a repository concerns, and which of them it touches.

An app is concerned when one of its sources comes from the repository. It is touched when a
file changed between base and head lies under what its sources read from that repository: the
source path, Helm value files (also `$ref/...` value files of a multi-source app), and Argo CD's
`argocd.argoproj.io/manifest-generate-paths` annotation, the paths Argo CD itself uses to decide
that a commit leaves an app's manifests as they were. A concerned app that is not touched renders
the same at both commits and is reported unchanged without rendering; an app whose render reads
files elsewhere declares them in that annotation (docs/previews.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from reconciler.core.urls import same_repository
from reconciler.core.watched_paths import files_match
from reconciler.model import Application, Source

MANIFEST_GENERATE_PATHS = "argocd.argoproj.io/manifest-generate-paths"


@dataclass(frozen=True)
class Concerned:
    app: Application
    touched: bool


def from_repository(app: Application, repo_url: str) -> bool:
    return any(same_repository(source.repo_url, repo_url) for source in app.all_sources if not source.chart)


def _ref_value_files(app: Application, ref: str) -> list[str]:
    """The `$ref/...` value files other sources read from source `ref`, relative to its root."""
    prefix = f"${ref}/"
    found = []
    for source in app.all_sources:
        for value_file in source.helm.value_files if source.helm else ():
            if value_file.startswith(prefix):
                found.append(value_file.removeprefix(prefix))
    return found


def touches(app: Application, repo_url: str, changed: Sequence[str] | None) -> bool:
    """Whether a change of `changed` files (None: unknown, so yes) may change what `app` renders."""
    extra = app.annotations.get(MANIFEST_GENERATE_PATHS, "")
    for source in app.all_sources:
        if source.chart or not same_repository(source.repo_url, repo_url):
            continue
        if _source_touched(app, source, changed, extra):
            return True
    return False


def _source_touched(app: Application, source: Source, changed: Sequence[str] | None, extra: str) -> bool:
    if source.ref and not source.path:
        # A source that only lends files: what other sources read of it, from its root.
        paths = [*_ref_value_files(app, source.ref), *(p for p in extra.split(";") if p.strip().startswith("/"))]
        return any(files_match(changed, path) for path in paths)
    value_files = source.helm.value_files if source.helm else ()
    return files_match(changed, source.path, value_files, extra)


def concerned_apps(
    apps: Mapping[str, Application], repo_url: str, changed: Sequence[str] | None, allowed: Sequence[str] | None
) -> list[Concerned]:
    """The apps (among `allowed` names, all when None) whose sources come from `repo_url`."""
    names = sorted(apps) if allowed is None else sorted(set(allowed) & set(apps))
    return [
        Concerned(apps[name], touches(apps[name], repo_url, changed))
        for name in names
        if from_repository(apps[name], repo_url)
    ]
