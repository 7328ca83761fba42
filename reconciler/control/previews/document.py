"""The preview document and its verdicts, pure functions of plain data.

    {"apps": [{"name", "status": "unchanged|changed|added|removed|error",
               "objects": [{"group", "kind", "namespace", "name", "change": "added|changed|pruned", "diff"}],
               "hooks": [{"phase", "kind", "namespace", "name"}],
               "errors": [{"file", "line", "message"}],
               "project", "refused": [{"reason": "project|syncWindow", "message"}]}]}

Exit code (`reconciler preview`): 0 no changes, 1 changes, 2 an app fails to render. The commit
status on a pull request: `failure` when an app fails to render or its project forbids
something, else `success`.
"""

from __future__ import annotations

from typing import Any

STATUSES = ("error", "added", "removed", "changed", "unchanged")
EXIT_UNCHANGED, EXIT_CHANGED, EXIT_ERROR = 0, 1, 2


def app_entry(name: str, project: str, status: str, **parts: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": name, "project": project, "status": status,
        "objects": [], "hooks": [], "errors": [], "refused": [],
    }  # fmt: skip
    entry.update(parts)
    return entry


def error_entry(name: str, project: str, message: str, file: str | None = None, line: int | None = None) -> dict:
    return app_entry(name, project, "error", errors=[{"file": file, "line": line, "message": message}])


def sort_apps(apps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Errors first, then added, removed, changed, unchanged; by name within each."""
    return sorted(apps, key=lambda a: (STATUSES.index(a["status"]), a["name"]))


def exit_code(document: dict[str, Any]) -> int:
    statuses = {app["status"] for app in document.get("apps") or []}
    if "error" in statuses:
        return EXIT_ERROR
    if statuses - {"unchanged"} or any(app.get("refused") for app in document.get("apps") or []):
        return EXIT_CHANGED
    return EXIT_UNCHANGED


def project_refusals(document: dict[str, Any]) -> list[str]:
    return [
        f"{app['name']}: {refusal['message']}"
        for app in document.get("apps") or []
        for refusal in app.get("refused") or []
        if refusal.get("reason") == "project"
    ]


def commit_state(document: dict[str, Any]) -> str:
    """`failure` when an app fails to render or a project forbids something, else `success`."""
    if any(app["status"] == "error" for app in document.get("apps") or []) or project_refusals(document):
        return "failure"
    return "success"


def summary(document: dict[str, Any]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for app in document.get("apps") or []:
        counts[app["status"]] += 1
    return counts


def headline(document: dict[str, Any]) -> str:
    """One line: what the change does, for a commit status's description and the CLI."""
    counts = summary(document)
    parts = [f"{counts[s]} {s}" for s in STATUSES if counts[s] and s != "unchanged"]
    refused = project_refusals(document)
    if refused:
        parts.append(f"{len(refused)} refused by a project")
    if not parts:
        return f"no app changes ({counts['unchanged']} unchanged)"
    return ", ".join(parts) + f" ({counts['unchanged']} unchanged)"


def visible_to(document: dict[str, Any], may_get: Any) -> dict[str, Any]:
    """The document with only the apps `may_get(project, name)` allows."""
    apps = [app for app in document.get("apps") or [] if may_get(app.get("project") or "default", app["name"])]
    return {**document, "apps": apps}


def status_description(document: dict[str, Any]) -> str:
    """A commit status's description (hosts keep 140 characters): the first render error with its
    file and line, else the first project refusal, else the headline."""
    for app in document.get("apps") or []:
        for error in app.get("errors") or []:
            where = error.get("file") or ""
            if where and error.get("line"):
                where += f":{error['line']}"
            return f"{app['name']} fails to render: {where + ': ' if where else ''}{error['message']}"[:140]
    refused = project_refusals(document)
    if refused:
        return f"refused by a project: {refused[0]}"[:140]
    return headline(document)[:140]
