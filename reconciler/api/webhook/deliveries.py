"""Which delivery a webhook request is, so a replayed one is acknowledged and ignored.

A signed delivery captured once (a proxy log, a CI job's output) could otherwise be sent
again and again: each copy passes the signature check and queues fresh polls of every app
on the repository. Every provider names its deliveries; a name seen within REPLAY_WINDOW
is answered 200 with `duplicate: true` and does nothing. Checked after the signature, so
an unsigned request cannot use up a name.

    GitHub              X-GitHub-Delivery
    GitLab              X-Gitlab-Event-UUID
    Bitbucket Cloud     X-Request-UUID   (not X-Hook-UUID: that names the webhook, the same for
                                          every delivery)
    Bitbucket Server    X-Request-Id
    Gitea / Gogs        X-Gitea-Delivery / X-Gogs-Delivery
    generic             X-Reconciler-Delivery (any unique text up to 200 characters; optional)

A delivery without its header is handled as before (not every sender names deliveries).
"""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.api.webhook.event import lower_headers

REPLAY_WINDOW_SECONDS = 3600
MAX_DELIVERY_LENGTH = 200

DELIVERY_HEADERS: dict[str, tuple[str, ...]] = {
    "github": ("x-github-delivery",),
    "gitlab": ("x-gitlab-event-uuid",),
    "bitbucket": ("x-request-uuid",),
    "bitbucket-server": ("x-request-id",),
    "gitea": ("x-gitea-delivery", "x-github-delivery"),
    "gogs": ("x-gogs-delivery",),
    "generic": ("x-reconciler-delivery",),
}


def delivery_id(provider: str, headers: Mapping[str, str]) -> str:
    """The delivery's name from its provider's header ("" when it has none)."""
    lowered = lower_headers(headers)
    for header in DELIVERY_HEADERS.get(provider, ()):
        value = lowered.get(header, "").strip()
        if value:
            return value[:MAX_DELIVERY_LENGTH]
    return ""
