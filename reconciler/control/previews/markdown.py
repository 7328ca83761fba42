"""The preview document as Markdown: what `reconciler preview` prints and what a pull request's
comment holds. The comment starts with MARKER, by which the next push finds and edits it; a
report over the host's size limit is cut to its summary, with a link to the full one."""

from __future__ import annotations

import re
from typing import Any

from reconciler.control.previews.document import commit_state, headline

MARKER = "<!-- reconciler-preview -->"
_ICONS = {"error": "❌", "added": "🆕", "removed": "🗑️", "changed": "✏️", "unchanged": "✔️"}


def _fence(text: str) -> str:
    """A code fence longer than any run of backticks in `text`, so a diff cannot close it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _object_name(obj: dict[str, Any]) -> str:
    kind = f"{obj['group']}/{obj['kind']}" if obj.get("group") else obj["kind"]
    where = f"{obj['namespace']}/" if obj.get("namespace") else ""
    return f"{kind} {where}{obj['name']}"


def _app_section(app: dict[str, Any], with_diffs: bool) -> list[str]:
    lines = [f"#### {_ICONS[app['status']]} {app['name']} ({app['status']})", ""]
    for error in app.get("errors") or []:
        where = f"{error['file']}:{error['line']}" if error.get("file") and error.get("line") else error.get("file")
        lines.append(f"- **render error** {f'`{where}`: ' if where else ''}{error['message']}")
    for refusal in app.get("refused") or []:
        reason = "refused by the project" if refusal["reason"] == "project" else "held by a sync window"
        lines.append(f"- **{reason}**: {refusal['message']}")
    for obj in app.get("objects") or []:
        lines.append(f"- {obj['change']}: `{_object_name(obj)}`")
    if app["status"] in ("changed", "added") and not (app.get("objects") or app.get("errors") or app.get("refused")):
        lines.append("- its render changes, but no object in the cluster would (child apps, or objects already so)")
    if app.get("hooks"):
        hooks = ", ".join(f"{h['phase']} `{h['kind']} {h['name']}`" for h in app["hooks"])
        lines.append(f"- hooks that would run: {hooks}")
    diffs = [obj for obj in app.get("objects") or [] if obj.get("diff")] if with_diffs else []
    for obj in diffs:
        fence = _fence(obj["diff"])
        lines += ["", f"<details><summary>{_object_name(obj)}</summary>", "", f"{fence}diff",
                  obj["diff"].rstrip("\n"), fence, "", "</details>"]  # fmt: skip
    lines.append("")
    return lines


def to_markdown(document: dict[str, Any], link: str = "", with_diffs: bool = True) -> str:
    apps = document.get("apps") or []
    state = commit_state(document)
    lines = [
        MARKER,
        f"### Reconciler preview: {headline(document)}",
        "",
        f"`{document.get('base', '')[:7]}` → `{document.get('head', '')[:7]}` of {document.get('repoURL', '')}"
        f" · {'✅ nothing fails' if state == 'success' else '❌ something fails'}"
        + (f" · [full report]({link})" if link else ""),
        "",
    ]
    for app in apps:
        if app["status"] != "unchanged":
            lines += _app_section(app, with_diffs)
    unchanged = [app["name"] for app in apps if app["status"] == "unchanged"]
    if unchanged:
        lines.append(f"Unchanged ({len(unchanged)}): {', '.join(unchanged)}")
    if not apps:
        lines.append("No registered application uses this repository.")
    return "\n".join(lines).rstrip() + "\n"


def comment_body(document: dict[str, Any], link: str, limit: int) -> str:
    """The comment for a host whose comments hold at most `limit` characters: the whole report,
    else without diffs, else the summary alone, each with the link to the full report."""
    full = to_markdown(document, link)
    if len(full) <= limit:
        return full
    note = f"\n_The full report with every diff is too long for a comment: [open it]({link})._\n" if link else (
        "\n_The full report is too long for a comment; run `reconciler preview` to see it._\n")
    short = to_markdown(document, link, with_diffs=False) + note
    if len(short) <= limit:
        return short
    head = "\n".join(short.splitlines()[:3])
    return (head + "\n" + note)[:limit]
