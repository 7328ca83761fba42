"""The `reconciler` command: argument parsing and dispatch only.

Exit status everywhere: 0 success, 1 refused or failed (reason on stderr), 2 usage.
`reconciler diff` follows `flux diff`: 0 in sync, 1 differences, 2 error.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable, Sequence

from reconciler.cli.app_commands import add_app_parser
from reconciler.cli.appset_commands import add_appset_parsers
from reconciler.cli.errors import CommandError
from reconciler.cli.health_command import add_health_parser
from reconciler.cli.login_commands import add_login_parsers
from reconciler.cli.notify_commands import add_notify_parser
from reconciler.cli.preview_commands import add_preview_parser
from reconciler.cli.proj_commands import add_proj_parser
from reconciler.cli.run_commands import add_run_parsers

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reconciler",
        description="GitOps reconciler for Kubernetes that reads Argo CD Application manifests.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    render = sub.add_parser("render", help="print the manifests an Application renders to")
    render.add_argument("-f", "--file", required=True, help="Application manifest (YAML)")
    render.add_argument("--app", help="which Application of a multi-document file")
    render.add_argument("--revision", help="render this revision instead of spec.source.targetRevision")
    render.set_defaults(handler=_offline("render_command"))

    diff = sub.add_parser("diff", help="diff an Application's manifests against the cluster (exit 1 on changes)")
    diff.add_argument("-f", "--file", required=True, help="Application manifest (YAML)")
    diff.add_argument("--app", help="which Application of a multi-document file")
    diff.add_argument("--revision", help="compare this revision instead of spec.source.targetRevision")
    diff.set_defaults(handler=_offline("diff_command"))

    add_health_parser(sub)
    add_app_parser(sub)
    add_appset_parsers(sub)
    add_proj_parser(sub)
    add_login_parsers(sub)
    add_run_parsers(sub)
    add_notify_parser(sub)
    add_preview_parser(sub)
    return parser


def _offline(name: str) -> Callable[[argparse.Namespace], int]:
    """A handler of cli/offline.py, imported when it runs: it loads the whole render and compare
    engine (about 1.5 s of imports), which no other command needs."""

    def handler(args: argparse.Namespace) -> int:
        from reconciler.cli import offline

        return int(getattr(offline, name)(args))

    return handler


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: one line for the user, the traceback only when asked for
        print(f"error: unexpected {type(exc).__name__}: {' '.join(str(exc).split())}", file=sys.stderr)
        if os.environ.get("RECONCILER_DEBUG"):
            traceback.print_exc()
        else:
            print("(set RECONCILER_DEBUG=1 to see where it happened)", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
