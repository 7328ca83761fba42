"""Git provider webhooks, without HTTP: who sent it, is it authentic, what push, whose app.

The HTTP handler (reconciler/api.py) does, in this order:

    check_size(content_length)                    # 413 before reading a huge body
    provider = detect_provider(headers)           # 400 when no provider header is present
    verify(provider, headers, body, settings.webhook_secrets, allow_unsigned)  # 401 / 403
    event = parse(provider, headers, body)        # 400 malformed, 422 unsupported event
    if not event.is_ping:
        refresh every app source where matches(event, repo_url, target_revision, path, ...)

and answers `WebhookError.status` with `str(error)` as the body. Signatures are checked
before the body is parsed, so an unauthenticated caller learns nothing about parsing.
Supported: GitHub, GitLab, Bitbucket Cloud, Bitbucket Server/Data Center, Gitea, Gogs
and a generic HMAC-signed JSON body (format in reconciler/webhook_providers.py).
"""

from __future__ import annotations

from reconciler.api.webhook.event import (
    MAX_PAYLOAD_BYTES,
    PushEvent,
    WebhookError,
    check_size,
    secret_env_var,
    secret_family,
)
from reconciler.api.webhook.matching import files_match, matches, revision_matches, same_repository
from reconciler.api.webhook.providers import detect_provider, parse
from reconciler.api.webhook.signatures import verify

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "PushEvent",
    "WebhookError",
    "check_size",
    "detect_provider",
    "files_match",
    "matches",
    "parse",
    "revision_matches",
    "same_repository",
    "secret_env_var",
    "secret_family",
    "verify",
]
