"""Retry arithmetic of failed syncs, as Argo CD's controller does it."""

from __future__ import annotations

from reconciler.model.types import DEFAULT_AUTOMATED_RETRY_LIMIT, Application, RetryPolicy


def effective_retry(app: Application) -> RetryPolicy | None:
    """The retry policy a failed sync of `app` follows, or None for no retries.

    Mirrors Argo CD's controller: an automated sync without a `retry` block still
    retries 5 times with the default backoff (5s, x2, at most 3m); a `retry` block
    replaces that whole policy, so a block without `limit` means limit 0 (no retries).
    Deviation: Argo CD applies the spec's retry block to automated syncs only (a manual
    sync carries its own retry request); here it applies to every sync of the app.
    """
    policy = app.sync_policy
    if policy.retry is not None:
        return policy.retry
    if policy.automated is not None:
        return RetryPolicy(limit=DEFAULT_AUTOMATED_RETRY_LIMIT)
    return None


def retry_delay(policy: RetryPolicy, retry_count: int) -> float:
    """Seconds to wait before retry number `retry_count` (0-based): duration * factor**count.

    Capped at maxDuration when that is positive (Argo CD leaves the wait uncapped when
    maxDuration is 0). Defaults give 5, 10, 20, 40, 80, 160, 180, 180... seconds.
    """
    backoff = policy.backoff
    wait = backoff.duration_seconds * float(backoff.factor) ** max(retry_count, 0)
    if backoff.max_duration_seconds > 0:
        wait = min(wait, backoff.max_duration_seconds)
    return wait


def should_retry(policy: RetryPolicy | None, retry_count: int) -> bool:
    """True when a sync that failed after `retry_count` retries may be retried again."""
    if policy is None:
        return False
    return policy.limit < 0 or retry_count < policy.limit
