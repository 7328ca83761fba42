"""Moving client-side-apply field ownership to this system's server-side apply manager
(sync option ClientSideApplyMigration, on by default as in Argo CD 3.x).

The same transformation as client-go's `csaupgrade.UpgradeManagedFields`: the fields of each
named manager's `Update` entry are joined into our `Apply` entry (or that entry becomes ours
when we have none yet), and the `Update` entries are dropped. The next server-side apply then
owns those fields alone, so a field removed from git is removed from the live object instead of
staying behind under `kubectl-client-side-apply`.

    upgraded_managed_fields(managed, csa_managers, ssa_manager) -> list | None   (None: nothing to do)
    migration_patch(live, csa_managers, ssa_manager) -> JSON patch | None
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

KUBECTL_CSA_MANAGER = "kubectl-client-side-apply"  # Argo CD's default migration manager

JsonObj = dict[str, Any]


def _is(entry: JsonObj, manager: str, operation: str) -> bool:
    return (
        entry.get("manager") == manager
        and entry.get("operation") == operation
        and not entry.get("subresource")
    )


def _union(a: Any, b: Any) -> JsonObj:
    """The union of two FieldsV1 tries (`{"f:spec": {"f:replicas": {}}, ".": {}}`)."""
    out: JsonObj = copy.deepcopy(a) if isinstance(a, dict) else {}
    for key, value in (b or {}).items():
        out[key] = _union(out.get(key), value) if key in out else copy.deepcopy(value)
    return out


def _upgrade_one(entries: list[JsonObj], csa: str, ssa: str) -> list[JsonObj]:
    target = next((i for i, e in enumerate(entries) if _is(e, ssa, "Apply")), None)
    if target is None:
        target = next((i for i, e in enumerate(entries) if _is(e, csa, "Update")), None)
        if target is None:
            return entries
        entries[target] = {**entries[target], "manager": ssa, "operation": "Apply"}
    mine = entries[target]
    # Only the Update entry of the same apiVersion is joined (its field paths mean the same);
    # any other of that manager is dropped, as csaupgrade does.
    donor = next(
        (e for e in entries if _is(e, csa, "Update") and e.get("apiVersion") == mine.get("apiVersion")), None
    )
    if donor is not None:
        entries[target] = {**mine, "fieldsType": "FieldsV1",
                           "fieldsV1": _union(mine.get("fieldsV1"), donor.get("fieldsV1"))}
    return [e for e in entries if not _is(e, csa, "Update")]


def upgraded_managed_fields(managed: Iterable[JsonObj], csa_managers: Iterable[str], ssa: str) -> list[JsonObj] | None:
    before = [dict(e) for e in managed or [] if isinstance(e, dict)]
    entries = [dict(e) for e in before]
    for csa in sorted(set(csa_managers)):
        entries = _upgrade_one(entries, csa, ssa)
    return None if entries == before else entries


def migration_patch(live: JsonObj, csa_managers: Iterable[str], ssa: str) -> list[JsonObj] | None:
    """A JSON patch replacing managedFields, with the resourceVersion it was computed from, so a
    concurrent write makes the server answer 409 instead of losing that write's ownership."""
    meta = live.get("metadata") or {}
    upgraded = upgraded_managed_fields(meta.get("managedFields") or [], csa_managers, ssa)
    if upgraded is None:
        return None
    return [
        {"op": "replace", "path": "/metadata/managedFields", "value": upgraded},
        {"op": "replace", "path": "/metadata/resourceVersion", "value": meta.get("resourceVersion", "")},
    ]
