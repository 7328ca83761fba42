"""What the dashboard shows, as plain data: pure functions over `reconciler.control.user_actions`
results (and live objects already fetched), so the page's content is testable without
a browser and the JavaScript only lays it out.

Repository URLs are shown with credentials removed; diffs arrive already masked for
Secrets (the poll masks them before they are stored).
"""

from __future__ import annotations

import re
from typing import Any

from reconciler.api.dashboard.commit_links import commit_url, repo_url_for_web
from reconciler.control.user_actions import ROLLBACK_REFUSED_AUTOSYNC
from reconciler.core.urls import redact_text, redact_url
from reconciler.model.operation import OperationPhase

# Condition types in words a reader who never saw the code understands.
_CONDITION_TITLES = {
    "ComparisonError": "Could not compare Git with the cluster",
    "InvalidSpecError": "The application cannot be synced as configured",
    "SyncError": "A resource could not be compared",
    "OperationError": "The last sync failed",
    "RetryScheduled": "The last sync attempt failed and will be retried",
}


def _words(camel: str) -> str:
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", camel).strip()
    return spaced[:1].upper() + spaced[1:].lower() if spaced else "Condition"


def condition_title(condition_type: str) -> str:
    return _CONDITION_TITLES.get(condition_type) or _words(condition_type)


def _automated_flags(manifest: dict[str, Any], automated: bool) -> tuple[bool, bool]:
    """(prune, selfHeal) of `syncPolicy.automated`, as the manifest says."""
    policy = ((manifest.get("spec") or {}).get("syncPolicy") or {}).get("automated")
    if not automated or not isinstance(policy, dict):
        return False, False
    return bool(policy.get("prune")), bool(policy.get("selfHeal"))


def list_row(summary: dict[str, Any], status: dict[str, Any] | None, manifest: dict[str, Any]) -> dict[str, Any]:
    """One line of the applications list: `actions.summary` plus links and sync-policy flags."""
    status = status or {}
    prune, self_heal = _automated_flags(manifest, bool(summary.get("automated")))
    raw_repo = str(summary.get("repoURL") or "")
    revision = str(summary.get("revision") or "")
    synced = str(summary.get("syncedRevision") or "")
    last = dict(summary.get("lastSync") or {})
    last["message"] = redact_text(str(last.get("message") or ""))
    return {
        "name": summary["name"],
        "project": summary.get("project") or "",
        "repoURL": redact_url(raw_repo),
        "repoWebURL": repo_url_for_web(raw_repo),
        "path": summary.get("path") or "",
        "targetRevision": summary.get("targetRevision") or "",
        "revision": revision,
        "revisionURL": commit_url(raw_repo, revision),
        "syncedRevision": synced,
        "syncedRevisionURL": commit_url(raw_repo, synced),
        "sync": summary.get("sync") or "Unknown",
        "health": summary.get("health") or "Unknown",
        "healthMessage": (status.get("health") or {}).get("message", ""),
        "lastSync": last,
        "automated": bool(summary.get("automated")),
        "prune": prune,
        "selfHeal": self_heal,
        "parent": summary.get("parent") or "",
        "destination": summary.get("destination") or status.get("destination") or {},
        "observedAt": status.get("observedAt"),
    }


def conditions(detail: dict[str, Any]) -> list[dict[str, str]]:
    """The app's conditions, plus the last sync's failure, each with a plain title."""
    found = [
        {
            "type": str(c.get("type") or ""),
            "title": condition_title(str(c.get("type") or "")),
            "message": redact_text(str(c.get("message") or "")),
        }
        for c in detail.get("conditions") or []
    ]
    operation = detail.get("operation") or {}
    message = redact_text(str(operation.get("message") or ""))
    if operation.get("phase") in (OperationPhase.FAILED, OperationPhase.ERROR):
        found.append({"type": "OperationError", "title": condition_title("OperationError"), "message": message})
    elif operation.get("phase") == OperationPhase.RUNNING and operation.get("nextRetryAt"):
        found.append({"type": "RetryScheduled", "title": condition_title("RetryScheduled"), "message": message})
    return found


def operation_view(operation: dict[str, Any] | None) -> dict[str, Any] | None:
    if not operation:
        return None
    return {
        "id": operation.get("id", ""),
        "phase": operation.get("phase", ""),
        "message": redact_text(str(operation.get("message") or "")),
        "trigger": operation.get("trigger", ""),
        "revision": operation.get("revision", ""),
        "startedAt": operation.get("startedAt"),
        "finishedAt": operation.get("finishedAt"),
        "retryCount": int(operation.get("retryCount") or 0),
        "nextRetryAt": operation.get("nextRetryAt"),
        "results": [
            {
                "resource": str(r.get("resource", "")),
                "status": str(r.get("status", "")),
                "message": redact_text(str(r.get("message") or "")),
            }
            for r in operation.get("resources") or []
        ],
        "hooks": [
            {
                "phase": str(h.get("phase", "")),
                "wave": h.get("wave", 0),
                "kind": str(h.get("kind", "")),
                "namespace": str(h.get("namespace", "")),
                "name": str(h.get("name", "")),
                "generateName": str(h.get("generateName", "")),
                "status": str(h.get("status", "")),
                "message": redact_text(str(h.get("message") or "")),
            }
            for h in operation.get("hooks") or []
        ],
    }


def history_view(history: list[dict[str, Any]], raw_repo: str) -> list[dict[str, Any]]:
    """Newest first, as people read a deploy log."""
    return [
        {
            "id": int(entry["id"]),
            "revision": entry.get("revision", ""),
            "revisionURL": commit_url(raw_repo, str(entry.get("revision") or "")),
            "deployedAt": entry.get("deployedAt"),
            "initiatedBy": entry.get("initiatedBy", ""),
        }
        for entry in reversed(history)
    ]


def rollback_view(automated: bool) -> dict[str, Any]:
    if automated:
        return {
            "allowed": False,
            "reason": f"{ROLLBACK_REFUSED_AUTOSYNC}: turn off syncPolicy.automated on this application first",
        }
    return {"allowed": True, "reason": ""}


def child_apps(children: list[str], rows: dict[str, dict[str, Any]]) -> list[dict[str, str]]:
    return [
        {
            "name": child,
            "project": (rows.get(child) or {}).get("project", ""),
            "sync": (rows.get(child) or {}).get("sync", "Unknown"),
            "health": (rows.get(child) or {}).get("health", "Unknown"),
        }
        for child in children
    ]


def app_detail(detail: dict[str, Any], status: dict[str, Any] | None,
               child_rows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The application page: `actions.get_app` laid out for reading (its graph is the REST
    API's resource-tree, read by the page itself)."""
    status = status or {}
    row = list_row(detail, status, detail.get("manifest") or {})
    raw_repo = str(detail.get("repoURL") or "")
    return {
        **row,
        "conditions": conditions(detail),
        "operation": operation_view(detail.get("operation")),
        "history": history_view(detail.get("history") or [], raw_repo),
        "rollback": rollback_view(row["automated"]),
        "children": child_apps(detail.get("children") or [], child_rows),
        "orphanedResourcesCount": status.get("orphanedResourcesCount"),
    }
