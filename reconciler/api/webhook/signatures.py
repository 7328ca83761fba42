"""Is a webhook delivery authentic? One check per provider, all in constant time.

Unlike Argo CD, which accepts unsigned payloads when no secret is set, a provider
without a configured secret is refused (403) unless unsigned hooks are allowed
explicitly. A configured secret is always enforced, whatever `allow_unsigned` says.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from reconciler.api.webhook.event import WebhookError, check_size, lower_headers, secret_env_var, secret_family

# provider -> (header carrying the HMAC-SHA256 of the body, prefix before the hex digest)
_HMAC_HEADERS = {
    "github": ("x-hub-signature-256", "sha256="),
    "bitbucket-server": ("x-hub-signature", "sha256="),
    "gitea": ("x-gitea-signature", ""),
    "gogs": ("x-gogs-signature", ""),
    "generic": ("x-signature", "sha256="),
}

_DISPLAY = {
    "github": "X-Hub-Signature-256",
    "bitbucket-server": "X-Hub-Signature",
    "gitea": "X-Gitea-Signature",
    "gogs": "X-Gogs-Signature",
    "generic": "X-Signature",
}


def verify(
    provider: str,
    headers: Mapping[str, str],
    body: bytes,
    secrets: Mapping[str, str],
    allow_unsigned: bool = False,
) -> None:
    """Return when the delivery is authentic; raise `WebhookError` (401/403/413) when not.

    `secrets` is keyed by provider family: github, gitlab, bitbucket (Bitbucket Server
    HMAC secret and Bitbucket Cloud hook UUID), gitea (Gitea and Gogs), generic.
    """
    check_size(len(body))
    family = secret_family(provider)
    secret = secrets.get(family, "")
    if not secret:
        if allow_unsigned:
            return
        raise WebhookError(
            403,
            f"webhook secret for {family} is not configured: set {secret_env_var(provider)} "
            "(or allow unsigned hooks explicitly with RECONCILER_WEBHOOK_ALLOW_UNSIGNED=true)",
        )
    lowered = lower_headers(headers)
    if provider == "gitlab":
        _check_token(lowered, "x-gitlab-token", "X-Gitlab-Token", secret, provider)
    elif provider == "bitbucket":
        _check_hook_uuid(lowered, secret, provider)
    else:
        _check_hmac(provider, lowered, body, secret)


def _check_hmac(provider: str, headers: Mapping[str, str], body: bytes, secret: str) -> None:
    header, prefix = _HMAC_HEADERS[provider]
    display = _DISPLAY[provider]
    value = headers.get(header, "").strip()
    if not value:
        raise WebhookError(
            401,
            f"{provider} webhook carries no {display} header: set the secret on the webhook "
            f"to the value of {secret_env_var(provider)}",
        )
    if prefix and not value.lower().startswith(prefix):
        raise WebhookError(401, f"{display} header must have the form {prefix}<hex HMAC-SHA256 of the body>")
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    given = value[len(prefix) :].strip().lower()
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise WebhookError(
            401,
            f"{display} does not match the HMAC-SHA256 of the body: the secret on the {provider} "
            f"webhook must equal {secret_env_var(provider)}, and the body must reach us unmodified",
        )


def _check_token(headers: Mapping[str, str], header: str, display: str, secret: str, provider: str) -> None:
    value = headers.get(header, "")
    if not value:
        raise WebhookError(
            401,
            f"{provider} webhook carries no {display} header: set the webhook's secret token "
            f"to the value of {secret_env_var(provider)}",
        )
    if not hmac.compare_digest(value.encode(), secret.encode()):
        raise WebhookError(
            401,
            f"{display} does not equal {secret_env_var(provider)}: make the webhook's secret token match it",
        )


def _canonical_uuid(value: str) -> bytes:
    # Bitbucket Cloud shows hook UUIDs with braces ("{1234-...}"); users copy them either way.
    return value.strip().strip("{}").lower().encode()


def _check_hook_uuid(headers: Mapping[str, str], secret: str, provider: str) -> None:
    value = headers.get("x-hook-uuid", "")
    if not value:
        raise WebhookError(401, "bitbucket webhook carries no X-Hook-UUID header")
    if not hmac.compare_digest(_canonical_uuid(value), _canonical_uuid(secret)):
        raise WebhookError(
            401,
            f"X-Hook-UUID does not equal {secret_env_var(provider)}: set that variable to this "
            "webhook's UUID as Bitbucket sends it in X-Hook-UUID",
        )
