"""`reconciler appset list|get|delete|generate` and `reconciler cluster add|list`: ApplicationSets
and Argo CD cluster Secrets, through Redis directly or the API (RECONCILER_SERVER)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from reconciler.cli.api_client import ClientError, RemoteBackend
from reconciler.cli.app_commands import _print_json, _table, _when, open_backend
from reconciler.cli.errors import CommandError

if TYPE_CHECKING:
    from reconciler.cli.local_backend import LocalBackend


def _call(method: str, path: str, local: Any, **kwargs: Any) -> Any:
    """The API at RECONCILER_SERVER, or `local(backend)` against Redis."""
    client = open_backend()
    try:
        if isinstance(client, RemoteBackend):
            return client._call(method, path, **kwargs)
        return local(client)
    except ClientError as exc:
        raise CommandError(str(exc)) from None


def _with_services(client: LocalBackend, fn: Any) -> Any:
    from reconciler.services import Services

    services = Services.create(client.settings, client.redis_url)
    try:
        return fn(services)
    finally:
        services.close()


def _read(path: str) -> str:
    try:
        return sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from None


def list_appsets(args: argparse.Namespace) -> int:
    from reconciler.control.appsets import actions

    rows = _call("GET", "/api/v1/applicationsets", lambda c: actions.list_appsets(c.store))
    if args.output == "json":
        _print_json(rows)
        return 0
    table = [["NAME", "GENERATORS", "APPS", "SYNCED", "HEALTHY", "STRATEGY", "ERROR"]]
    for row in rows:
        table.append(
            [
                row["name"],
                ",".join(row["generators"]),
                str(row["applications"]),
                str(row["synced"]),
                str(row["healthy"]),
                row["strategy"],
                row["error"][:80],
            ]
        )
    print(_table(table))
    return 0


def get_appset(args: argparse.Namespace) -> int:
    from reconciler.control.appsets import actions

    def local(client: LocalBackend) -> Any:
        try:
            return actions.get_appset(client.store, args.name)
        except actions.UnknownAppSet as exc:
            raise ClientError(str(exc)) from None

    detail = _call("GET", f"/api/v1/applicationsets/{args.name}", local)
    if args.output == "json":
        _print_json(detail)
        return 0
    print(f"Name:           {detail['name']}")
    print(f"Generators:     {', '.join(detail['generators'])}")
    print(f"Sync policy:    {detail['applicationsSync']}   Strategy: {detail['strategy']}")
    print(f"Applications:   {detail['applications']} ({detail['synced']} synced, {detail['healthy']} healthy)")
    print(f"Generated:      {_when(detail.get('observedAt'))}")
    for condition in detail.get("conditions") or []:
        print(
            f"Condition:      {condition['type']}={condition['status']} ({condition.get('reason', '')}): "
            f"{condition.get('message', '')}"
        )
    for name, why in sorted((detail.get("refused") or {}).items()):
        print(f"Refused:        {name}: {why}")
    resources = detail.get("resources") or []
    if resources:
        print()
        rows = [["APPLICATION", "SYNC", "HEALTH"]]
        rows += [[r["name"], r.get("status", ""), (r.get("health") or {}).get("status", "")] for r in resources]
        print(_table(rows))
    steps = detail.get("applicationStatus") or []
    if steps:
        print()
        rows = [["STEP", "APPLICATION", "STATUS", "MESSAGE"]]
        rows += [[s["step"], s["application"], s["status"], s.get("message", "")] for s in steps]
        print(_table(rows))
    return 0


def delete_appset(args: argparse.Namespace) -> int:
    from reconciler.control.appsets.reconcile import delete_appset as delete

    def local(client: LocalBackend) -> Any:
        from workers.tasks import enqueue_delete

        try:
            result, deletes = _with_services(client, lambda services: delete(services, args.name))
        except LookupError as exc:
            raise ClientError(str(exc)) from None
        for delete_request in deletes:  # each app's resources: a delete operation on a worker
            enqueue_delete(delete_request)
        return result

    result = _call("DELETE", f"/api/v1/applicationsets/{args.name}", local)
    kept = "resources kept (preserveResourcesOnDeletion)" if result.get("preserveResourcesOnDeletion") else ""
    deleting = result.get("deleting") or []
    print(
        f"ApplicationSet {args.name!r} deleted with {len(result.get('applications') or []) + len(deleting)} "
        "application(s)"
        + (f"; deleting the resources of {', '.join(deleting)} (watch with `reconciler app list`)" if deleting else "")
        + (f"; {kept}" if kept else "")
    )
    return 0


def generate(args: argparse.Namespace) -> int:
    from reconciler.control.appsets import actions

    text = _read(args.file)
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise CommandError(f"{args.file}: not valid YAML: {exc}") from None
    sets = [d for d in documents if isinstance(d, dict) and d.get("kind") == "ApplicationSet"]
    if len(sets) != 1:
        raise CommandError(f"{args.file}: expected one ApplicationSet, found {len(sets)}")

    def local(client: LocalBackend) -> Any:
        try:
            return _with_services(client, lambda s: actions.generate_preview(s, sets[0], source=args.file))
        except actions.GenerateFailed as exc:
            raise ClientError(str(exc)) from None

    apps = _call("POST", "/api/v1/applicationsets/generate", local, json=sets[0])
    refused = [a for a in apps if a.get("refused")]
    for app in refused:
        print(f"refused: {app['metadata']['name']}: {app['refused']}", file=sys.stderr)
    if args.output == "json":
        sys.stdout.write(json.dumps(apps, indent=2) + "\n")
    else:
        sys.stdout.write(yaml.safe_dump_all(apps, sort_keys=False) if apps else "")
    return 0


def add_cluster(args: argparse.Namespace) -> int:
    from reconciler.control.appsets.actions import register_clusters
    from reconciler.model import SpecError, parse_manifests
    from reconciler.model.appset_types import ClusterSecret

    text = _read(args.file)

    def local(client: LocalBackend) -> Any:
        try:
            documents = parse_manifests(text, source_file=args.file)
        except SpecError as exc:
            raise ClientError(str(exc)) from None
        clusters = [d for d in documents if isinstance(d, ClusterSecret)]
        if not clusters or len(clusters) != len(documents):
            raise ClientError(
                f"{args.file}: expected cluster Secrets only (label argocd.argoproj.io/secret-type: cluster)"
            )
        return {"clusters": register_clusters(client.store, clusters)}

    result = _call(
        "POST", "/api/v1/clusters", local, content=text.encode(), headers={"Content-Type": "application/yaml"}
    )
    for name in result.get("clusters") or []:
        print(f"cluster {name!r} registered")
    return 0


def list_clusters(args: argparse.Namespace) -> int:
    from reconciler.control.appsets.clusters import cluster_rows

    rows = _call("GET", "/api/v1/clusters", lambda c: cluster_rows(c.store))
    if args.output == "json":
        _print_json(rows)
        return 0
    table = [["NAME", "SERVER", "LABELS", "CREDENTIALS"]]
    for row in rows:
        labels = ",".join(
            f"{k}={v}" for k, v in sorted(row["labels"].items()) if not k.startswith("argocd.argoproj.io/")
        )
        table.append([row["name"], row["server"], labels, row["credentials"]])
    print(_table(table))
    return 0


def add_appset_parsers(sub: Any) -> None:
    appset = sub.add_parser("appset", help="ApplicationSets: fleets of generated applications")
    cmds = appset.add_subparsers(dest="appset_command", metavar="SUBCOMMAND", required=True)
    p = cmds.add_parser("list", help="list ApplicationSets")
    p.add_argument("-o", "--output", choices=["text", "json"], default="text")
    p.set_defaults(handler=list_appsets)
    p = cmds.add_parser("get", help="one ApplicationSet: conditions, its applications, rollout steps")
    p.add_argument("name")
    p.add_argument("-o", "--output", choices=["text", "json"], default="text")
    p.set_defaults(handler=get_appset)
    p = cmds.add_parser("delete", help="deregister a set and its applications")
    p.add_argument("name")
    p.set_defaults(handler=delete_appset)
    p = cmds.add_parser("generate", help="print the Applications a set would produce, creating none")
    p.add_argument("-f", "--file", required=True, help="ApplicationSet manifest, or - for standard input")
    p.add_argument("-o", "--output", choices=["yaml", "json"], default="yaml")
    p.set_defaults(handler=generate)

    cluster = sub.add_parser("cluster", help="clusters (Argo CD cluster Secrets)")
    cmds = cluster.add_subparsers(dest="cluster_command", metavar="SUBCOMMAND", required=True)
    p = cmds.add_parser("add", help="register cluster Secrets from a file")
    p.add_argument("-f", "--file", required=True, help="Secret manifest(s), or - for standard input")
    p.set_defaults(handler=add_cluster)
    p = cmds.add_parser("list", help="list the known clusters")
    p.add_argument("-o", "--output", choices=["text", "json"], default="text")
    p.set_defaults(handler=list_clusters)
