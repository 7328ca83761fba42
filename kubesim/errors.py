"""API errors as kube-apiserver reports them: an exception per `Status` reason.

Messages follow k8s.io/apimachinery/pkg/api/errors and
k8s.io/apimachinery/pkg/util/validation/field word for word, because clients (and
our reconciler) show them to users and sometimes match on them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


class ApiError(Exception):
    """A failed request; `to_status()` is the exact `Status` body the server sends."""

    code: int = 500
    reason: str = "InternalError"

    def __init__(
        self,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        code: int | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details or {}
        if code is not None:
            self.code = code
        if reason is not None:
            self.reason = reason

    def to_status(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        if self.details:
            status["details"] = self.details
        status["code"] = self.code
        return status


def _details(name: str = "", group: str = "", kind: str = "", **extra: Any) -> dict[str, Any]:
    """StatusDetails with Go's omitempty: empty fields are left out."""
    out: dict[str, Any] = {}
    if name:
        out["name"] = name
    if group:
        out["group"] = group
    if kind:
        out["kind"] = kind
    out.update({k: v for k, v in extra.items() if v})
    return out


def qualified_resource(resource: str, group: str = "") -> str:
    """`configmaps`, `deployments.apps`: how the server names a resource in messages."""
    return f"{resource}.{group}" if group else resource


class NotFound(ApiError):
    code = 404
    reason = "NotFound"

    def __init__(self, resource: str, name: str, group: str = "") -> None:
        super().__init__(
            f'{qualified_resource(resource, group)} "{name}" not found',
            details=_details(name, group, resource),
        )


class AlreadyExists(ApiError):
    code = 409
    reason = "AlreadyExists"

    def __init__(self, resource: str, name: str, group: str = "") -> None:
        super().__init__(
            f'{qualified_resource(resource, group)} "{name}" already exists',
            details=_details(name, group, resource),
        )


class Forbidden(ApiError):
    code = 403
    reason = "Forbidden"

    def __init__(self, resource: str, name: str, detail: str, group: str = "") -> None:
        subject = f'{qualified_resource(resource, group)} "{name}"' if name else qualified_resource(resource, group)
        super().__init__(f"{subject} is forbidden: {detail}", details=_details(name, group, resource))


class Conflict(ApiError):
    """409 Conflict; `Conflict.stale(...)` is the optimistic-concurrency failure."""

    code = 409
    reason = "Conflict"

    def __init__(self, resource: str, name: str, detail: str, group: str = "") -> None:
        super().__init__(
            f'Operation cannot be fulfilled on {qualified_resource(resource, group)} "{name}": {detail}',
            details=_details(name, group, resource),
        )

    @classmethod
    def stale(cls, resource: str, name: str, group: str = "") -> Conflict:
        return cls(
            resource,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
            group,
        )


def _print_manager(manager: str, api_version: str = "", time: str = "") -> str:
    # Real servers name the API version (and time) only for managers of Update
    # operations; callers pass api_version only for those.
    text = json.dumps(manager)
    if api_version:
        text += f" using {api_version}"
        if time:
            text += f" at {time}"
    return text


class ApplyConflict(ApiError):
    """Server-side apply found fields owned by other managers (409, reason Conflict).

    `conflicts` holds (manager, field_path) pairs, optionally extended to
    (manager, field_path, api_version) or (manager, field_path, api_version, time);
    field paths are printed as given, e.g. `.spec.replicas`.
    """

    code = 409
    reason = "Conflict"

    def __init__(self, conflicts: Sequence[Sequence[str]], *, name: str = "", group: str = "",
                 kind: str = "") -> None:
        entries = [(c[0], c[1], c[2] if len(c) > 2 else "", c[3] if len(c) > 3 else "") for c in conflicts]
        self.conflicts = entries
        causes = [
            {"type": "FieldManagerConflict", "message": f"conflict with {_print_manager(m, v, t)}",
             "field": path}
            for m, path, v, t in entries
        ]
        super().__init__(_conflict_message(entries), details=_details(name, group, kind, causes=causes))


def _conflict_message(entries: list[tuple[str, str, str, str]]) -> str:
    if len(entries) == 1:
        m, path, v, t = entries[0]
        return f"Apply failed with 1 conflict: conflict with {_print_manager(m, v, t)}: {path}"
    by_manager: dict[str, list[str]] = {}
    for m, path, v, t in entries:
        by_manager.setdefault(_print_manager(m, v, t), []).append(path)
    lines: list[str] = []
    for manager in sorted(by_manager):
        lines.append(f"conflicts with {manager}:")
        lines.extend(f"- {path}" for path in by_manager[manager])
    return f"Apply failed with {len(entries)} conflicts: " + "\n".join(lines)


