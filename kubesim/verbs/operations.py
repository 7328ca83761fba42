"""The API server's verbs over the store: get, list, create, update, patch, apply.

Every write runs the same pipeline as kube-apiserver's registry: system metadata,
status-subresource rules, defaults, validation, managedFields, generation, no-op
detection, then one commit (skipped under dryRun). Deletion lives in deletion.py.
The SSA engineer's modules (patches, ssa, defaults) are imported lazily.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kubesim.crd import lifecycle as crd_lifecycle
from kubesim.crd import rules as crds
from kubesim.crd import structural as crd_structural
from kubesim.errors import (
    AlreadyExists,
    ApiError,
    BadRequest,
    Conflict,
    FieldError,
    Forbidden,
    InternalError,
    Invalid,
    NotFound,
    UnsupportedMediaType,
)
from kubesim.http.params import Params, validate_write_options
from kubesim.schema import fieldvalidation, structural
from kubesim.schema.catalogue import ResourceType
from kubesim.schema.metadata_validation import metadata_errors
from kubesim.schema.served_types import Registry, crd_storage_version, crd_types
from kubesim.storage.list_reads import encode_continue, read_for_list
from kubesim.storage.objects import (
    clone,
    generated_name,
    manager_from_user_agent,
    meta,
    name_error,
    new_uid,
    now,
    spec_part,
    without_volatile,
)
from kubesim.storage.selectors import parse_field_selector, parse_label_selector
from kubesim.storage.store import Obj, Store
from kubesim.verbs import scale

if TYPE_CHECKING:
    from kubesim.verbs.deletion import Deleter

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
_BUILTIN_PATCH_TYPES = f"{JSON_PATCH}, {MERGE_PATCH}, {APPLY_PATCH}, {STRATEGIC_PATCH}"
_CUSTOM_PATCH_TYPES = f"{JSON_PATCH}, {MERGE_PATCH}, {APPLY_PATCH}"


@dataclass(frozen=True)
class Target:
    """What a request addresses: a type (as requested), a namespace, maybe a name and subresource."""

    rtype: ResourceType
    namespace: str = ""
    name: str = ""
    subresource: str = ""

    @property
    def resource(self) -> tuple[str, str]:
        return (self.rtype.group, self.rtype.plural)


@dataclass
class WriteContext:
    params: Params
    user_agent: str = ""
    warnings: list[str] = field(default_factory=list)  # sent back as Warning headers
    duplicates: list[str] = field(default_factory=list)  # fields the request body named twice

    @property
    def manager(self) -> str:
        return self.params.field_manager or manager_from_user_agent(self.user_agent)


def _hooks(module: str) -> Any:
    """Import one of the SSA engineer's modules, or fail the request with a clear 500."""
    import importlib

    try:
        return importlib.import_module(f"kubesim.{module}")
    except ImportError as exc:
        raise InternalError(f"kubesim.{module} is not available ({exc}); this request needs it") from None


def parse_body(raw: bytes, what: str = "request body") -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError as exc:
        raise BadRequest(f"the {what} is not valid JSON: {exc}") from None


def parse_apply_body(raw: bytes) -> Any:
    """Apply bodies are YAML (JSON is YAML); JSON is tried first because it is far faster."""
    try:
        return json.loads(raw)
    except ValueError:
        pass
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(raw, Loader=loader)
    except yaml.YAMLError as exc:
        raise BadRequest(f"error decoding YAML: {exc}") from None


def qualified_kind(rtype: ResourceType) -> str:
    return f"{rtype.kind}.{rtype.group}" if rtype.group else rtype.kind


class _Raced(Conflict):
    """The object changed between this request's read and its write."""


# How often a write without a resourceVersion precondition is tried again after losing a race.
_RACE_RETRIES = 5


def _names_resource_version(patch: Any) -> bool:
    """The patch sets metadata.resourceVersion: a precondition on the object's version."""
    if isinstance(patch, dict):
        metadata = patch.get("metadata")
        return isinstance(metadata, dict) and metadata.get("resourceVersion") is not None
    if isinstance(patch, list):
        return any(isinstance(op, dict) and op.get("path") == "/metadata/resourceVersion" for op in patch)
    return False


