"""`reconciler app logs|actions|wait|manifests|set|patch`, as Argo CD's verbs of the same names.

Through the API when RECONCILER_SERVER is set (each call checked by the RBAC policy: `logs get`,
`action/<group>/<Kind>/<action>`, `update` for set and patch), else on Redis and the cluster
directly (the operator's door, as the other `app` commands). set and patch change the registered
Application manifest and register it again (an upsert, `update` through the API).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import threading
import time
from typing import Any

import yaml

from reconciler.cli.api_client import ClientError, RemoteBackend
from reconciler.cli.app_commands import call_backend, open_backend
from reconciler.cli.errors import CommandError


def _view(client: Any, method: str, path: str, **kwargs: Any) -> Any:
    """A view through the API (RemoteBackend), or run here (LocalBackend)."""
    if isinstance(client, RemoteBackend):
        return call_backend(client._call, method, path, **kwargs)
    from reconciler.control.views.requests import answer
    from reconciler.services import Services

    kind, params = kwargs.pop("view")
    services = Services.create(client.settings)
    try:
        body = answer(services, kind, params)
    finally:
        services.close()
    if set(body) == {"error", "code"}:
        raise CommandError(str(body["error"]))
    return body


def _target(args: argparse.Namespace) -> dict[str, str]:
    return {"group": args.group or "", "kind": args.kind, "namespace": args.namespace or "",
            "resourceName": args.resource_name}


def logs(args: argparse.Namespace) -> int:
    client = open_backend()
    params: dict[str, Any] = {"namespace": args.namespace or "", "kind": args.kind or "",
                              "resourceName": args.resource_name or "", "podName": args.pod or "",
                              "container": args.container or "", "previous": args.previous,
                              "tailLines": args.tail if args.tail >= 0 else None}
    if args.group is not None:
        params["group"] = args.group
    if not params["podName"] and not params["resourceName"]:
        raise CommandError("name a Pod (--pod) or one of the app's objects (--kind K --name N)", exit_code=2)
    if args.follow:
        return _follow(client, args.name, params)
    if isinstance(client, RemoteBackend):
        query = {k: str(v).lower() if isinstance(v, bool) else v for k, v in params.items() if v not in (None, "")}
        resp = client._send("GET", f"/api/v1/applications/{args.name}/logs", params=query)
        if resp.status_code >= 400:
            raise CommandError(f"logs of {args.name!r}: {resp.status_code}: {resp.json().get('error', resp.text)}")
        sys.stdout.write(resp.text)
        return 0
    sys.stdout.write(_view(client, "GET", "", view=("logs", {"name": args.name, **params}))["text"])
    return 0


def _follow(client: Any, name: str, params: dict[str, Any]) -> int:
    if isinstance(client, RemoteBackend):
        query = {k: str(v).lower() if isinstance(v, bool) else v for k, v in params.items() if v not in (None, "")}
        headers = client.credentials.header(client.http)
        with client.http.stream("GET", f"/api/v1/applications/{name}/logs", params={**query, "follow": "true"},
                                headers=headers, timeout=None) as stream:
            if stream.status_code >= 400:
                stream.read()
                raise CommandError(f"logs of {name!r}: {stream.status_code}: {stream.text}")
            event = ""
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:"):
                    text = line[5:].removeprefix(" ")
                    if event == "error":
                        raise CommandError(text)
                    print(text, flush=True)
                elif not line:
                    event = ""
        return 0
    from reconciler.control.views.logs import follow_logs
    from reconciler.control.views.requests import log_query
    from reconciler.engine.cluster import KubeError
    from reconciler.services import Services

    services = Services.create(client.settings)
    try:
        for line in follow_logs(services, name, log_query(params), threading.Event()):
            print(line, flush=True)
    except KubeError as exc:
        raise CommandError(str(exc)) from None
    finally:
        services.close()
    return 0


def actions_list(args: argparse.Namespace) -> int:
    client = open_backend()
    target = _target(args)
    body = _view(client, "GET", f"/api/v1/applications/{args.name}/resource/actions", params=target,
                 view=("actions", {"name": args.name, **target}))
    rows = [["GROUP", "KIND", "NAME", "ACTION", "DISABLED"]]
    rows += [[target["group"], args.kind, args.resource_name, a["name"], str(a.get("disabled", False)).lower()]
             for a in body.get("actions") or []]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print("\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows))
    return 0


def actions_run(args: argparse.Namespace) -> int:
    client = open_backend()
    target = _target(args)
    parameters = [dict(zip(("name", "value"), p.split("=", 1), strict=False)) for p in args.param or []]
    body = {**target, "version": "", "action": args.action, "resourceActionParameters": parameters}
    _view(client, "POST", f"/api/v1/applications/{args.name}/resource/actions", json=body,
          view=("run-action", {"name": args.name, **target, "action": args.action,
                               "params": {p["name"]: p.get("value", "") for p in parameters}}))
    print(f"action {args.action!r} ran on {args.kind} {args.resource_name}")
    return 0


def wait(args: argparse.Namespace) -> int:
    """Argo CD's `app wait`: until synced, healthy and without a running operation (those asked
    for; all three when none is); exit 1 on timeout or when the last operation failed."""
    client = open_backend()
    wanted = {k for k in ("sync", "health", "operation") if getattr(args, k)} or {"sync", "health", "operation"}
    deadline = time.monotonic() + args.timeout
    while True:
        app = call_backend(client.get, args.name)
        operation = app.get("operation") or {}
        running = operation.get("phase") in ("Running", "Terminating")
        if "operation" in wanted and operation.get("phase") in ("Failed", "Error") and not running:
            print(f"{args.name}: operation {operation['phase']}: {operation.get('message', '')}", file=sys.stderr)
            return 1
        reached = (("sync" not in wanted or app.get("sync") == "Synced")
                   and ("health" not in wanted or app.get("health") == "Healthy")
                   and ("operation" not in wanted or not running))
        if reached:
            print(f"{args.name}: {app.get('sync')} {app.get('health')}")
            return 0
        if time.monotonic() >= deadline:
            print(f"{args.name}: timed out after {args.timeout:.0f}s: sync {app.get('sync')}, health "
                  f"{app.get('health')}, operation {operation.get('phase') or 'none'}", file=sys.stderr)
            return 1
        time.sleep(0.5)


def manifests(args: argparse.Namespace) -> int:
    """The app's manifests: `git` as rendered (desired), `live` as in the cluster; Secret values masked."""
    client = open_backend()
    app = call_backend(client.get, args.name)
    docs = []
    for resource in app.get("resources") or []:
        if resource.get("kind") == "Application" and resource.get("group") == "argoproj.io":
            continue
        target = {"group": resource.get("group", ""), "kind": resource["kind"],
                  "namespace": resource.get("namespace", ""), "resourceName": resource["name"]}
        body = _view(client, "GET", f"/api/v1/applications/{args.name}/resource", params=target,
                     view=("resource", {"name": args.name, **target}))
        doc = body.get("liveManifest" if args.source == "live" else "desiredManifest")
        if doc:
            docs.append(doc)
    sys.stdout.write(yaml.safe_dump_all(docs, sort_keys=False) if docs else "")
    return 0


