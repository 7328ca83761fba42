"""Unknown fields, as kube-apiserver's decoders treat them (`fieldValidation=Strict|Warn|Ignore`).

Per https://kubernetes.io/docs/reference/using-api/api-concepts/#field-validation:
unknown fields are never stored (the decoder drops them); `Strict` fails the request with
400 BadRequest naming every one (`strict decoding error: unknown field "spec.replicaz"`),
`Warn` (the server's default when the parameter is absent) answers with one
`Warning: 299 - "unknown field \\"spec.replicaz\\""` header per field, `Ignore` drops them
silently. Server-side apply converts the applied configuration to a typed object whatever
the directive, and fails on a field the schema does not declare (`.spec.replicaz: field not
declared in schema`; a 500 without a reason on 1.31, which is what it is here too).
"""

from __future__ import annotations

import json
from typing import Any

from kubesim.crd.rules import CRD_GROUP, CRD_PLURAL
from kubesim.errors import ApiError, BadRequest, FieldError, Invalid
from kubesim.http import decoding
from kubesim.http.params import OPTIONS_KIND
from kubesim.schema import builtin_schemas, shapes
from kubesim.schema.catalogue import ResourceType
from kubesim.storage.store import Store

STRICT, WARN, IGNORE = "Strict", "Warn", "Ignore"
_DIRECTIVES = (IGNORE, WARN, STRICT)


def directive(raw: str, verb: str) -> str:
    """The request's directive; an unknown value is 422 on the options kind, as ValidateFieldValidation does."""
    if raw == "":
        return WARN
    if raw not in _DIRECTIVES:
        raise Invalid(OPTIONS_KIND.get(verb, "CreateOptions"), "", [
            FieldError.not_supported("fieldValidation", raw, sorted(["", *_DIRECTIVES]))], group="meta.k8s.io")
    return raw


class _WithDuplicates(dict[str, Any]):
    """A decoded JSON object whose text named some keys more than once (the last value won)."""

    duplicated: list[str]


def parse_noting_duplicates(raw: bytes, what: str, duplicates: list[str]) -> Any:
    """Decode a JSON body as parse_body does, appending the path of every duplicated field to `duplicates`.

    Python keeps the last of duplicate keys, as the API server's decoder does; only Strict and
    Warn need to know they were there."""
    marked: list[int] = []

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) == len(pairs):
            return obj
        seen: set[str] = set()
        flagged = _WithDuplicates(obj)
        flagged.duplicated = []
        for key, _ in pairs:
            if key in seen and key not in flagged.duplicated:
                flagged.duplicated.append(key)
            seen.add(key)
        marked.append(1)
        return flagged

    try:
        value = json.loads(raw, object_pairs_hook=hook) if raw else None
    except ValueError as exc:
        raise BadRequest(f"the {what} is not valid JSON: {exc}") from None
    if marked:
        _collect_duplicates(value, "", duplicates)
    return value


def _collect_duplicates(value: Any, path: str, out: list[str]) -> None:
    if isinstance(value, dict):
        if isinstance(value, _WithDuplicates):
            out.extend(f"{path}.{key}" if path else key for key in value.duplicated)
        for key, sub in value.items():
            _collect_duplicates(sub, f"{path}.{key}" if path else key, out)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _collect_duplicates(item, f"{path}[{index}]", out)


def crd_version_schema(crd: dict[str, Any], version: str) -> dict[str, Any] | None:
    """The openAPIV3Schema a CRD declares for one version (None when it declares none)."""
    for entry in (crd.get("spec") or {}).get("versions") or []:
        if entry.get("name") == version:
            return (entry.get("schema") or {}).get("openAPIV3Schema")
    return None


class SchemaIndex:
    """The compiled shape of each served type, for built-ins from the release definitions and for CRs from their CRD."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._custom: dict[tuple[str, str, str], tuple[str, shapes.Shape | None]] = {}

    def crd(self, rtype: ResourceType) -> dict[str, Any] | None:
        return self._store.get((CRD_GROUP, CRD_PLURAL), "", f"{rtype.plural}.{rtype.group}")

    def shape(self, rtype: ResourceType) -> shapes.Shape | None:
        if not rtype.custom:
            name = builtin_schemas.definition_by_gvk().get((rtype.group, rtype.version, rtype.kind))
            return shapes.builtin_shape(name) if name else None
        crd = self.crd(rtype)
        if crd is None:
            return None
        key = (rtype.group, rtype.plural, rtype.version)
        rv = crd["metadata"].get("resourceVersion", "")
        cached = self._custom.get(key)
        if cached is not None and cached[0] == rv:
            return cached[1]
        compiled = shapes.custom_resource_shape(crd_version_schema(crd, rtype.version))
        self._custom[key] = (rv, compiled)
        return compiled


def drop_unknown(obj: dict[str, Any], rtype: ResourceType, shape: shapes.Shape | None, mode: str,
                 warnings: list[str], *, decoded: bool, duplicates: list[str] | None = None) -> None:
    """Prune unknown fields from a written object; Strict refuses them, Warn reports each one.

    `decoded`: the body was decoded as the object (create, update) rather than produced by a
    patch; the real message then names the kind the body could not be handled as."""
    prefix = f'{rtype.kind} in version "{rtype.version}" cannot be handled as a {rtype.kind}: ' if decoded else ""
    type_error = decoding.type_error(obj, shape)
    if type_error:
        raise BadRequest(prefix + type_error)
    found: list[str] = []
    shapes.prune(obj, shape, "", found)
    problems = [f'unknown field "{p}"' for p in found] + [f'duplicate field "{p}"' for p in duplicates or ()]
    if not problems:
        return
    if mode == STRICT:
        raise BadRequest(prefix + "strict decoding error: " + ", ".join(problems))
    if mode == WARN:
        warnings.extend(problems)


class UntypedPatchError(ApiError):
    """The error a plain Go error becomes in kube-apiserver: code 500 and a Status without a reason."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code=500, reason="")

    def to_status(self) -> dict[str, Any]:
        status = super().to_status()
        status.pop("reason", None)
        return status


def refuse_undeclared_in_apply(applied: dict[str, Any], rtype: ResourceType, shape: shapes.Shape | None,
                               namespace: str, name: str) -> None:
    """Server-side apply: any field the schema does not declare, or any mistyped scalar, fails the request."""
    errors = decoding.apply_type_errors(applied, shape) if shape is not None and shape.go_type else []
    found: list[str] = []
    shapes.prune(applied, shape, "", found, keyed_paths=True)
    errors += [f".{p}: field not declared in schema" for p in found]
    if not errors:
        return
    detail = errors[0] if len(errors) == 1 else "errors:\n  " + "\n  ".join(errors)
    gvk = f"{rtype.api_version}, Kind={rtype.kind}" if rtype.group else f"/{rtype.version}, Kind={rtype.kind}"
    raise UntypedPatchError(f"failed to create typed patch object ({namespace}/{name}; {gvk}): {detail}")


def warning_header(warnings: list[str]) -> str:
    """`Warning` response headers (RFC 7234 warn-code 299, agent "-"), one per message."""
    return "".join("Warning: 299 - " + '"' + w.replace("\\", "\\\\").replace('"', '\\"') + '"\r\n'
                   for w in warnings)
