"""`reconciler health -f OBJECT.yaml [--lua FILE]`: the health verdict for one object.

Like Argo CD's `argocd admin settings resource-overrides health`: it prints the status
and message the reconciler would report for that live object, using the configured
resource customizations (RECONCILER_RESOURCE_CUSTOMIZATIONS_FILE / _DIR) and the
built-in rules, or only the Lua script given with --lua (to try a check being written).
Needs no cluster and no Redis. Exit 0 with any verdict (Unknown included: it is an
answer); 1 when the object or the script cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from reconciler.cli.errors import CommandError
from reconciler.engine.health.assess import Health, assess
from reconciler.engine.health.rules.configured import environment_customizations
from reconciler.engine.health.rules.lua_runtime import LuaScript, run_health_check


def add_health_parser(sub: Any) -> None:
    health = sub.add_parser("health", help="print the health verdict for a live object (YAML)")
    health.add_argument(
        "-f", "--file", required=True, help="the live object, as `kubectl get -o yaml` prints it; - reads stdin"
    )
    health.add_argument("--lua", help="assess with this Lua health check (Argo CD's health.lua contract) only")
    health.add_argument("-o", "--output", choices=("text", "json"), default="text")
    health.set_defaults(handler=health_command)


def _read(path: str, what: str) -> str:
    try:
        if path == "-":
            return sys.stdin.read()
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CommandError(f"{path}: cannot read the {what}: {getattr(error, 'strerror', None) or error}") from None


def load_object(path: str) -> dict[str, Any]:
    try:
        documents = [doc for doc in yaml.safe_load_all(_read(path, "object")) if doc is not None]
    except yaml.YAMLError as error:
        raise CommandError(f"{path}: not valid YAML: {error}") from None
    if len(documents) != 1:
        raise CommandError(f"{path}: expected one object, found {len(documents)} YAML documents")
    obj = documents[0]
    if not isinstance(obj, dict) or not obj.get("kind") or not obj.get("apiVersion"):
        raise CommandError(f"{path}: not a Kubernetes object (a map with apiVersion and kind)")
    return obj


def health_command(args: argparse.Namespace) -> int:
    obj = load_object(args.file)
    if args.lua:
        verdict: Health = run_health_check(LuaScript(_read(args.lua, "Lua script"), args.lua), obj)
    else:
        verdict = assess(obj, environment_customizations())
    if args.output == "json":
        print(json.dumps(verdict.as_dict()))
    else:
        print(f"STATUS: {verdict.status.value}")
        print(f"MESSAGE: {verdict.message}")
    return 0
