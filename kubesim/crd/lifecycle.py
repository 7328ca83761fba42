"""What the apiextensions naming and establishing controllers do to a CustomResourceDefinition.

The naming controller accepts a CRD's names unless another CRD of the same group already
holds one of them (NamesAccepted=False, reason PluralConflict/SingularConflict/KindConflict/
ListKindConflict/ShortNamesConflict, `"x" is already in use`); the establishing controller
then sets Established=True, and only from then on are the kind's endpoints and discovery
entries served. With the simulated controllers on, that happens `crd_establish_delay` seconds
after a write (a client must wait for `condition=Established`, as on a real cluster);
without them, at once, inside the write.
"""

from __future__ import annotations

from typing import Any

from kubesim.crd.rules import CRD_GROUP, CRD_PLURAL
from kubesim.storage.store import Obj, Store


def condition_true(status: dict[str, Any] | None, kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status") == "True" for c in (status or {}).get("conditions") or [])


def requested_names(crd: Obj) -> dict[str, Any]:
    names = dict((crd.get("spec") or {}).get("names") or {})
    names.setdefault("singular", str(names.get("kind", "")).lower())
    names.setdefault("listKind", f"{names.get('kind', '')}List")
    return names


def _stored_versions(crd: Obj, status: dict[str, Any]) -> list[str]:
    stored = list(status.get("storedVersions") or [])
    storage = next((v.get("name") for v in (crd.get("spec") or {}).get("versions") or [] if v.get("storage")), None)
    if storage and storage not in stored:
        stored.append(storage)
    return stored


def name_conflict(crd: Obj, store: Store) -> tuple[str, str] | None:
    """(reason, message) when another CRD of the group already accepted one of these names."""
    group = (crd.get("spec") or {}).get("group", "")
    wanted = requested_names(crd)
    for other in store.list((CRD_GROUP, CRD_PLURAL)):
        if other["metadata"]["name"] == crd["metadata"]["name"] or (other.get("spec") or {}).get("group") != group:
            continue
        taken = (other.get("status") or {}).get("acceptedNames") or {}
        taken_words = {taken.get("plural"), taken.get("singular"), *(taken.get("shortNames") or [])} - {None, ""}
        if wanted.get("plural") in taken_words:
            return "PluralConflict", f'"{wanted["plural"]}" is already in use'
        if wanted.get("singular") in taken_words:
            return "SingularConflict", f'"{wanted["singular"]}" is already in use'
        for short in wanted.get("shortNames") or []:
            if short in taken_words:
                return "ShortNamesConflict", f'"{short}" is already in use'
        if wanted.get("kind") and wanted["kind"] in (taken.get("kind"), taken.get("listKind")):
            return "KindConflict", f'"{wanted["kind"]}" is already in use'
        if wanted.get("listKind") in (taken.get("kind"), taken.get("listKind")):
            return "ListKindConflict", f'"{wanted["listKind"]}" is already in use'
    return None


def _condition(previous: dict[str, dict[str, Any]], kind: str, status: str, reason: str, message: str,
               now: str) -> dict[str, Any]:
    before = previous.get(kind)
    since = before.get("lastTransitionTime") if before and before.get("status") == status else now
    return {"type": kind, "status": status, "lastTransitionTime": since, "reason": reason, "message": message}


def settled_status(crd: Obj, store: Store, now: str) -> dict[str, Any]:
    """The status once the naming and establishing controllers have run."""
    status = dict(crd.get("status") or {})
    previous = {c.get("type"): c for c in status.get("conditions") or []}
    keep = [c for c in status.get("conditions") or [] if c.get("type") not in ("NamesAccepted", "Established")]
    conflict = name_conflict(crd, store)
    if conflict is None:
        accepted = requested_names(crd)
        conditions = [_condition(previous, "NamesAccepted", "True", "NoConflicts", "no conflicts found", now),
                      _condition(previous, "Established", "True", "InitialNamesAccepted",
                                 "the initial names have been accepted", now)]
    else:
        accepted = status.get("acceptedNames") or {"plural": "", "kind": ""}
        conditions = [_condition(previous, "NamesAccepted", "False", conflict[0], conflict[1], now),
                      _condition(previous, "Established", "False", "NotAccepted", "not all names are accepted", now)]
    if condition_true(status, "Established") and conflict is not None:
        conditions[1] = previous["Established"]  # an established CRD stays served under its accepted names
    return {**status, "conditions": [*conditions, *keep], "acceptedNames": accepted,
            "storedVersions": _stored_versions(crd, status)}


def status_on_write(crd: Obj, old: Obj | None, store: Store, by_controller: bool, now: str) -> dict[str, Any]:
    """The status the API server stores with a CRD write."""
    if not by_controller:
        return settled_status(crd, store, now)
    status = dict(crd.get("status") or {}) if old is not None else {}
    if old is None:
        status = {"conditions": [], "acceptedNames": {"plural": "", "kind": ""}}
    return {**status, "storedVersions": _stored_versions(crd, status)}


def is_served(crd: Obj) -> bool:
    """Whether the CRD's kind is served (discovery and endpoints): once Established, until it is gone."""
    return condition_true(crd.get("status"), "Established")