def _register(client: Any, manifest: dict[str, Any]) -> None:
    call_backend(client.create, yaml.safe_dump(manifest, sort_keys=False), "<app set>")


def set_app(args: argparse.Namespace) -> int:
    client = open_backend()
    manifest = copy.deepcopy(call_backend(client.get, args.name)["manifest"])
    spec = manifest.setdefault("spec", {})
    source = spec.get("source")
    if (args.revision or args.helm_set) and not isinstance(source, dict):
        raise CommandError(f"application {args.name!r} has several sources: edit spec.sources with `app patch`")
    if args.revision:
        source["targetRevision"] = args.revision
    for item in args.helm_set or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CommandError(f"--helm-set {item!r}: expected key=value", exit_code=2)
        params = source.setdefault("helm", {}).setdefault("parameters", [])
        params[:] = [p for p in params if p.get("name") != key] + [{"name": key, "value": value}]
    if args.sync_policy == "none":
        spec.setdefault("syncPolicy", {}).pop("automated", None)
    elif args.sync_policy == "automated":
        spec.setdefault("syncPolicy", {})["automated"] = spec.get("syncPolicy", {}).get("automated") or {}
    _register(client, manifest)
    print(f"application {args.name!r} updated")
    return 0


def patch_app(args: argparse.Namespace) -> int:
    client = open_backend()
    manifest = call_backend(client.get, args.name)["manifest"]
    try:
        patch = json.loads(args.patch)
    except ValueError as exc:
        raise CommandError(f"--patch is not valid JSON: {exc}", exit_code=2) from None
    if args.type == "merge":
        from reconciler.engine.actions.patch import apply_merge_patch

        patched = apply_merge_patch(manifest, patch)
    else:
        from reconciler.engine.actions.patch import JsonPatchError, apply_json_patch

        try:
            patched = apply_json_patch(manifest, patch)
        except JsonPatchError as exc:
            raise CommandError(f"--patch: {exc}") from None
    if patched.get("metadata", {}).get("name") != args.name:
        raise CommandError("the patch may not rename the application")
    try:
        _register(client, patched)
    except ClientError as exc:
        raise CommandError(str(exc)) from None
    print(f"application {args.name!r} patched")
    return 0


