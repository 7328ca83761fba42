"""`reconciler app ...`: register, inspect, sync, roll back and delete applications."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler.cli.api_client import Backend, ClientError, backend
from reconciler.cli.errors import CommandError
from reconciler.engine.plan import SKIPPED_PRUNE_DISABLED
from reconciler.model.operation import ENDED_PHASES, OperationPhase
from reconciler.settings import Settings, SettingsError

ONE_DOOR = (
    "With RECONCILER_SERVER set, these commands call the API as RECONCILER_API_TOKEN or as the login of "
    "`reconciler login [--sso]`: every call is checked against the RBAC policy and written to the audit log. "
    "Without it they act on Redis directly: that is the installation operator's tool (whoever holds the Redis "
    "password is an administrator, and no RBAC policy applies); everyone else uses the API, the dashboard or "
    "these commands with RECONCILER_SERVER."
)


def short_revision(revision: str) -> str:
    """Commit SHAs cut to 7 characters, chart versions whole; each source of a multi-source app."""
    return ";".join(part[:7] if len(part) == 40 else part for part in revision.split(";"))

def open_backend() -> Backend:
    try:
        return backend(Settings.from_env())
    except SettingsError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:  # the embedded Redis could not start
        raise CommandError(f"cannot reach Redis: {exc}; set REDIS_URL or RECONCILER_SERVER") from None


def call_backend(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except ClientError as exc:
        raise CommandError(str(exc)) from None


def _when(ts: float | None) -> str:
    if not ts:
        return "-"
    return datetime.fromtimestamp(float(ts), UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def create(args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        text = sys.stdin.read() if args.file == "-" else path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    names = call_backend(open_backend().create, text, args.file)
    for name in names:
        print(f"application {name!r} registered")
    others = _other_kinds(text, args.file)
    for line in others:
        print(line)
    if not names and not others:
        print("projects registered")
    return 0


def _other_kinds(text: str, filename: str) -> list[str]:
    """What else the file registered: ApplicationSets and clusters (the text parsed fine above)."""
    from reconciler.model import SpecError, parse_manifests
    from reconciler.model.appset_types import ApplicationSet, ClusterSecret

    try:
        documents = parse_manifests(text, source_file=filename)
    except SpecError:
        return []
    kinds = {ApplicationSet: "applicationset", ClusterSecret: "cluster"}
    return [f"{kinds[type(d)]} {d.name!r} registered" for d in documents if type(d) in kinds]


def list_apps(args: argparse.Namespace) -> int:
    apps = call_backend(open_backend().list)
    if args.output == "json":
        _print_json(apps)
        return 0
    rows = [["NAME", "PROJECT", "SYNC", "HEALTH", "REVISION", "REPO", "PATH"]]
    for app in apps:
        rows.append(
            [
                app["name"],
                app.get("project", ""),
                app.get("sync", ""),
                app.get("health", ""),
                short_revision(app.get("revision") or ""),
                app.get("repoURL", ""),
                app.get("path", ""),
            ]
        )
    print(_table(rows))
    return 0


def get_app(args: argparse.Namespace) -> int:
    app = call_backend(open_backend().get, args.name)
    if args.output == "json":
        _print_json(app)
        return 0
    operation = app.get("operation") or {}
    lines = [
        f"Name:           {app['name']}",
        f"Project:        {app.get('project', '')}",
        f"Repo:           {app.get('repoURL', '')}",
        f"Path:           {app.get('path', '')}",
        f"Target:         {app.get('targetRevision', '')}",
        f"Sync Status:    {app.get('sync', '')} ({short_revision(app.get('revision') or '')})",
        f"Health Status:  {app.get('health', '')}",
        f"Auto-sync:      {'on' if app.get('automated') else 'off'}",
    ]
    if operation:
        retry = f", retry {operation.get('retryCount')}" if operation.get("retryCount") else ""
        lines.append(f"Last Operation: {operation.get('phase', '')}{retry}: {operation.get('message', '')}")
        if operation.get("nextRetryAt"):
            lines.append(f"Next Retry:     {_when(operation['nextRetryAt'])}")
    for condition in app.get("conditions") or []:
        lines.append(f"Condition:      {condition.get('type')}: {condition.get('message')}")
    for window in app.get("syncWindows") or []:
        lines.append(f"Sync Window:    {window.get('kind')} {window.get('schedule')} for {window.get('duration')}"
                     f"{' (active)' if window.get('active') else ''}")
    if app.get("syncHeld"):
        lines.append(f"Sync Held:      {app['syncHeld']}")
    if app.get("children"):
        lines.append(f"Children:       {', '.join(app['children'])}")
    print("\n".join(lines))
    resources = app.get("resources") or []
    if resources:
        rows = [["GROUP", "KIND", "NAMESPACE", "NAME", "STATUS", "HEALTH", "MESSAGE"]]
        for res in resources:
            health = res.get("health") or {}
            rows.append(
                [
                    res.get("group", ""),
                    res.get("kind", ""),
                    res.get("namespace", ""),
                    res.get("name", ""),
                    res.get("status", ""),
                    health.get("status", ""),
                    res.get("error") or health.get("message", ""),
                ]
            )
        print()
        print(_table(rows))
    hooks = operation.get("hooks") or []
    if hooks:
        rows = [["PHASE", "WAVE", "KIND", "NAMESPACE", "NAME", "STATUS", "MESSAGE"]]
        for hook in hooks:
            name = hook.get("name") or f"{hook.get('generateName', '')}<not created>"
            rows.append([hook.get("phase", ""), str(hook.get("wave", "")), hook.get("kind", ""),
                         hook.get("namespace", ""), name, hook.get("status", ""), hook.get("message", "")])
        print()
        print(_table(rows))
    return 0


def diff_app(args: argparse.Namespace) -> int:
    try:
        status = open_backend().diff(args.name)
    except ClientError as exc:
        raise CommandError(str(exc), exit_code=2) from None
    changed = [r for r in status.get("resources") or [] if r.get("status") != "Synced"]
    for res in changed:
        key = "/".join(filter(None, [res.get("group"), res.get("kind"), res.get("namespace"), res.get("name")]))
        print(f"=== {res.get('status')}: {key}")
        if res.get("error"):
            print(f"error: {res['error']}")
        if res.get("diff"):
            sys.stdout.write(res["diff"] if res["diff"].endswith("\n") else res["diff"] + "\n")
    conditions = status.get("conditions") or []
    for condition in conditions:
        print(f"error: {condition.get('type')}: {condition.get('message')}", file=sys.stderr)
    sync = (status.get("sync") or {}).get("status", "Unknown")
    print(f"{args.name}: {sync}")
    if conditions and sync == "Unknown":
        return 2
    return 0 if not changed else 1


def sync_app(args: argparse.Namespace) -> int:
    client = open_backend()
    before = (call_backend(client.get, args.name).get("operation") or {}).get("id")
    result = call_backend(client.sync, args.name, args.revision or "", args.prune, args.resource or [])
    print(f"sync of {args.name!r} queued")
    if not args.wait:
        return 0 if result else 1
    code = _wait_for_operation(client, args.name, before, args.timeout)
    if code == 0 and not args.resource:
        # As `argocd app sync` does after a whole-app sync: the app stays OutOfSync while
        # resources that left Git are still there, so the command fails and says why.
        required = pruning_required((call_backend(client.get, args.name).get("operation") or {}).get("resources") or [])
        if required:
            raise CommandError(f"{required} resources require pruning (sync again with --prune to delete them)")
    return code


def pruning_required(results: list[dict[str, Any]]) -> int:
    """How many resources an operation left in place only because pruning was not asked for."""
    return sum(1 for result in results if result.get("message") == SKIPPED_PRUNE_DISABLED)


def _wait_for_operation(client: Backend, name: str, before: str | None, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        operation = call_backend(client.get, name).get("operation") or {}
        if operation.get("id") != before and operation.get("phase") in ENDED_PHASES:
            print(f"{operation['phase']}: {operation.get('message', '')}")
            return 0 if operation["phase"] == OperationPhase.SUCCEEDED else 1
        time.sleep(0.2)
    raise CommandError(f"sync of {name!r} did not finish within {timeout:.0f}s; see `reconciler app get {name}`")


def history(args: argparse.Namespace) -> int:
    entries = call_backend(open_backend().get, args.name).get("history") or []
    if args.output == "json":
        _print_json(entries)
        return 0
    rows = [["ID", "DATE", "REVISION", "INITIATED BY"]]
    for entry in entries:
        when = _when(entry.get("deployedAt"))
        rows.append([str(entry["id"]), when, short_revision(entry["revision"]), entry.get("initiatedBy", "")])
    print(_table(rows))
    return 0


def rollback(args: argparse.Namespace) -> int:
    client = open_backend()
    before = (call_backend(client.get, args.name).get("operation") or {}).get("id")
    call_backend(client.rollback, args.name, args.id, args.prune)
    print(f"rollback of {args.name!r} to history id {args.id} queued")
    if args.wait:
        return _wait_for_operation(client, args.name, before, args.timeout)
    return 0


def delete(args: argparse.Namespace) -> int:
    result = call_backend(open_backend().delete, args.name, args.cascade)
    if result.get("deleting"):  # it waits for the app's running sync
        print(f"delete of {args.name!r} asked for: {result.get('message', '')}")
        return 0
    deleted = result.get("resources") or []
    suffix = f" and {len(deleted)} resource(s)" if args.cascade else ""
    print(f"application {args.name!r} deleted{suffix}")
    # each PreDelete hook with its outcome (they ran first), then each PostDelete hook
    for line in [*(result.get("preDeleteHooks") or []), *(result.get("postDeleteHooks") or [])]:
        print(f"  {line}")
    return 0


def terminate_op(args: argparse.Namespace) -> int:
    result = call_backend(open_backend().terminate_op, args.name)
    print(f"{args.name}: {result.get('message', 'termination requested')} (operation {result.get('operation', '')})")
    return 0


def confirm_prune(args: argparse.Namespace) -> int:
    result = call_backend(open_backend().confirm_prune, args.name)
    print(f"{args.name}: {result.get('message', 'prune confirmed')}")
    return 0


def add_app_parser(sub: Any) -> None:
    app = sub.add_parser(
        "app",
        help="manage registered applications",
        description=ONE_DOOR,
    )
    cmds = app.add_subparsers(dest="app_command", metavar="SUBCOMMAND", required=True)

    p = cmds.add_parser("create", help="register or update Applications and AppProjects from YAML")
    p.add_argument("-f", "--file", required=True, help="manifest file, or - for standard input")
    p.set_defaults(handler=create)

    p = cmds.add_parser("list", help="list applications with sync and health")
    p.add_argument("-o", "--output", choices=["text", "json"], default="text")
    p.set_defaults(handler=list_apps)

    p = cmds.add_parser("get", help="show one application, its resources and last operation")
    p.add_argument("name")
    p.add_argument("-o", "--output", choices=["text", "json"], default="text")
    p.set_defaults(handler=get_app)

    p = cmds.add_parser("diff", help="compare an application with Git now (exit 1 on differences)")
    p.add_argument("name")
    p.set_defaults(handler=diff_app)

    for verb, helptext in (("sync", "sync an application"), ("rollback", "sync a revision from history")):
        p = cmds.add_parser(verb, help=helptext)
        p.add_argument("name")
        if verb == "sync":
            p.add_argument("--revision", help="Git revision to sync instead of the target revision")
            p.add_argument(
                "--resource", action="append", help="only this resource: group/kind/namespace/name (repeatable)"
            )
        else:
            p.add_argument("id", type=int, help="history id (see `reconciler app history NAME`)")
        p.add_argument("--prune", action="store_true", help="delete resources no longer in Git")
        p.add_argument("--wait", action="store_true",
                       help="wait until the sync finishes; exit 1 if it fails (or, for a whole-app sync, "
                            "leaves resources that require pruning)")
        p.add_argument("--timeout", type=float, default=300.0, help="seconds to wait with --wait")
        p.set_defaults(handler=sync_app if verb == "sync" else rollback)

    p = cmds.add_parser("history", help="list the syncs of an application")
    p.add_argument("name")
    p.add_argument("-o", "--output", choices=["text", "json"], default="text")
    p.set_defaults(handler=history)

    p = cmds.add_parser("terminate-op", help="stop the running sync before its next step (it ends Failed)")
    p.add_argument("name")
    p.set_defaults(handler=terminate_op)

    p = cmds.add_parser("confirm-prune", help="let the sync delete objects marked Prune=confirm")
    p.add_argument("name")
    p.set_defaults(handler=confirm_prune)

    from reconciler.cli.app_view_commands import add_view_parsers

    add_view_parsers(cmds)

    p = cmds.add_parser("delete", help="deregister an application")
    p.add_argument("name")
    p.add_argument("--cascade", action="store_true", help="also delete the resources it deployed")
    p.set_defaults(handler=delete)
