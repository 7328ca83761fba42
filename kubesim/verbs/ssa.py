"""Server-side apply and field ownership (`metadata.managedFields`), as kube-apiserver does them.

Follows https://kubernetes.io/docs/reference/using-api/server-side-apply/ and the
structured-merge-diff algorithms behind it:

- `apply`: the applied configuration is merged into the live object (configuration
  wins; associative lists merged by key, atomic lists and atomic maps replaced);
  the manager's Apply entry becomes exactly the fields of the configuration; fields
  it applied before and leaves out now are removed unless another manager owns them;
  a change to a field another manager owns is a conflict unless `force`, which moves
  the field to the applier. Equal values are shared ownership, not a conflict.
- `track_update`: a PUT or non-apply PATCH never conflicts; its manager takes every
  field the write added or changed, away from whoever held it before.

Never tracked, as in the real server's strip-meta step: apiVersion, kind, and
metadata name, namespace, uid, resourceVersion, generation, creationTimestamp,
selfLink and managedFields.

Known simplifications: a newly added map is not itself marked owned (`".": {}`) in an
Update entry, only its fields; an empty map in an applied configuration is owned as a
leaf (a real server owns nothing for it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubesim.errors import ApplyConflict, InternalError
from kubesim.schema.fieldpaths import (
    FieldSet,
    Path,
    format_path,
    from_fields_v1,
    key_element,
    to_fields_v1,
    value_element,
    with_ancestors,
)
from kubesim.schema.merge_markers import SchemaNode, has_status_subresource, schema_for
from kubesim.storage.jsonvalue import copy_json

_MISSING: Any = object()

# Set by the server, never by a writer; not merged from an applied configuration.
_SYSTEM_METADATA = frozenset({
    "uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink",
    "deletionTimestamp", "deletionGracePeriodSeconds",
})
# Not tracked in managedFields (structured-merge-diff strip-meta manager).
_UNTRACKED_METADATA = frozenset({
    "name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp", "managedFields",
    "selfLink",
})


@dataclass
class _Entry:
    """One managedFields entry, its fields decoded; `raw` is kept to write it back unchanged."""

    manager: str
    operation: str
    api_version: str
    time: str
    subresource: str
    fields: FieldSet
    raw: dict[str, Any] | None = None
    changed: bool = False

    def to_json(self) -> dict[str, Any]:
        if self.raw is not None and not self.changed:
            return copy_json(self.raw)
        entry: dict[str, Any] = {
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": to_fields_v1(self.fields),
        }
        if self.subresource:
            entry["subresource"] = self.subresource
        return entry

    def sort_key(self) -> tuple[str, str, str, str, str]:
        # The order kube-apiserver stores entries in (managedfields sortEncodedManagedFields).
        return (self.operation, self.time, self.manager, self.api_version, self.subresource)


def _decode_entries(managed: Any) -> list[_Entry]:
    entries: list[_Entry] = []
    for raw in managed or []:
        if not isinstance(raw, dict) or (not raw.get("manager") and not raw.get("fieldsV1")):
            continue
        entries.append(_Entry(
            manager=str(raw.get("manager", "")),
            operation=str(raw.get("operation", "Update")),
            api_version=str(raw.get("apiVersion", "")),
            time=str(raw.get("time", "")),
            subresource=str(raw.get("subresource", "")),
            fields=from_fields_v1(raw.get("fieldsV1") or {}),
            raw=raw,
        ))
    return entries


def _encode_entries(entries: list[_Entry]) -> list[dict[str, Any]]:
    kept = [e for e in entries if e.fields]
    kept.sort(key=_Entry.sort_key)
    return [e.to_json() for e in kept]


def _body(obj: dict[str, Any] | None) -> dict[str, Any]:
    """A private deep copy of `obj` without managedFields."""
    if not obj:
        return {}
    body = {k: v for k, v in obj.items() if k != "metadata"}
    body = copy_json(body)
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        body["metadata"] = {k: copy_json(v) for k, v in meta.items() if k != "managedFields"}
    return body


def _tracked_view(body: dict[str, Any], *, status: bool, only_status: bool = False) -> dict[str, Any]:
    """A shallow view of the parts of `body` that managedFields tracks."""
    if only_status:
        return {"status": body["status"]} if "status" in body else {}
    view = {k: v for k, v in body.items() if k not in ("apiVersion", "kind", "metadata")}
    if not status:
        view.pop("status", None)
    meta = body.get("metadata")
    if isinstance(meta, dict):
        tracked_meta = {k: v for k, v in meta.items() if k not in _UNTRACKED_METADATA}
        if tracked_meta:
            view["metadata"] = tracked_meta
    return view


# ---------------------------------------------------------------------------------------------
# Field sets and comparison


def fields_of(value: dict[str, Any], node: SchemaNode) -> FieldSet:
    """The fields an applied configuration sets: leaves, atomic values, associative-list items."""
    out: FieldSet = set()
    for key, child in value.items():
        _collect(child, node.child(key), ("f:" + key,), out)
    return out


def _collect(value: Any, node: SchemaNode, path: Path, out: FieldSet) -> None:
    kind = type(value)
    if kind is dict:
        if node.atomic_map or not value:
            out.add(path)
            return
        for key, child in value.items():
            child_kind = type(child)
            if child_kind is dict or child_kind is list:
                _collect(child, node.child(key), (*path, "f:" + key), out)
            else:
                out.add((*path, "f:" + key))
    elif kind is list and node.list_type == "map":
        item_node = node.item
        seen: set[str] = set()
        for item in value:
            element = key_element(item, node, path)
            if element in seen:
                raise InternalError(f"{format_path(path)}: duplicate entries for key {element[2:]}")
            seen.add(element)
            item_path = (*path, element)
            out.add(item_path)
            for key, child in item.items():
                _collect(child, item_node.child(key), (*item_path, "f:" + key), out)
    elif kind is list and node.list_type == "set":
        for item in value:
            out.add((*path, value_element(item)))
    else:
        out.add(path)


def _index(items: Any, node: SchemaNode, path: Path) -> dict[str, Any] | None:
    """Items of an associative list or set by path element; None when they do not index."""
    if items is _MISSING:
        return {}
    if type(items) is not list:
        return None
    index: dict[str, Any] = {}
    try:
        for item in items:
            element = key_element(item, node, path) if node.list_type == "map" else value_element(item)
            if element in index:
                return None
            index[element] = item
    except InternalError:
        return None
    return index


def compare(old: Any, new: Any, node: SchemaNode, path: Path = ()) -> tuple[FieldSet, FieldSet]:
    """(fields added or changed, fields removed) going from `old` to `new`."""
    changed: FieldSet = set()
    removed: FieldSet = set()
    _compare(old, new, node, path, changed, removed)
    return changed, removed


def _compare(a: Any, b: Any, node: SchemaNode, path: Path, changed: FieldSet, removed: FieldSet) -> None:
    if a is b:
        return
    ta, tb = type(a), type(b)
    if (ta is dict or tb is dict) and not node.atomic_map:
        da = a if ta is dict else ({} if a is _MISSING else None)
        db = b if tb is dict else ({} if b is _MISSING else None)
        if da is not None and db is not None and (da or db):
            for key, value in da.items():
                _compare(value, db.get(key, _MISSING), node.child(key), (*path, "f:" + key), changed, removed)
            for key, value in db.items():
                if key not in da:
                    _compare(_MISSING, value, node.child(key), (*path, "f:" + key), changed, removed)
            return
    elif (ta is list or tb is list) and node.list_type != "atomic":
        ia, ib = _index(a, node, path), _index(b, node, path)
        if ia is not None and ib is not None:
            item_node = node.item
            for element, item in ia.items():
                item_path = (*path, element)
                if element not in ib:
                    removed.add(item_path)
                if node.list_type == "map":
                    _compare(item, ib.get(element, _MISSING), item_node, item_path, changed, removed)
            for element, item in ib.items():
                if element not in ia:
                    item_path = (*path, element)
                    changed.add(item_path)
                    if node.list_type == "map":
                        _compare(_MISSING, item, item_node, item_path, changed, removed)
            return
    if a is _MISSING:
        changed.add(path)
    elif b is _MISSING:
        removed.add(path)
    elif a != b or (ta is not tb and (ta is bool or tb is bool)):
        changed.add(path)


# ---------------------------------------------------------------------------------------------
# Merge and prune


def _merge(live: Any, config: Any, node: SchemaNode) -> Any:
    """`config` merged into `live` (a private copy the result may share)."""
    if type(config) is dict and type(live) is dict and not node.atomic_map:
        out = dict(live)
        for key, value in config.items():
            kind = type(value)
            if value is None:
                out.pop(key, None)
            elif kind is dict or kind is list:
                out[key] = _merge(live.get(key, _MISSING), value, node.child(key))
            else:
                out[key] = value
        return out
    if type(config) is list and type(live) is list and node.list_type == "map":
        live_index = _index(live, node, ())
        if live_index is None:
            return copy_json(config)
        item_node = node.item
        merged: list[Any] = []
        used: set[str] = set()
        for item in config:
            element = key_element(item, node)
            used.add(element)
            merged.append(_merge(live_index[element], item, item_node) if element in live_index
                          else _strip_nulls(item))
        merged.extend(item for element, item in live_index.items() if element not in used)
        return merged
    if type(config) is list and type(live) is list and node.list_type == "set":
        return live + [copy_json(item) for item in config if item not in live]
    return _strip_nulls(config)


def _strip_nulls(value: Any) -> Any:
    if type(value) is dict:
        return {k: _strip_nulls(v) for k, v in value.items() if v is not None}
    if type(value) is list:
        return [_strip_nulls(v) for v in value]
    return value


def _prune(container: Any, node: SchemaNode, path: Path, doomed: FieldSet, on_the_way: FieldSet,
           protected: FieldSet) -> None:
    """Remove from `container` (in place) the fields in `doomed` that are not `protected`.

    Maps and lists emptied by the removal go too, unless someone owns them.
    """
    if type(container) is dict:
        for key in list(container):
            child_path = (*path, "f:" + key)
            if child_path in doomed and child_path not in protected:
                del container[key]
            elif child_path in on_the_way:
                child = container[key]
                had_content = bool(child)
                _prune(child, node.child(key), child_path, doomed, on_the_way, protected)
                if had_content and not child and child_path not in protected:
                    del container[key]
    elif type(container) is list and node.list_type != "atomic":
        keep: list[Any] = []
        for item in container:
            try:
                element = key_element(item, node, path) if node.list_type == "map" else value_element(item)
            except InternalError:
                keep.append(item)
                continue
            item_path = (*path, element)
            if item_path in doomed and item_path not in protected:
                continue
            if item_path in on_the_way and node.list_type == "map":
                _prune(item, node.item, item_path, doomed, on_the_way, protected)
            keep.append(item)
        container[:] = keep


# ---------------------------------------------------------------------------------------------
# Public operations


def apply(live: dict[str, Any] | None, applied: dict[str, Any], *, manager: str, force: bool, now: str,
          group: str, kind: str, status_subresource: bool | None = None) -> dict[str, Any]:
    """The object after `manager` server-side applies `applied` to `live` (None: create).

    Raises ApplyConflict (409) when the configuration changes fields other managers own
    and `force` is false. An apply that changes nothing returns an object equal to `live`,
    managedFields and their times included. `status_subresource` overrides the built-in
    table (pass it for custom resources whose CRD declares a status subresource).
    """
    node = schema_for(group, kind)
    status_sub = has_status_subresource(group, kind) if status_subresource is None else status_subresource
    config = {k: v for k, v in applied.items() if not (k == "status" and status_sub)}
    config_meta = config.get("metadata")
    if isinstance(config_meta, dict):
        config["metadata"] = {k: v for k, v in config_meta.items() if k not in _SYSTEM_METADATA}

    live_body = _body(live)
    merged = _merge(live_body, config, node)
    applied_fields = fields_of(_tracked_view(config, status=not status_sub), node)
    changed: FieldSet = set()
    if merged != live_body:  # most applies in a reconcile loop change nothing: skip the walk
        changed, _ = compare(_tracked_view(live_body, status=not status_sub),
                             _tracked_view(merged, status=not status_sub), node)

    entries = _decode_entries((live or {}).get("metadata", {}).get("managedFields"))
    mine = next((e for e in entries if e.manager == manager and e.operation == "Apply"
                 and not e.subresource), None)
    _settle_conflicts(entries, mine, changed, force, applied, group)

    previous = mine.fields if mine else set()
    doomed = previous - applied_fields
    result = merged
    if doomed:
        others: FieldSet = set()
        for entry in entries:
            if entry is not mine:
                others |= entry.fields
        protected = with_ancestors(others | applied_fields)
        _prune(result, node, (), doomed, with_ancestors(doomed), protected)

    api_version = str(applied.get("apiVersion") or (live or {}).get("apiVersion", ""))
    if mine is None:
        mine = _Entry(manager, "Apply", api_version, now, "", applied_fields, changed=True)
        entries.append(mine)
    elif mine.fields != applied_fields or mine.api_version != api_version or result != live_body:
        mine.fields, mine.api_version, mine.time, mine.changed = applied_fields, api_version, now, True

    if live is not None and not any(e.changed for e in entries) and result == live_body:
        # No-op: `result` is already a private copy equal to live; give back live's entries verbatim.
        return _with_managed_fields(result, copy_json(live.get("metadata", {}).get("managedFields") or []))
    return _with_managed_fields(result, _encode_entries(entries))


def _settle_conflicts(entries: list[_Entry], mine: _Entry | None, changed: FieldSet, force: bool,
                      applied: dict[str, Any], group: str) -> None:
    conflicts: list[tuple[str, ...]] = []
    for entry in entries:
        if entry is mine:
            continue
        taken = entry.fields & changed
        if not taken:
            continue
        if force:
            entry.fields = entry.fields - taken
            entry.changed = True
            continue
        version = entry.api_version if entry.operation == "Update" else ""
        conflicts.extend((entry.manager, format_path(p), version) for p in sorted(taken))
    if conflicts:
        name = str((applied.get("metadata") or {}).get("name", ""))
        raise ApplyConflict(conflicts, name=name, group=group)


def track_update(old: dict[str, Any] | None, new: dict[str, Any], *, manager: str, now: str, group: str,
                 kind: str, subresource: str = "", status_subresource: bool | None = None) -> dict[str, Any]:
    """`new` with managedFields updated for a write by `manager` (Update operation; never conflicts).

    The manager takes every field the write added or changed; fields it removed leave
    every manager's set. managedFields sent in `new` replace the stored ones when they
    are non-empty (a client may edit them directly), as on a real server.
    """
    node = schema_for(group, kind)
    status_sub = has_status_subresource(group, kind) if status_subresource is None else status_subresource
    new_meta = new.get("metadata") or {}
    sent = new_meta.get("managedFields")
    stored = (old or {}).get("metadata", {}).get("managedFields")
    entries = _decode_entries(sent if sent and not subresource else stored)

    old_body, new_body = _body(old), _body(new)
    only_status = subresource == "status"
    changed, removed = compare(_tracked_view(old_body, status=not status_sub, only_status=only_status),
                               _tracked_view(new_body, status=not status_sub, only_status=only_status), node)

    api_version = str(new.get("apiVersion") or (old or {}).get("apiVersion", ""))
    mine = next((e for e in entries if e.manager == manager and e.operation == "Update"
                 and e.api_version == api_version and e.subresource == subresource), None)
    touched = changed | removed
    if touched:
        for entry in entries:
            if entry is not mine and entry.fields & touched:
                entry.fields = entry.fields - touched
                entry.changed = True
    previous = mine.fields if mine else set()
    owned = (previous - removed) | changed
    if mine is None:
        if owned:
            entries.append(_Entry(manager, "Update", api_version, now, subresource, owned, changed=True))
    elif owned != previous:
        mine.fields, mine.time, mine.changed = owned, now, True

    if not any(e.changed for e in entries) and sent == stored:
        return copy_json(new)
    return _with_managed_fields(new_body, _encode_entries(entries))


def _with_managed_fields(body: dict[str, Any], managed: list[dict[str, Any]]) -> dict[str, Any]:
    meta = body.setdefault("metadata", {})
    if managed:
        meta["managedFields"] = managed
    else:
        meta.pop("managedFields", None)
    return body