def add_view_parsers(cmds: Any) -> None:
    p = cmds.add_parser("logs", help="container logs of the app's Pods (a Pod, or the Pods under an object)")
    p.add_argument("name")
    p.add_argument("--kind", help="kind of the object whose Pods to read (Deployment, StatefulSet, Job, ...)")
    p.add_argument("--name", dest="resource_name", help="name of that object")
    p.add_argument("--pod", help="one Pod by name")
    p.add_argument("--namespace", help="its namespace")
    p.add_argument("--group", help="its API group")
    p.add_argument("-c", "--container", help="the container (default: the Pod's default container)")
    p.add_argument("-f", "--follow", action="store_true", help="stream new lines as they are written")
    p.add_argument("-p", "--previous", action="store_true", help="the previous (terminated) container's logs")
    p.add_argument("--tail", type=int, default=-1, help="only the last N lines")
    p.set_defaults(handler=logs)

    actions = cmds.add_parser("actions", help="resource actions (Argo CD's Lua actions) of the app's objects")
    verbs = actions.add_subparsers(dest="actions_command", metavar="list|run", required=True)
    for verb in ("list", "run"):
        p = verbs.add_parser(verb, help="list the actions an object offers" if verb == "list" else "run one")
        p.add_argument("name")
        if verb == "run":
            p.add_argument("action")
            p.add_argument("--param", action="append", help="name=value (repeatable) for actions with parameters")
        p.add_argument("--kind", required=True)
        p.add_argument("--name", dest="resource_name", required=True, help="the object's name")
        p.add_argument("--namespace", default="")
        p.add_argument("--group", default="")
        p.set_defaults(handler=actions_list if verb == "list" else actions_run)

    p = cmds.add_parser("wait", help="wait until the app is synced, healthy and its operation done (exit 1: timeout)")
    p.add_argument("name")
    p.add_argument("--sync", action="store_true", help="wait for Synced")
    p.add_argument("--health", action="store_true", help="wait for Healthy")
    p.add_argument("--operation", action="store_true", help="wait until no operation runs")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds (default 300)")
    p.set_defaults(handler=wait)

    p = cmds.add_parser("manifests", help="print the app's manifests as Git renders them or as they are live")
    p.add_argument("name")
    p.add_argument("--source", choices=["git", "live"], default="git")
    p.set_defaults(handler=manifests)

    p = cmds.add_parser("set", help="change the app's target revision, Helm parameters or sync policy")
    p.add_argument("name")
    p.add_argument("--revision")
    p.add_argument("--helm-set", action="append", help="key=value Helm parameter (repeatable)")
    p.add_argument("--sync-policy", choices=["none", "automated"])
    p.set_defaults(handler=set_app)

    p = cmds.add_parser("patch", help="patch the Application manifest (JSON merge patch or JSON patch)")
    p.add_argument("name")
    p.add_argument("--patch", required=True, help="the patch, as JSON")
    p.add_argument("--type", choices=["merge", "json"], default="json", help="as `argocd app patch` (default json)")
    p.set_defaults(handler=patch_app)
