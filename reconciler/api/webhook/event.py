"""What a webhook delivery means once read: a `PushEvent`, or a `WebhookError` to answer.

The HTTP layer turns `WebhookError.status` into the response code and its message into
the body; the messages name the header or field at fault and never carry a secret or
a signature value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from reconciler.core.errors import InputError

# GitHub caps deliveries at 25 MB; anything larger is not a real push notification.
MAX_PAYLOAD_BYTES = 25 * 1024 * 1024

# Providers whose secret is shared with another: one variable per hosting product family.
SECRET_FAMILY = {
    "github": "github",
    "gitlab": "gitlab",
    "bitbucket": "bitbucket",
    "bitbucket-server": "bitbucket",
    "gitea": "gitea",
    "gogs": "gitea",
    "generic": "generic",
}

PROVIDERS = tuple(SECRET_FAMILY)


@dataclass(frozen=True)
class PushEvent:
    """A push (or a ping) as the provider described it.

    `changed_files` is None when the payload does not list files (Bitbucket, a push
    without commits, a truncated commit list): callers must then not filter by path.
    `before`/`after` are "" for a created/deleted ref (the all-zero SHA) or when unknown.
    """

    provider: str
    repo_urls: tuple[str, ...]
    ref: str
    before: str
    after: str
    changed_files: tuple[str, ...] | None
    default_branch: str
    is_ping: bool = False


class WebhookError(InputError):
    """A delivery that is refused or cannot be used; `status` is the HTTP answer.

    400 malformed body or unknown sender, 401 bad or missing signature, 403 no secret
    configured (fail closed), 413 too large, 422 an event this system does not act on.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Header names are case-insensitive (RFC 9110); plain dicts are not."""
    return {str(name).lower(): str(value) for name, value in headers.items()}


def secret_family(provider: str) -> str:
    try:
        return SECRET_FAMILY[provider]
    except KeyError:
        raise WebhookError(
            400, f'unknown webhook provider "{provider}": expected one of {", ".join(PROVIDERS)}'
        ) from None


def secret_env_var(provider: str) -> str:
    """The environment variable that holds this provider's secret (see settings.py)."""
    return f"RECONCILER_WEBHOOK_{secret_family(provider).upper()}_SECRET"


def check_size(length: int, limit: int = MAX_PAYLOAD_BYTES) -> None:
    """413 when a body (or its Content-Length, before reading it) exceeds `limit` bytes."""
    if length > limit:
        raise WebhookError(
            413,
            f"webhook payload is {length} bytes, more than the {limit}-byte limit: "
            "send push events only, or raise the limit",
        )
