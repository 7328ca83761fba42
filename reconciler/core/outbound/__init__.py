"""Outbound connections to addresses the operator allows, and errors that carry no peer's bytes.

    OutboundPolicy()                          the allow-list (RECONCILER_ALLOWED_PRIVATE_HOSTS, repo URLs)
    policy.connect(host, port, timeout)       a socket to a checked address, or OutboundRefused
    guarded_client(policy, ...)               an httpx.Client whose every connection is checked
    failure_text(exc_or_response)             what went wrong, in our words (never the peer's)

Used by the Git source (through a local SOCKS proxy, source/git/egress.py), Helm repositories
and OCI registries (source/helm), and meant for notification and pull-request clients.
"""

from reconciler.core.outbound.http import FetchError, failure_text, guarded_client, read_limited
from reconciler.core.outbound.policy import (
    ALLOW_VARIABLE,
    AllowListError,
    OutboundPolicy,
    OutboundRefused,
    parse_allow_list,
    refusal_reason,
)

__all__ = [
    "ALLOW_VARIABLE",
    "AllowListError",
    "FetchError",
    "OutboundPolicy",
    "OutboundRefused",
    "failure_text",
    "guarded_client",
    "parse_allow_list",
    "read_limited",
    "refusal_reason",
]
