"""`reconciler proj role create-token|delete-token|list-tokens`: tokens of AppProject roles, as Argo CD's.

    reconciler proj role create-token PROJECT ROLE [--expires-in 12h]   prints the token (only time it is shown)
    reconciler proj role delete-token PROJECT ROLE ID                   ID: the token's id, or its issued-at
    reconciler proj role list-tokens PROJECT ROLE [-o json]

Through the API when RECONCILER_SERVER is set (needs `projects, update` on the project), else
on Redis directly, the installation operator's way (signed with RECONCILER_TOKEN_SIGNING_KEY or
the data dir's key, which must be the API's).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from reconciler.cli.app_commands import call_backend, open_backend


def _when(ts: int | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if ts else "never"


def create_token(args: argparse.Namespace) -> int:
    made = call_backend(open_backend().create_token, args.project, args.role, args.expires_in)
    if args.token_only:
        print(made["token"])
        return 0
    print(made["token"])
    print(f"(id {made['id']}, issued at {made['iat']}, expires {_when(made.get('exp'))})", file=sys.stderr)
    return 0


def delete_token(args: argparse.Namespace) -> int:
    revoked = call_backend(open_backend().delete_token, args.project, args.role, args.id)["revoked"]
    where = f"role {args.role!r} of project {args.project!r}"
    print(f"token {revoked['id']} (issued at {revoked['iat']}) of {where} revoked")
    return 0


def list_tokens(args: argparse.Namespace) -> int:
    tokens: list[dict[str, Any]] = call_backend(open_backend().list_tokens, args.project, args.role)
    if args.output == "json":
        sys.stdout.write(json.dumps(tokens, indent=2, sort_keys=True) + "\n")
        return 0
    print("ID                                    ISSUED-AT   EXPIRES")
    for token in tokens:
        print(f"{token['id']:<36}  {token['iat']:<10}  {_when(token.get('exp'))}")
    return 0


def add_proj_parser(sub: Any) -> None:
    proj = sub.add_parser("proj", help="AppProject role tokens")
    cmds = proj.add_subparsers(dest="proj_command", metavar="SUBCOMMAND", required=True)
    role = cmds.add_parser("role", help="tokens of a project role (spec.roles)")
    verbs = role.add_subparsers(dest="role_command", metavar="SUBCOMMAND", required=True)

    p = verbs.add_parser("create-token", help="create a token of PROJECT's ROLE and print it (shown only now)")
    p.add_argument("project")
    p.add_argument("role")
    p.add_argument("-e", "--expires-in", default="", help='lifetime, e.g. "12h", "7d" (default: never expires)')
    p.add_argument("-t", "--token-only", action="store_true", help="print only the token")
    p.set_defaults(handler=create_token)

    p = verbs.add_parser("delete-token", help="revoke a token of PROJECT's ROLE by its id or issued-at")
    p.add_argument("project")
    p.add_argument("role")
    p.add_argument("id", help="the token's id, or its issued-at (as Argo CD's delete-token takes)")
    p.set_defaults(handler=delete_token)

    p = verbs.add_parser("list-tokens", help="list the tokens of PROJECT's ROLE (id, issued-at, expiry)")
    p.add_argument("project")
    p.add_argument("role")
    p.add_argument("-o", "--output", choices=["text", "json"], default="text")
    p.set_defaults(handler=list_tokens)