def _retry_unless_preconditioned(write: Any, *, preconditioned: bool) -> Any:
    """A PUT, PATCH or apply without a resourceVersion of the caller's is applied again to the
    fresh object when another write came in between (the API server's GuaranteedUpdate does
    the same); with one, the race is the caller's 409."""
    for attempt in range(_RACE_RETRIES):
        try:
            return write()
        except _Raced:
            if preconditioned or attempt == _RACE_RETRIES - 1:
                raise
    raise AssertionError("unreachable")


class Cluster:
    """The emulated API server's semantics, independent of HTTP."""

    def __init__(self, registry: Registry, store: Store) -> None:
        self.registry = registry
        self.store = store
        self.deleter: Deleter | None = None  # set by the server once both exist
        self.schemas = fieldvalidation.SchemaIndex(store)
        # With simulated controllers, a CRD is Established by them after a delay (kubesim.crd.lifecycle).
        self.crds_established_by_controller = False

    # ---------------------------------------------------------------- helpers
    def storage_of(self, rtype: ResourceType) -> ResourceType:
        return self.registry.storage_type(rtype.group, rtype.plural) or rtype

    @staticmethod
    def serve(obj: Obj, rtype: ResourceType) -> Obj:
        """The stored object as seen through the requested version (apiVersion rewritten only)."""
        if obj.get("apiVersion") == rtype.api_version:
            return obj
        return {**obj, "apiVersion": rtype.api_version}

    def namespace_of(self, name: str) -> Obj | None:
        return self.store.get(("", "namespaces"), "", name)

    def require_namespace(self, target: Target, creating: bool) -> None:
        if not target.rtype.namespaced:
            return
        ns = self.namespace_of(target.namespace)
        if ns is None:
            raise NotFound("namespaces", target.namespace)
        if creating and (ns.get("metadata") or {}).get("deletionTimestamp"):
            raise Forbidden(target.rtype.plural, target.name,
                            f"unable to create new content in namespace {target.namespace} because it is being "
                            "terminated", target.rtype.group)

    def live(self, target: Target) -> Obj:
        obj = self.store.get(target.resource, target.namespace, target.name)
        if obj is None:
            raise NotFound(target.rtype.plural, target.name, target.rtype.group)
        return obj

    # ------------------------------------------------------------------- read
    def get(self, target: Target) -> Obj:
        obj = self.live(target)
        if target.subresource == "scale":
            return scale.scale_of(obj, self._scale_paths(target))
        return self.serve(obj, target.rtype)

    def list(self, target: Target, params: Params) -> Obj:
        rtype = target.rtype
        labels = parse_label_selector(params.label_selector)
        fields = parse_field_selector(params.field_selector, rtype.kind)
        namespace = target.namespace if rtype.namespaced and target.namespace else None
        read = read_for_list(self.store, target.resource, namespace, params)
        rv, items = read.rv, read.items
        if not labels.empty:
            items = [o for o in items if labels.matches((o.get("metadata") or {}).get("labels"))]
        if not fields.empty:
            items = [o for o in items if fields.matches(o)]
        items.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        list_meta: dict[str, Any] = {"resourceVersion": str(rv)}
        if read.after is not None:
            after = read.after
            items = [o for o in items if (o["metadata"].get("namespace", ""), o["metadata"]["name"]) > after]
        if params.limit and len(items) > params.limit:
            last = items[params.limit - 1]["metadata"]
            list_meta["continue"] = encode_continue((last.get("namespace", ""), last["name"]), rv)
            list_meta["remainingItemCount"] = len(items) - params.limit
            items = items[: params.limit]
        # Typed lists of built-in kinds carry no kind/apiVersion per item; custom resources do.
        if rtype.custom:
            served = [self.serve(o, rtype) for o in items]
        else:
            served = [{k: v for k, v in o.items() if k not in ("apiVersion", "kind")} for o in items]
        return {"kind": rtype.list_kind_name, "apiVersion": rtype.api_version, "metadata": list_meta,
                "items": served}

    # ----------------------------------------------------------------- create
    def create(self, target: Target, body: Any, ctx: WriteContext) -> Obj:
        validate_write_options(ctx.params, "create")
        obj = self._check_body(target, body)
        self._drop_unknown(target, obj, ctx, "create", decoded=True)
        m = meta(obj)
        if not m.get("name") and m.get("generateName"):
            m["name"] = generated_name(str(m["generateName"]))
        if not m.get("name"):
            raise Invalid(qualified_kind(target.rtype), "", [
                FieldError.required("metadata.name", "name or generateName is required")])
        target = Target(target.rtype, target.namespace, m["name"], target.subresource)
        self.require_namespace(target, creating=True)
        return self._create(target, obj, ctx)

    def _create(self, target: Target, obj: Obj, ctx: WriteContext, track: bool = True) -> Obj:
        """Persist a new object; `obj` is owned by the caller and may be changed."""
        rtype = self.storage_of(target.rtype)
        m = meta(obj)
        if self.store.get(target.resource, target.namespace, m["name"]) is not None:
            raise AlreadyExists(target.rtype.plural, m["name"], target.rtype.group)
        error = name_error(m["name"], label=rtype.plural == "namespaces")
        if error:
            raise Invalid(qualified_kind(rtype), m["name"], [FieldError.invalid("metadata.name", m["name"], error)])
        obj["apiVersion"], obj["kind"] = rtype.api_version, rtype.kind
        for system_field in ("uid", "resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds",
                             "selfLink", "generation"):
            m.pop(system_field, None)
        if rtype.namespaced:
            m["namespace"] = target.namespace
        else:
            m.pop("namespace", None)
        m["uid"] = new_uid()
        m["creationTimestamp"] = now()
        if rtype.generation:
            m["generation"] = 1
        if rtype.has_status:
            obj.pop("status", None)
        self._type_rules(rtype, obj, None)
        self._defaults_and_validate(target.rtype, obj, None)  # the schema of the version asked
        if track:
            obj = self._hooks_update(None, obj, target, ctx)
        if ctx.params.is_dry_run:
            return self.serve(obj, target.rtype)
        with self.store.lock:
            if self.store.get(target.resource, target.namespace, m["name"]) is not None:
                raise AlreadyExists(target.rtype.plural, m["name"], target.rtype.group)
            stored = self.store.commit(target.resource, obj, None)
        self._after_write(rtype, stored)
        return self.serve(stored, target.rtype)

    # ----------------------------------------------------------------- update
    def update(self, target: Target, body: Any, ctx: WriteContext) -> Obj:
        validate_write_options(ctx.params, "update")
        if target.subresource == "scale":
            return self._write_scale(target, self.live(target), body, ctx)
        new = self._check_body(target, body)
        self._drop_unknown(target, new, ctx, "update", decoded=True)
        m = meta(new)
        if m.get("name") and m["name"] != target.name:
            raise BadRequest(f"the name of the object ({m['name']}) does not match the name on the URL "
                             f"({target.name})")
        m["name"] = target.name
        rv = m.get("resourceVersion")
        if not rv and target.rtype.custom:
            raise Invalid(qualified_kind(target.rtype), target.name, [
                FieldError("metadata.resourceVersion", "Invalid value: 0x0: must be specified for an update")])

        def once() -> Obj:
            old = self.live(target)
            if rv and rv != old["metadata"].get("resourceVersion"):
                raise Conflict.stale(target.rtype.plural, target.name, target.rtype.group)
            return self._update(target, old, clone(new), ctx, track=True)

        return _retry_unless_preconditioned(once, preconditioned=bool(rv))

    def _update(self, target: Target, old: Obj, new: Obj, ctx: WriteContext, *, track: bool) -> Obj:
        """Persist `new` over `old` (unless nothing changed); `new` is owned by the caller."""
        rtype = self.storage_of(target.rtype)
        old_meta = old["metadata"]
        if target.subresource == "status":
            # Only status moves through /status (ResetObjectMetaForStatus); managedFields are tracked.
            status = new.get("status")
            managed = meta(new).get("managedFields")
            new = {k: v for k, v in clone(old).items() if k != "status"}
            if status is not None:
                new["status"] = status
            if managed is not None:
                new["metadata"]["managedFields"] = managed
        elif rtype.has_status:
            new.pop("status", None)
            if "status" in old:
                new["status"] = clone(old["status"])
        new["apiVersion"], new["kind"] = rtype.api_version, rtype.kind
        m = meta(new)
        for system_field in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                             "namespace", "name", "generation"):
            if system_field in old_meta:
                m[system_field] = old_meta[system_field]
            else:
                m.pop(system_field, None)
        if "managedFields" not in m and "managedFields" in old_meta:
            m["managedFields"] = clone(old_meta["managedFields"])
        m.pop("selfLink", None)
        if old_meta.get("deletionTimestamp"):
            added = sorted(set(m.get("finalizers") or []) - set(old_meta.get("finalizers") or []))
            if added:
                raise Invalid(qualified_kind(rtype), target.name, [FieldError.forbidden(
                    "metadata.finalizers", "no new finalizers can be added if the object is being deleted, "
                    "found new finalizers []string{" + ", ".join(f'"{f}"' for f in added) + "}")])
        self._type_rules(rtype, new, old)
        self._defaults_and_validate(target.rtype, new, old)
        if track:
            new = self._hooks_update(old, new, target, ctx)
        if rtype.generation and spec_part(new) != spec_part(old):
            m = new["metadata"]
            m["generation"] = int(old_meta.get("generation") or 0) + 1
        m = new["metadata"]
        m["resourceVersion"] = old_meta.get("resourceVersion")
        if without_volatile(new) == without_volatile(old):
            return self.serve(old, target.rtype)  # a no-op writes nothing
        if ctx.params.is_dry_run:
            return self.serve(new, target.rtype)
        with self.store.lock:
            current = self.store.get(target.resource, target.namespace, target.name)
            if current is None:
                raise NotFound(target.rtype.plural, target.name, target.rtype.group)
            if current["metadata"].get("resourceVersion") != old_meta.get("resourceVersion"):
                raise _Raced.stale(target.rtype.plural, target.name, target.rtype.group)
            stored = self.store.commit(target.resource, new, old)
        self._after_write(rtype, stored)
        if stored["metadata"].get("deletionTimestamp") and not stored["metadata"].get("finalizers"):
            assert self.deleter is not None
            self.deleter.finish(rtype, stored)
        return self.serve(stored, target.rtype)

    # ------------------------------------------------------------------ patch
    def patch(self, target: Target, raw: bytes, content_type: str, ctx: WriteContext) -> tuple[Obj, int]:
        media = content_type.split(";", 1)[0].strip().lower()
        if media == APPLY_PATCH:
            return self.apply(target, raw, ctx)
        validate_write_options(ctx.params, "patch")
        allowed = (MERGE_PATCH, JSON_PATCH) if target.rtype.custom else (MERGE_PATCH, JSON_PATCH, STRATEGIC_PATCH)
        if media not in allowed:
            accepted = _CUSTOM_PATCH_TYPES if target.rtype.custom else _BUILTIN_PATCH_TYPES
            raise UnsupportedMediaType(f"the body of the request was in an unknown format - accepted media types "
                                       f"include: {accepted}")
        body = fieldvalidation.parse_noting_duplicates(raw, "patch", ctx.duplicates)
        # The patch carries a resourceVersion: a precondition, so a concurrent write is a Conflict.
        return _retry_unless_preconditioned(lambda: self._patch_once(target, body, media, ctx),
                                            preconditioned=_names_resource_version(body))

    def _patch_once(self, target: Target, body: Any, media: str, ctx: WriteContext) -> tuple[Obj, int]:
        old = self.live(target)
        patches = _hooks("verbs.patches")
        current = clone(old)
        if target.subresource == "scale":
            # A Scale is patched as itself, then written like a PUT of the Scale.
            current = scale.scale_of(old, self._scale_paths(target))
            media = JSON_PATCH if media == JSON_PATCH else MERGE_PATCH
        if media == MERGE_PATCH:
            if not isinstance(body, dict):
                raise BadRequest("a merge patch must be a JSON object")
            new = patches.merge_patch(current, body)
        elif media == JSON_PATCH:
            if not isinstance(body, list):
                raise BadRequest("a JSON patch must be a JSON array of operations")
            new = patches.json_patch(current, body)
        else:
            if not isinstance(body, dict):
                raise BadRequest("a strategic merge patch must be a JSON object")
            new = patches.strategic_merge_patch(current, body, target.rtype.kind, target.rtype.group)
        if target.subresource == "scale":
            return self._write_scale(target, old, new, ctx), 200
        rv = meta(new).get("resourceVersion")
        if rv and rv != old["metadata"].get("resourceVersion"):
            raise Conflict.stale(target.rtype.plural, target.name, target.rtype.group)
        self._drop_unknown(target, new, ctx, "patch", decoded=False)
        return self._update(target, old, new, ctx, track=True), 200

    def apply(self, target: Target, raw: bytes, ctx: WriteContext) -> tuple[Obj, int]:
        """Server-side apply: creates the object (201) when missing, else merges (200)."""
        validate_write_options(ctx.params, "apply")
        applied = parse_apply_body(raw)
        if not isinstance(applied, dict):
            raise BadRequest("the apply patch must be a YAML or JSON object")
        self._check_kind(target, applied)
        fieldvalidation.directive(ctx.params.field_validation, "apply")
        fieldvalidation.refuse_undeclared_in_apply(applied, target.rtype, self.schemas.shape(target.rtype),
                                                   target.namespace, target.name)
        m = meta(applied)
        if m.get("name") and m["name"] != target.name:
            raise BadRequest(f"the name of the object ({m['name']}) does not match the name on the URL "
                             f"({target.name})")
        if target.rtype.namespaced and m.get("namespace") and m["namespace"] != target.namespace:
            raise BadRequest("the namespace of the provided object does not match the namespace sent on the "
                             "request")
        return _retry_unless_preconditioned(lambda: self._apply_once(target, applied, ctx),
                                            preconditioned=bool(m.get("resourceVersion")))

    def _apply_once(self, target: Target, applied: dict[str, Any], ctx: WriteContext) -> tuple[Obj, int]:
        m = meta(applied)
        ssa = _hooks("verbs.ssa")
        rtype = self.storage_of(target.rtype)
        live = self.store.get(target.resource, target.namespace, target.name)
        if live is None:
            self.require_namespace(target, creating=True)
        elif m.get("resourceVersion") and m["resourceVersion"] != live["metadata"].get("resourceVersion"):
            raise Conflict.stale(target.rtype.plural, target.name, target.rtype.group)
        new = ssa.apply(clone(live) if live is not None else None, clone(applied), manager=ctx.params.field_manager,
                        force=bool(ctx.params.force), now=now(), group=rtype.group, kind=rtype.kind,
                        status_subresource=rtype.has_status)
        meta(new)["name"] = target.name
        if live is None:
            return self._create(target, new, ctx, track=False), 201
        return self._update(target, live, new, ctx, track=False), 200

    # ------------------------------------------------------------- internals
    def _check_kind(self, target: Target, body: dict[str, Any]) -> None:
        rtype = target.rtype
        api_version, kind = body.get("apiVersion"), body.get("kind")
        if api_version and api_version != rtype.api_version:
            raise BadRequest(f"the API version in the data ({api_version}) does not match the expected API "
                             f"version ({rtype.api_version})")
        if kind and kind != rtype.kind:
            raise BadRequest(f"the kind in the data ({kind}) does not match the expected kind ({rtype.kind}) of "
                             f"{rtype.plural}")

    def _check_body(self, target: Target, body: Any) -> Obj:
        if not isinstance(body, dict):
            raise BadRequest(f"the request body for {target.rtype.plural} must be a JSON object")
        self._check_kind(target, body)
        obj = clone(body)
        m = meta(obj)
        if target.rtype.namespaced and m.get("namespace") and m["namespace"] != target.namespace:
            raise BadRequest("the namespace of the provided object does not match the namespace sent on the "
                             "request")
        return obj

    def _drop_unknown(self, target: Target, obj: Obj, ctx: WriteContext, verb: str, *, decoded: bool) -> None:
        mode = fieldvalidation.directive(ctx.params.field_validation, verb)
        if target.subresource == "scale":
            return
        fieldvalidation.drop_unknown(obj, target.rtype, self.schemas.shape(target.rtype), mode, ctx.warnings,
                                     decoded=decoded, duplicates=ctx.duplicates)

    def _hooks_update(self, old: Obj | None, new: Obj, target: Target, ctx: WriteContext) -> Obj:
        rtype = self.storage_of(target.rtype)
        ssa = _hooks("verbs.ssa")
        return ssa.track_update(old, new, manager=ctx.manager, now=now(), group=rtype.group, kind=rtype.kind,
                                subresource=target.subresource if target.subresource == "status" else "",
                                status_subresource=rtype.has_status)

    def _defaults_and_validate(self, rtype: ResourceType, obj: Obj, old: Obj | None) -> None:
        if rtype.custom:
            crd = self.schemas.crd(rtype)
            schema = fieldvalidation.crd_version_schema(crd, rtype.version) if crd else None
            errors = metadata_errors(obj.get("metadata")) + structural.default_and_validate(obj, schema, old)
            if errors:
                raise Invalid(rtype.kind, obj["metadata"]["name"], errors, group=rtype.group)
            return
        defaults = _hooks("schema.defaults")
        if old is not None:
            # An update that leaves out an allocated clusterIP keeps it, as the real registry does.
            defaults.preserve_allocated(obj, old, rtype.group, rtype.kind)
        defaults.apply_defaults(obj, rtype.group, rtype.kind)
        defaults.validate(obj, old, rtype.group, rtype.kind)

    def _type_rules(self, rtype: ResourceType, obj: Obj, old: Obj | None) -> None:
        """What the registry strategies of a few kinds do on every write."""
        key = (rtype.group, rtype.plural)
        if key == ("", "namespaces"):
            m = obj["metadata"]
            m.setdefault("labels", {})["kubernetes.io/metadata.name"] = m["name"]
            obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
            if old is None:
                obj["status"] = {"phase": "Active"}
        elif key == (crds.CRD_GROUP, crds.CRD_PLURAL):
            crds.validate_crd(obj)
            schema_errors = crd_structural.structural_errors(obj)
            if schema_errors:
                raise Invalid("CustomResourceDefinition", obj["metadata"]["name"], schema_errors, crds.CRD_GROUP)
            if old is not None and (obj.get("spec") or {}).get("group") != (old.get("spec") or {}).get("group"):
                raise Invalid("CustomResourceDefinition", obj["metadata"]["name"], [
                    FieldError.immutable("spec.group", (obj.get("spec") or {}).get("group"))], crds.CRD_GROUP)
            if not obj["metadata"].get("deletionTimestamp"):
                obj["status"] = crd_lifecycle.status_on_write(obj, old, self.store,
                                                              self.crds_established_by_controller, now())

    def _after_write(self, rtype: ResourceType, stored: Obj) -> None:
        if (rtype.group, rtype.plural) == (crds.CRD_GROUP, crds.CRD_PLURAL) and crd_lifecycle.is_served(stored):
            self.registry.set_crd(stored["metadata"]["name"], crd_types(stored), crd_storage_version(stored))

    def _scale_paths(self, target: Target) -> tuple[str, str, str] | None:
        if not target.rtype.custom:
            return None
        return scale.scale_paths(self.schemas.crd(target.rtype), target.rtype.version)

    def _write_scale(self, target: Target, old: Obj, body: Any, ctx: WriteContext) -> Obj:
        paths = self._scale_paths(target)
        new = scale.with_replicas(old, body, paths)
        stored = self._update(Target(target.rtype, target.namespace, target.name), old, new, ctx, track=True)
        return scale.scale_of(stored, paths)

    # ---------------------------------------------------------- direct access
    def put_object(self, obj: Obj) -> Obj:
        """Store `obj` as given (test/controller access): no validation, no managedFields."""
        rtype = self.registry.for_kind(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
        if rtype is None:
            raise NotFound("resourcetypes", f"{obj.get('apiVersion')}/{obj.get('kind')}")
        storage = self.storage_of(rtype)
        new = clone(obj)
        new["apiVersion"] = storage.api_version
        m = meta(new)
        if not m.get("name"):
            raise BadRequest("put_object needs metadata.name")
        if not rtype.namespaced:
            m.pop("namespace", None)
        elif not m.get("namespace"):
            m["namespace"] = "default"
        resource = (rtype.group, rtype.plural)
        with self.store.lock:
            old = self.store.get(resource, m.get("namespace", ""), m["name"])
            m.setdefault("uid", old["metadata"]["uid"] if old else new_uid())
            m.setdefault("creationTimestamp", old["metadata"]["creationTimestamp"] if old else now())
            if rtype.generation:
                m.setdefault("generation", 1)
            if old is not None:
                m["resourceVersion"] = old["metadata"].get("resourceVersion")
                if without_volatile(new) == without_volatile(old):
                    return old
            stored = self.store.commit(resource, new, old)
        self._after_write(storage, stored)
        return stored


__all__ = ["ApiError", "Cluster", "Target", "WriteContext"]