_CAUSE_TYPES = {
    "Invalid value": "FieldValueInvalid",
    "Required value": "FieldValueRequired",
    "Forbidden": "FieldValueForbidden",
    "Unsupported value": "FieldValueNotSupported",
    "Duplicate value": "FieldValueDuplicate",
    "Not found": "FieldValueNotFound",
    "Too long": "FieldValueTooLong",
    "Too many": "FieldValueTooMany",
    "Internal error": "InternalError",
}


def format_value(value: Any) -> str:
    """A bad value as Go's field errors print it: strings quoted, numbers and bools bare."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


@dataclass(frozen=True)
class FieldError:
    """One field validation error: `spec.selector: Invalid value: {...}: field is immutable`."""

    field: str
    body: str  # what follows "field: ", e.g. `Required value` or `Invalid value: 3: must be >= 0`

    @classmethod
    def invalid(cls, field: str, value: Any, detail: str) -> FieldError:
        return cls(field, f"Invalid value: {format_value(value)}: {detail}")

    @classmethod
    def immutable(cls, field: str, value: Any) -> FieldError:
        return cls.invalid(field, value, "field is immutable")

    @classmethod
    def required(cls, field: str, detail: str = "") -> FieldError:
        return cls(field, f"Required value: {detail}" if detail else "Required value")

    @classmethod
    def forbidden(cls, field: str, detail: str) -> FieldError:
        return cls(field, f"Forbidden: {detail}" if detail else "Forbidden")

    @classmethod
    def not_supported(cls, field: str, value: Any, supported: Iterable[str]) -> FieldError:
        allowed = ", ".join(json.dumps(s) for s in supported)
        return cls(field, f"Unsupported value: {format_value(value)}: supported values: {allowed}")

    @property
    def cause_type(self) -> str:
        for prefix, cause in _CAUSE_TYPES.items():
            if self.body.startswith(prefix):
                return cause
        return "FieldValueInvalid"

    def __str__(self) -> str:
        return f"{self.field}: {self.body}"


class Invalid(ApiError):
    """422 Invalid for an object `kind` (`Deployment.apps` or kind + group) named `name`.

    `errors` holds FieldError values or (field_path, body) pairs where body reads like
    `Invalid value: "x": field is immutable` or `Required value`.
    """

    code = 422
    reason = "Invalid"

    def __init__(self, kind: str, name: str, errors: Sequence[FieldError | tuple[str, str]],
                 group: str = "") -> None:
        if not group and "." in kind:
            kind, group = kind.split(".", 1)
        field_errors = [e if isinstance(e, FieldError) else FieldError(e[0], e[1]) for e in errors]
        self.field_errors = field_errors
        qualified = f"{kind}.{group}" if group else kind
        message = f'{qualified} "{name}" is invalid'
        if len(field_errors) == 1:
            message += f": {field_errors[0]}"
        elif field_errors:
            message += ": [" + ", ".join(str(e) for e in field_errors) + "]"
        causes = [{"type": e.cause_type, "message": e.body, "field": e.field} for e in field_errors]
        super().__init__(message, details=_details(name, group, kind, causes=causes))


class BadRequest(ApiError):
    code = 400
    reason = "BadRequest"

    def __init__(self, message: str) -> None:
        super().__init__(message)


class UnsupportedMediaType(ApiError):
    code = 415
    reason = "UnsupportedMediaType"

    def __init__(self, message: str) -> None:
        super().__init__(message)


class MethodNotAllowed(ApiError):
    code = 405
    reason = "MethodNotAllowed"

    def __init__(self, action: str, resource: str, group: str = "") -> None:
        super().__init__(
            f'{action} is not supported on resources of kind "{qualified_resource(resource, group)}"',
            details=_details(group=group, kind=resource),
        )


class Expired(ApiError):
    code = 410
    reason = "Expired"

    def __init__(self, message: str) -> None:
        super().__init__(message)


class TooManyRequests(ApiError):
    code = 429
    reason = "TooManyRequests"

    def __init__(self, message: str = "Too many requests, please try again later.",
                 retry_after: int = 0) -> None:
        super().__init__(message, details=_details(retryAfterSeconds=retry_after))


class InternalError(ApiError):
    code = 500
    reason = "InternalError"

    def __init__(self, message: str) -> None:
        super().__init__(f"Internal error occurred: {message}", details=_details(causes=[
            {"message": message}]))
