"""What the compare pipeline needs to know about live objects without asking the API server.

    LiveRecord        one tracked object as a watch last saw it (uid, resourceVersion,
                      content fingerprint, health)
    LiveView          who answers "the app's live objects" (reconciler/live/reader.py reads
                      the watcher's index in Redis); None from `tracked()` means "cannot say"
                      and the compare LISTs the cluster as before
    live_fingerprint  what tells "unchanged since last verified": a hash of the object
                      without the fields a diff ignores (status, resourceVersion,
                      managedFields, generation), so a controller writing status does not
                      make the next poll ask for a dry-run again
    owned_fingerprint the same for only the fields this system's server-side apply owns
                      (its Apply entry in managedFields), so a controller writing metadata
                      of its own (a Deployment's revision annotation, a finalizer) does not
                      either; used only where that entry is known to hold exactly the
                      manifest's fields (engine/verified_marks.py `verified_mark`)

The engine stays free of Redis: a poll builds the reader and passes it in.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from reconciler.engine.health.assess import Health, HealthStatus
from reconciler.model.resources import ResourceKey

_VOLATILE_METADATA = ("resourceVersion", "managedFields", "generation")


def content_hash(value: Any) -> str:
    """A short hash of a JSON value, the same whatever order its keys come in."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def _is_secret(obj: Mapping[str, Any]) -> bool:
    return obj.get("kind") == "Secret" and str(obj.get("apiVersion", "")) == "v1"


def live_fingerprint(obj: Mapping[str, Any]) -> str:
    """Hash of the object as a diff sees it (the same on a watch event, a LIST item and a GET).

    A Secret's values never go into it (not even hashed, since the hash lands in Redis):
    its resourceVersion stands for them, as a Secret has no status that could move it."""
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _VOLATILE_METADATA}
    body = {k: v for k, v in obj.items() if k not in ("status", "metadata", "apiVersion")}
    if _is_secret(obj):
        body = {k: v for k, v in body.items() if k not in ("data", "stringData")}
        meta["resourceVersion"] = (obj.get("metadata") or {}).get("resourceVersion", "")
    body["metadata"] = meta
    return content_hash(body)


def owned_fields(obj: Mapping[str, Any], manager: str) -> dict[str, Any] | None:
    """The fieldsV1 of `manager`'s Apply entry in the object's managedFields (None: no such entry)."""
    for entry in (obj.get("metadata") or {}).get("managedFields") or ():
        if isinstance(entry, dict) and entry.get("manager") == manager and entry.get("operation") == "Apply":
            fields = entry.get("fieldsV1")
            return fields if isinstance(fields, dict) else {}
    return None


_ABSENT = {"$absent": True}


def _owned_values(value: Any, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The values of `value` at the paths a fieldsV1 set names (structured-merge-diff's path
    elements: `f:` a field, `k:` a list item by its keys, `v:` a set member, `i:` an index);
    a leaf's whole value, an absent path as a marker."""
    out: dict[str, Any] = {}
    for element, sub in fields.items():
        if element == ".":
            continue
        kind, _, text = element.partition(":")
        child: Any = _ABSENT
        try:
            if kind == "f" and isinstance(value, dict):
                child = value.get(text, _ABSENT)
            elif kind == "k" and isinstance(value, list):
                keys = json.loads(text)
                child = next((item for item in value if isinstance(item, dict)
                              and all(item.get(k) == v for k, v in keys.items())), _ABSENT)
            elif kind == "v" and isinstance(value, list):
                child = json.loads(text) in value
            elif kind == "i" and isinstance(value, list) and int(text) < len(value):
                child = value[int(text)]
        except (ValueError, AttributeError):
            child = _ABSENT
        nested = {k: v for k, v in (sub or {}).items() if k != "."} if isinstance(sub, dict) else {}
        out[element] = _owned_values(child, nested) if nested and child is not _ABSENT else child
    return out


def owned_fingerprint(obj: Mapping[str, Any], manager: str) -> str:
    """Hash of the fields `manager`'s Apply entry owns, their live values, and the object's
    identity (uid, deletionTimestamp); "" when the manager has no Apply entry. Any write that
    changes one of those values either changes it here or takes the field from the manager
    (the API server moves a field to whoever changes its value), so both show."""
    fields = owned_fields(obj, manager)
    if fields is None:
        return ""
    meta = obj.get("metadata") or {}
    values: Mapping[str, Any] = obj
    body = {"fields": fields, "uid": meta.get("uid", ""), "deleting": meta.get("deletionTimestamp", "")}
    if _is_secret(obj):
        # As in live_fingerprint: a Secret's values never go in, not even hashed (the hash lands
        # in Redis); its resourceVersion stands for them.
        values = {k: v for k, v in obj.items() if k not in ("data", "stringData")}
        body["resourceVersion"] = meta.get("resourceVersion", "")
    body["values"] = _owned_values(values, fields)
    return content_hash(body)


@dataclass(frozen=True)
class LiveRecord:
    key: ResourceKey
    api_version: str
    uid: str
    resource_version: str
    fingerprint: str
    health: Health
    owned: str = ""  # owned_fingerprint for this system's field manager ("" when it has no Apply entry)


class LiveView(Protocol):
    source: str  # what answered the last `tracked()`: "watch", or why the LIST path was taken

    def tracked(
        self, app_name: str, kinds: Iterable[tuple[str, str]], namespaces: Iterable[str]
    ) -> dict[ResourceKey, LiveRecord] | None:
        """The app's tracked objects among (group, kind) `kinds` in `namespaces` (for
        namespace-scoped watches), or None when the view cannot vouch for all of them
        (no watcher, stale, a kind or namespace not watched yet)."""
        ...

    def cluster_scoped_kinds(self) -> set[tuple[str, str]] | None:
        """(group, kind) of every cluster-scoped kind the server serves, as the watcher's last
        discovery saw it; None when it cannot say (the cluster is asked instead)."""
        ...


def health_of(raw: Any) -> Health:
    """A Health from its stored [status, message] pair."""
    status, message = ([*list(raw), "", ""])[:2] if isinstance(raw, list | tuple) else ("Unknown", "")
    try:
        return Health(HealthStatus(status), str(message or ""))
    except ValueError:
        return Health(HealthStatus.Unknown, f"unknown health {status!r} in the live index")
