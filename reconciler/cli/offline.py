"""What `reconciler render` and `reconciler diff` do, on top of the core."""

from __future__ import annotations

import argparse
import dataclasses
import sys

import yaml

from reconciler.cli.errors import CommandError
from reconciler.core.errors import ReconcilerError
from reconciler.engine import pipeline
from reconciler.engine.cluster import Clusters
from reconciler.engine.compare import Comparison
from reconciler.engine.diff.resource_diff import ResourceSyncStatus
from reconciler.engine.health.rules.configured import loaded_customizations
from reconciler.model import Application, AppProject, SpecError, default_project, load_file
from reconciler.services import chart_repositories, git_source
from reconciler.settings import Settings, SettingsError
from reconciler.source.render import Capabilities


def _pick_application(path: str, name: str | None, exit_code: int) -> tuple[Application, AppProject]:
    """The Application of the file, and the AppProject it is checked against: one of the same
    file by name, else Argo CD's `default` (the command runs without the system's registry, so
    a project registered there is not known here)."""
    try:
        documents = load_file(path)
    except SpecError as exc:
        raise CommandError(str(exc), exit_code) from None
    app = _one_application(path, documents, name, exit_code)
    projects = {doc.name: doc for doc in documents if isinstance(doc, AppProject)}
    project = projects.get(app.project) or dataclasses.replace(default_project(), name=app.project)
    return app, project


def _one_application(
    path: str, documents: list[Application | AppProject], name: str | None, exit_code: int
) -> Application:
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


def render_command(args: argparse.Namespace) -> int:
    app, project = _pick_application(args.file, args.app, exit_code=1)
    settings = _settings(1)
    charts = chart_repositories(settings)
    with git_source(settings) as git:
        try:
            pipeline.authorise(app, project)
            desired = pipeline.desired(
                app,
                project,
                git,
                revision=args.revision or "",
                charts=charts,
                capabilities=_destination_capabilities(settings, app),
            )
        except ReconcilerError as exc:
            raise CommandError(f"application {app.name}: {exc}") from None
        finally:
            charts.close()
    # Hooks are rendered output too (a sync runs them in their phases); Skip hooks are not.
    documents = desired.objects + [hook.obj for hook in desired.hooks] + desired.child_apps
    sys.stdout.write(yaml.safe_dump_all(documents, sort_keys=False, default_flow_style=False))
    return 0


def _destination_capabilities(settings: Settings, app: Application) -> Capabilities | None:
    """The destination's version and APIs for Helm, as the worker renders with them; when the
    cluster cannot be reached, Helm's defaults, and a note saying so on stderr."""
    try:
        return Clusters(settings.kubeconfig, settings.field_manager).for_destination(app.destination).capabilities()
    except Exception as exc:  # no kubeconfig, no server: rendering still works without them
        print(
            f"note: destination cluster not reachable ({exc}); Helm charts see default .Capabilities",
            file=sys.stderr,
        )
        return None


def diff_command(args: argparse.Namespace) -> int:
    app, project = _pick_application(args.file, args.app, exit_code=2)
    settings = _settings(2)
    charts = chart_repositories(settings)
    with git_source(settings) as git:
        try:
            pipeline.authorise(app, project)
            cluster = Clusters(settings.kubeconfig, settings.field_manager).for_destination(app.destination)
            comparison = pipeline.compare_app(
                app, project, git, cluster, revision=args.revision or "", charts=charts,
                customizations=loaded_customizations(settings),
            ).comparison
        except ReconcilerError as exc:
            raise CommandError(f"application {app.name}: {exc}", exit_code=2) from None
        finally:
            charts.close()
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
