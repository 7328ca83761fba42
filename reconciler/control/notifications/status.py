"""What an app shows of its notifications: the last deliveries and failures, what is still
being tried, and subscriptions the configuration cannot honour. Never a rendered message or a
secret: only trigger, service, recipient, outcome and the (redacted) error."""

from __future__ import annotations

from typing import Any

from reconciler.state import Store


def notifications_summary(store: Store, name: str) -> dict[str, Any]:
    pending = [
        {
            "trigger": entry.get("trigger"),
            "service": entry.get("service"),
            "recipient": entry.get("recipient"),
            "attempts": entry.get("attempts", 0),
            "lastError": entry.get("lastError", ""),
            "nextAttemptAt": entry.get("nextAttemptAt"),
            "decidedAt": entry.get("createdAt"),
        }
        for entry in sorted(store.pending_deliveries(name).values(), key=lambda e: float(e.get("createdAt") or 0))
    ]
    log = store.notification_log(name)
    return {
        "deliveries": log,
        "failures": [record for record in log if not record.get("succeeded")],
        "pending": pending,
        "problems": store.notify_decision(name).get("problems") or [],
    }
