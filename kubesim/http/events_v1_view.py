"""events.k8s.io/v1 Events: the core/v1 Events seen through the newer API, as on a real server.

Both APIs share one storage (pkg/registry/core/event); events.k8s.io/v1 renames fields
(pkg/apis/events/v1 conversion): involvedObject -> regarding, message -> note, source ->
deprecatedSource, firstTimestamp/lastTimestamp/count -> deprecatedFirstTimestamp/
deprecatedLastTimestamp/deprecatedCount, reportingComponent -> reportingController. Requests
to events.k8s.io/v1 are served here by converting to core Events and back, field selectors
included; a strategic merge patch is applied as a merge patch (an Event has no keyed lists).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from kubesim.errors import BadRequest
from kubesim.http.params import Params
from kubesim.http.routes import ResourcePath
from kubesim.storage.objects import clone
from kubesim.storage.store import Obj
from kubesim.storage.watch import watch_stream
from kubesim.verbs.deletion import DeleteOptions
from kubesim.verbs.operations import JSON_PATCH, Target, WriteContext, parse_apply_body, parse_body

if TYPE_CHECKING:
    from kubesim.api import SimAPI

GROUP, API_VERSION = "events.k8s.io", "events.k8s.io/v1"
# core/v1 field -> events.k8s.io/v1 field (metadata, reason, type, action, related, eventTime,
# series and reportingInstance keep their names)
_RENAMED = {"involvedObject": "regarding", "message": "note", "source": "deprecatedSource",
            "firstTimestamp": "deprecatedFirstTimestamp", "lastTimestamp": "deprecatedLastTimestamp",
            "count": "deprecatedCount", "reportingComponent": "reportingController"}
_BACK = {v: k for k, v in _RENAMED.items()}
_SELECTOR_PREFIXES = (("regarding.", "involvedObject."), ("reportingController", "reportingComponent"),
                      ("deprecatedSource", "source"))


def to_events_v1(core: Obj) -> Obj:
    out: Obj = {"kind": "Event", "apiVersion": API_VERSION}
    for key, value in core.items():
        if key in ("kind", "apiVersion") or value in (None, "", 0, {}):
            continue
        out[_RENAMED.get(key, key)] = value
    out.setdefault("eventTime", None)
    return out


def to_core(event: Any) -> Obj:
    if not isinstance(event, dict):
        raise BadRequest("the request body for events must be a JSON object")
    if event.get("apiVersion") not in (None, "", API_VERSION):
        raise BadRequest(f"the API version in the data ({event['apiVersion']}) does not match the expected API "
                         f"version ({API_VERSION})")
    if event.get("kind") not in (None, "", "Event"):
        raise BadRequest(f"the kind in the data ({event['kind']}) does not match the expected kind (Event) of events")
    out: Obj = {"apiVersion": "v1", "kind": "Event"}
    for key, value in event.items():
        if key not in ("kind", "apiVersion"):
            out[_BACK.get(key, key)] = value
    return out


def _core_selector(text: str) -> str:
    terms = []
    for term in (text or "").split(","):
        for new, old in _SELECTOR_PREFIXES:
            if term.strip().startswith(new):
                term = old + term.strip()[len(new):]
                break
        terms.append(term)
    return ",".join(terms) if text else ""


def _as_list(core_list: Obj) -> Obj:
    items = [{k: v for k, v in to_events_v1(item).items() if k not in ("kind", "apiVersion")}
             for item in core_list.get("items") or []]
    return {"kind": "EventList", "apiVersion": API_VERSION, "metadata": core_list.get("metadata") or {},
            "items": items}


def _encode(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def _converted_stream(lines: Iterator[bytes]) -> Iterator[bytes]:
    for line in lines:
        event = json.loads(line)
        obj = event.get("object") or {}
        if event.get("type") in ("ADDED", "MODIFIED", "DELETED"):
            event["object"] = to_events_v1(obj)
        elif event.get("type") == "BOOKMARK":
            event["object"] = {**obj, "kind": "Event", "apiVersion": API_VERSION}
        yield _encode(event) + b"\n"


def serve(api: SimAPI, verb: str, route: ResourcePath, params: Params, body: bytes, content_type: str,
          user_agent: str) -> tuple[int, bytes | Iterator[bytes]]:
    """Answer one events.k8s.io/v1 request through the core/v1 Event storage."""
    core_type = api.registry.lookup("", "v1", "events")
    assert core_type is not None
    cluster = api.cluster
    target = Target(core_type, route.namespace, route.name)
    core_params = replace(params, field_selector=_core_selector(params.field_selector))
    ctx = WriteContext(params, user_agent)
    if verb == "get":
        return 200, _encode(to_events_v1(cluster.get(target)))
    if verb == "list":
        return 200, _encode(_as_list(cluster.list(target, core_params)))
    if verb == "watch":
        return 200, _converted_stream(watch_stream(cluster, target, core_params, api.bookmark_interval))
    if verb == "create":
        return 201, _encode(to_events_v1(cluster.create(target, to_core(parse_body(body)), ctx)))
    if verb == "update":
        return 200, _encode(to_events_v1(cluster.update(target, to_core(parse_body(body)), ctx)))
    if verb == "apply":
        applied = to_core(parse_apply_body(body))
        obj, status = cluster.patch(target, _encode(applied), "application/apply-patch+yaml", ctx)
        return status, _encode(to_events_v1(obj))
    if verb == "patch":
        from kubesim.verbs import patches

        current = to_events_v1(clone(cluster.live(target)))
        patch = parse_body(body, "patch")
        media = content_type.split(";", 1)[0].strip().lower()
        if media == JSON_PATCH:
            if not isinstance(patch, list):
                raise BadRequest("a JSON patch must be a JSON array of operations")
            patched = patches.json_patch(current, patch)
        else:
            if not isinstance(patch, dict):
                raise BadRequest("a merge patch must be a JSON object")
            patched = patches.merge_patch(current, patch)
        return 200, _encode(to_events_v1(cluster.update(target, to_core(patched), ctx)))
    if verb in ("delete", "deletecollection"):
        options = DeleteOptions.parse(params, parse_body(body, "DeleteOptions body"), verb)
        if verb == "delete":
            result = api.deleter.delete(target, options)
            if result.get("kind") == "Status":
                result["details"]["group"] = GROUP
                return 200, _encode(result)
            return 200, _encode(to_events_v1(result))
        return 200, _encode(_as_list(api.deleter.delete_collection(target, core_params, options)))
    raise BadRequest(f"events.k8s.io/v1 events do not support {verb}")
