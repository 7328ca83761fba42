"""`reconciler preview --repo URL --base REV --head REV [-o markdown|json]`: what a change does to
every registered app that uses the repository (docs/previews.md).

With RECONCILER_SERVER it asks the API (POST /api/v1/previews, then polls the Location), so the
caller's RBAC applies: only the apps it may `get` are previewed. Without, it runs here against
Redis and the clusters of KUBECONFIG, as the operator's tool (like `app diff`).

Exit status: 0 no changes, 1 changes, 2 an app fails to render or the preview cannot run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from reconciler.cli.errors import CommandError
from reconciler.control.previews.document import EXIT_ERROR, exit_code
from reconciler.control.previews.markdown import to_markdown
from reconciler.control.previews.request import InvalidPreviewRequest, PreviewRequest, check_request
from reconciler.settings import Settings, SettingsError


def add_preview_parser(sub: Any) -> None:
    preview = sub.add_parser(
        "preview",
        help="what a change between two commits does to every app that uses the repository "
        "(exit 0 no changes, 1 changes, 2 a render fails)",
    )
    preview.add_argument("--repo", required=True, help="repository URL, as in the apps' spec.source.repoURL")
    preview.add_argument("--base", required=True, help="branch, tag or commit the change starts from")
    preview.add_argument("--head", required=True, help="branch, tag or commit of the change")
    preview.add_argument("-o", "--output", choices=("markdown", "json"), default="markdown")
    preview.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the API's result")
    preview.set_defaults(handler=preview_command)


def preview_command(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env()
        repo, base, head = check_request(args.repo, args.base, args.head)
    except (SettingsError, InvalidPreviewRequest) as exc:
        raise CommandError(str(exc), EXIT_ERROR) from None
    document = _remote(settings, repo, base, head, args.timeout) if settings.server else _local(
        settings, PreviewRequest(repo, base, head))
    if args.output == "json":
        sys.stdout.write(json.dumps(document, indent=2, sort_keys=True) + "\n")
    else:
        sys.stdout.write(to_markdown(document))
    return exit_code(document)


def _local(settings: Settings, request: PreviewRequest) -> dict[str, Any]:
    from reconciler.control.previews.run import PreviewFailed, run_preview
    from reconciler.services import Services

    try:
        services = Services.create(settings)
    except OSError as exc:
        raise CommandError(f"cannot reach Redis: {exc}; set REDIS_URL or RECONCILER_SERVER", EXIT_ERROR) from None
    try:
        return run_preview(services, request)
    except PreviewFailed as exc:
        raise CommandError(str(exc), EXIT_ERROR) from None
    finally:
        services.close()


def _remote(settings: Settings, repo: str, base: str, head: str, timeout: float) -> dict[str, Any]:
    from reconciler.cli.api_client import ClientError, RemoteBackend

    client = RemoteBackend(settings.server, settings.api_token)
    deadline = time.monotonic() + timeout
    try:
        view = client._call("POST", "/api/v1/previews", params={"wait": 30}, json={
            "repoURL": repo, "base": base, "head": head})  # fmt: skip
        while view.get("state") not in ("finished", "failed", "cancelled"):
            if time.monotonic() > deadline:
                raise CommandError(
                    f"preview {view.get('id')} did not end within {timeout:.0f}s: check that workers consume the "
                    "`preview` queue, or raise --timeout", EXIT_ERROR)  # fmt: skip
            time.sleep(1.0)
            view = client._call("GET", f"/api/v1/previews/{view['id']}")
    except ClientError as exc:
        raise CommandError(str(exc), EXIT_ERROR) from None
    if view["state"] != "finished":
        raise CommandError(f"preview {view.get('id')} {view['state']}: {view.get('error', '')}", EXIT_ERROR)
    return dict(view)
