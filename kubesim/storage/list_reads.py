"""Which state a LIST reads: ListOptions validation, resourceVersion semantics and continue tokens.

Follows https://kubernetes.io/docs/reference/using-api/api-concepts/#semantics-for-get-and-list
and #retrieving-large-results-sets-in-chunks:
- no resourceVersion: the most recent state; `0` (or NotOlderThan N <= current): any state
  at least that new, here always the current one;
- NotOlderThan/unset with N newer than the server has: 504 "Too large resource version";
- `Exact` N: the state at N, rebuilt by undoing the history after N; 410 once the history
  no longer reaches back to N (etcd compaction on a real server);
- a continue token is a snapshot read at the version of the first page: the later pages come
  from that same state, and 410 Expired when the history moved past it.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from kubesim.errors import ApiError, BadRequest, Expired, FieldError, Invalid
from kubesim.http.params import Params
from kubesim.storage.store import GroupResource, Obj, ObjectKey, Store

LIST_EXPIRED = "The resourceVersion for the provided list is too old."
CONTINUE_EXPIRED = (
    "The provided continue parameter is too old to display a consistent list result. You can start a new list "
    "without the continue parameter, or use the continue token in this response to retrieve the remainder of the "
    "results. Continuing with the provided token results in an inconsistent list - objects that were created, "
    "modified, or deleted between the time the first chunk was returned and now may show up in the list.")


@dataclass(frozen=True)
class ListRead:
    """The objects a LIST sees, the resourceVersion it reports, and where a continued page starts."""

    items: list[Obj]
    rv: int
    after: ObjectKey | None = None


def validate_list_options(params: Params) -> None:
    """ValidateListOptions of apimachinery (internalversion/validation): 422 on ListOptions.meta.k8s.io."""
    match, rv = params.resource_version_match, params.resource_version
    errors: list[FieldError] = []
    if match:
        if not rv:
            errors.append(FieldError.forbidden("resourceVersionMatch",
                                               "resourceVersionMatch is forbidden unless resourceVersion is provided"))
        if params.continue_token:
            errors.append(FieldError.forbidden("resourceVersionMatch",
                                               "resourceVersionMatch is forbidden when continue is provided"))
        if match not in ("Exact", "NotOlderThan"):
            errors.append(FieldError.not_supported("resourceVersionMatch", match, ["Exact", "NotOlderThan", ""]))
        if match == "Exact" and rv == "0":
            errors.append(FieldError.forbidden("resourceVersionMatch",
                                               'resourceVersionMatch "exact" is forbidden for resourceVersion "0"'))
    if errors:
        raise Invalid("ListOptions", "", errors, group="meta.k8s.io")


def _parse_rv(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f'resourceVersion: Invalid value: "{value}": must be an unsigned integer') from None


def too_large(requested: int, current: int) -> ApiError:
    """storage.NewTooLargeResourceVersionError: a 504 Timeout the client retries after a second."""
    return ApiError(f"Too large resource version: {requested}, current: {current}", code=504, reason="Timeout",
                    details={"causes": [{"reason": "ResourceVersionTooLarge",
                                         "message": "Too large resource version"}], "retryAfterSeconds": 1})


def encode_continue(key: ObjectKey, rv: int) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": list(key)}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_continue(token: str) -> tuple[ObjectKey, int]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        namespace, name = data["start"]
        return (str(namespace), str(name)), int(data["rv"])
    except (ValueError, KeyError, TypeError):
        raise BadRequest(f'continue key is not valid: "{token}" is not a token this server issued') from None


def state_at(store: Store, resource: GroupResource, namespace: str | None, rv: int) -> list[Obj] | None:
    """The objects of `resource` as they were at `rv`, or None when the history no longer reaches back."""
    with store.lock:
        current = {key: obj for key, obj in (store.objects.get(resource) or {}).items()
                   if namespace is None or key[0] == namespace}
        if rv >= store.rv:
            return list(current.values())
        events = store.events_after(rv)
        if events is None:
            return None
    for event in reversed(events):  # undo, newest first
        if event.resource != resource or (namespace is not None and event.namespace != namespace):
            continue
        key = (event.namespace, event.obj["metadata"]["name"])
        if event.type == "ADDED":
            current.pop(key, None)
        elif event.old is not None:
            current[key] = event.old
    return list(current.values())


def read_for_list(store: Store, resource: GroupResource, namespace: str | None, params: Params) -> ListRead:
    """The state a LIST with these options reads (unfiltered, unsorted)."""
    validate_list_options(params)
    if params.continue_token:
        if params.resource_version not in (None, "", "0"):
            raise BadRequest("specifying resource version is not allowed when using continue")
        after, rv = decode_continue(params.continue_token)
        items = state_at(store, resource, namespace, rv)
        if items is None:
            raise Expired(CONTINUE_EXPIRED)
        return ListRead(items, rv, after)
    requested = params.resource_version
    with store.lock:
        current = store.rv
        if requested in (None, "", "0"):
            return ListRead(store.list(resource, namespace), current)
    wanted = _parse_rv(requested)
    if params.resource_version_match == "Exact":
        if wanted > current:
            raise too_large(wanted, current)
        items = state_at(store, resource, namespace, wanted)
        if items is None:
            raise Expired(LIST_EXPIRED)
        return ListRead(items, wanted)
    if wanted > current:
        raise too_large(wanted, current)
    with store.lock:
        return ListRead(store.list(resource, namespace), store.rv)
