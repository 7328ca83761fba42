"""What `reconciler render` and `reconciler diff` do, on top of the core."""

from __future__ import annotations

import argparse
import sys

import yaml

from reconciler.engine.cluster import Clusters, KubeError
from reconciler.engine.compare import Comparison, DesiredState, compare, desired_state, repo_location
from reconciler.engine.diff.resource_diff import ResourceSyncStatus
from reconciler.model import Application, SpecError, load_file
from reconciler.services import git_source
from reconciler.settings import Settings, SettingsError
from reconciler.source.git.client import GitError, GitSource
from reconciler.source.render import RenderError


class CommandError(Exception):
    """A command could not do its work; the message says why and what to fix."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _pick_application(path: str, name: str | None, exit_code: int) -> Application:
    try:
        documents = load_file(path)
    except SpecError as exc:
        raise CommandError(str(exc), exit_code) from None
    apps = [doc for doc in documents if isinstance(doc, Application)]
    if name:
        apps = [app for app in apps if app.name == name]
        if not apps:
            raise CommandError(f"{path}: no Application named {name!r} in the file", exit_code)
    if not apps:
        raise CommandError(f"{path}: the file holds no Application (kind: Application)", exit_code)
    if len(apps) > 1:
        names = ", ".join(app.name for app in apps)
        raise CommandError(f"{path}: the file holds several Applications ({names}); choose one with --app", exit_code)
    return apps[0]


def _settings(exit_code: int) -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise CommandError(str(exc), exit_code) from None


def _desired(
    git: GitSource, app: Application, revision: str | None, cluster_scoped: set[tuple[str, str]] | None = None
) -> DesiredState:
    """The app rendered at `revision` (a branch, tag or SHA) or at its targetRevision."""
    sha = git.resolve(repo_location(app.source.repo_url), revision) if revision else None
    return desired_state(git, app, revision=sha, cluster_scoped=cluster_scoped)


def render_command(args: argparse.Namespace) -> int:
    app = _pick_application(args.file, args.app, exit_code=1)
    settings = _settings(1)
    with git_source(settings) as git:
        try:
            desired = _desired(git, app, args.revision)
        except (GitError, RenderError) as exc:
            raise CommandError(f"application {app.name}: {exc}") from None
    documents = desired.objects + desired.child_apps
    sys.stdout.write(yaml.safe_dump_all(documents, sort_keys=False, default_flow_style=False))
    return 0


def diff_command(args: argparse.Namespace) -> int:
    app = _pick_application(args.file, args.app, exit_code=2)
    settings = _settings(2)
    with git_source(settings) as git:
        try:
            cluster = Clusters(settings.kubeconfig, settings.field_manager).for_destination(app.destination)
            desired = _desired(git, app, args.revision, cluster.cluster_scoped_kinds())
            comparison = compare(cluster, app, desired, live_types=None)
        except (GitError, RenderError, KubeError) as exc:
            raise CommandError(f"application {app.name}: {exc}", exit_code=2) from None
    _print_comparison(app, comparison)
    if comparison.errors:
        return 2
    return 0 if all(r.diff.status == ResourceSyncStatus.SYNCED for r in comparison.resources) else 1


def _print_comparison(app: Application, comparison: Comparison) -> None:
    out = sys.stdout
    changed = [r for r in comparison.resources if r.diff.status != ResourceSyncStatus.SYNCED]
    for state in changed:
        out.write(f"=== {state.diff.status.value}: {state.key}\n")
        if state.error:
            out.write(f"error: {state.error}\n")
        if state.diff.text:
            out.write(state.diff.text if state.diff.text.endswith("\n") else state.diff.text + "\n")
    counts: dict[str, int] = {}
    for state in comparison.resources:
        counts[state.diff.status.value] = counts.get(state.diff.status.value, 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no resources"
    out.write(
        f"{app.name} at {comparison.revision[:7]}: {comparison.sync_status.value}, "
        f"health {comparison.health.status.value} ({summary})\n"
    )
    for error in comparison.errors:
        print(f"error: {error}", file=sys.stderr)
