"""One Kubernetes API server: discovery, server-side and client-side apply (and their dry-runs),
patch, create, replace, list, delete.

Built on the official `kubernetes` client's DynamicClient. Responses are read as plain
dicts (no ResourceInstance wrapping) because the core passes plain data around.
Every error becomes a `KubeError` whose message names the object and says what the
API server answered.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlparse

from kubernetes import client as k8s_client
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ResourceNotFoundError

from reconciler.engine.cluster import patch_schema, three_way
from reconciler.engine.cluster.errors import (
    KubeError,
    UnknownKindError,
    describe_object,
    server_message,
    status_message,
)
from reconciler.engine.cluster.managed_scope import ManagedScope
from reconciler.engine.cluster.reads import ClusterReads
from reconciler.engine.cluster.resource_types import (
    DEFAULT_FIELD_MANAGER,
    DISCOVERY_MAX_AGE_SECONDS,
    UNTRACKED_KINDS,
    ResourceType,
)
from reconciler.model.resources import split_api_version
from reconciler.source.render.capabilities import DEFAULT_KUBE_VERSION, Capabilities

STRICT, IGNORE = "Strict", "Ignore"  # fieldValidation directives
USER_AGENT = "gitops-reconciler"


class Cluster(ClusterReads):
    """One Kubernetes API server, reached through a DynamicClient."""

    def __init__(
        self,
        api_client: k8s_client.ApiClient,
        *,
        field_manager: str = DEFAULT_FIELD_MANAGER,
        discovery_cache_file: str | None = None,
    ) -> None:
        self.api_client = api_client
        self.field_manager = field_manager
        self.server = api_client.configuration.host
        cache_file = discovery_cache_file or os.path.join(
            tempfile.gettempdir(), f"reconciler-discovery-{os.getpid()}-{id(self)}.json"
        )
        self._lock = threading.Lock()
        try:
            self.dynamic = DynamicClient(api_client, cache_file=cache_file)
        except Exception as exc:  # the client raises urllib3/ApiException types here
            raise KubeError(f"cannot reach the Kubernetes API at {self.server}: {exc}") from None
        self._types: dict[tuple[str, str], ResourceType] = {}
        # Cumulative (verb, HTTP code) counts for metrics; "error" when no answer came.
        self.request_counts: Counter[tuple[str, str]] = Counter()
        self._listable: tuple[float, list[ResourceType]] | None = None
        self._capabilities: tuple[float, Capabilities] | None = None
        # Kinds discovery did not list, and when: a compare asking about many objects of a kind
        # whose CRD is not installed refreshes discovery once, not once per object (only there:
        # see resource_type).
        self._missing: dict[tuple[str, str], float] = {}
        self._patch_schemas = patch_schema.OpenApiSchemas(lambda path: self._request("get openapi", "GET", path))
        self._acting = threading.local()  # the sync operation this thread writes for (User-Agent)
        # Set for a cluster whose Secret lists namespaces (Argo CD's namespaced mode).
        self.managed_scope: ManagedScope | None = None

    @contextlib.contextmanager
    def acting_for(self, operation: str, before_write: Callable[[], None] | None = None) -> Iterator[None]:
        """Requests of this thread name `operation` in their User-Agent meanwhile, so the API
        server's audit log says which sync operation made each write. `before_write` is called
        before each write (not a read or a dry-run); it raises to stop the write, and its own
        requests do not call it again."""
        previous = (getattr(self._acting, "operation", ""), getattr(self._acting, "before_write", None))
        self._acting.operation, self._acting.before_write = operation, before_write
        try:
            yield
        finally:
            self._acting.operation, self._acting.before_write = previous

    def _guard_write(self) -> None:
        guard = getattr(self._acting, "before_write", None)
        if guard is None:
            return
        self._acting.before_write = None  # the guard's own requests (the fence's renewal) pass
        try:
            guard()
        finally:
            self._acting.before_write = guard

    @classmethod
    def for_host(cls, host: str, **kwargs: Any) -> Cluster:
        """A cluster at a plain URL with no credentials (kubesim, `kubectl proxy`)."""
        configuration = k8s_client.Configuration(host=host.rstrip("/"))
        if _is_loopback(host):
            configuration.proxy = None
        return cls(k8s_client.ApiClient(configuration), **kwargs)

    # discovery -----------------------------------------------------------------------

    def _lookup(self, api_version: str, kind: str) -> Any:
        try:
            return self.dynamic.resources.get(api_version=api_version, kind=kind)
        except ResourceNotFoundError:
            pass
        # A CRD created since discovery was cached: refresh once before giving up.
        self.dynamic.resources.invalidate_cache()
        self._listable = None
        try:
            return self.dynamic.resources.get(api_version=api_version, kind=kind)
        except ResourceNotFoundError:
            raise UnknownKindError(_unknown_kind_message(self.server, api_version, kind)) from None

    def resource_type(self, api_version: str, kind: str, *, trust_recent_miss: bool = False) -> ResourceType:
        """The served type of a kind; UnknownKindError when discovery, asked again, lists no such kind.

        `trust_recent_miss`: a kind found missing in the last MISSING_KIND_RECHECK_SECONDS is not
        looked up again (a compare of many objects of an uninstalled CRD refreshes discovery once,
        not once per object); only reads that skip unserved kinds ask for it. Everything else, every
        write above all, asks discovery again before failing: this process's note may predate a
        CRD another worker process saw Established."""
        key = (api_version, kind)
        cached = self._types.get(key)
        if cached is not None:
            return cached
        missed = self._missing.get(key)
        if trust_recent_miss and missed is not None and time.monotonic() - missed < MISSING_KIND_RECHECK_SECONDS:
            raise UnknownKindError(_unknown_kind_message(self.server, api_version, kind))
        with self._lock:
            try:
                res = self._lookup(api_version, kind)
            except UnknownKindError:
                self._missing[key] = time.monotonic()
                raise
        self._missing.pop(key, None)
        rtype = ResourceType(
            api_version=api_version,
            kind=kind,
            plural=res.name,
            namespaced=bool(res.namespaced),
            verbs=tuple(res.verbs or ()),
        )
        self._types[key] = rtype
        return rtype

    def is_namespaced(self, api_version: str, kind: str) -> bool:
        return self.resource_type(api_version, kind).namespaced

    def listable_types(self, max_age: float = DISCOVERY_MAX_AGE_SECONDS) -> list[ResourceType]:
        """Every top-level kind the server lets us list, preferred versions only.

        Re-read from the server when older than `max_age` seconds, so CRDs installed
        since show up without asking for discovery on every poll.
        """
        cached = self._listable
        if cached is not None and time.monotonic() - cached[0] < max_age:
            return cached[1]
        found: dict[tuple[str, str], ResourceType] = {}
        with self._lock:
            self.dynamic.resources.invalidate_cache()
            for res in self.dynamic.resources.search():
                if "/" in (res.name or "") or "list" not in (res.verbs or ()):
                    continue
                group = res.group or ""
                if (group, res.kind) in UNTRACKED_KINDS or res.kind.endswith("List"):
                    continue
                if not getattr(res, "preferred", True):
                    continue
                rtype = ResourceType(
                    res.group_version, res.kind, res.name, bool(res.namespaced), tuple(res.verbs)
                )
                found.setdefault((group, res.kind), rtype)
        listing = sorted(found.values(), key=lambda t: (t.group, t.kind))
        self._listable = (time.monotonic(), listing)
        return listing

    def capabilities(self, max_age: float = DISCOVERY_MAX_AGE_SECONDS) -> Capabilities:
        """The server's version and every group/version (and group/version/Kind) it serves:
        Helm's `.Capabilities`, as Argo CD passes them from the destination cluster."""
        cached = self._capabilities
        if cached is not None and time.monotonic() - cached[0] < max_age:
            return cached[1]
        version = self._request("get version", "GET", "/version").get("gitVersion") or DEFAULT_KUBE_VERSION
        served: set[str] = set()
        with self._lock:
            for res in self.dynamic.resources.search():
                if "/" in (res.name or "") or not res.kind or res.kind.endswith("List"):
                    continue
                served.add(res.group_version)
                served.add(f"{res.group_version}/{res.kind}")
        found = Capabilities(kube_version=str(version), api_versions=tuple(sorted(served)))
        self._capabilities = (time.monotonic(), found)
        return found

    def cluster_scoped_kinds(self) -> set[tuple[str, str]]:
        return {(t.group, t.kind) for t in self.listable_types() if not t.namespaced}

    # requests ------------------------------------------------------------------------

    def _request(self, what: str, method: str, path: str, **params: Any) -> dict[str, Any]:
        """One request, its JSON answer parsed; a non-2xx answer is a KubeError naming `what`."""
        return self._request_with_status(what, method, path, **params)[0]

    def _request_with_status(self, what: str, method: str, path: str, **params: Any) -> tuple[dict[str, Any], int]:
        """One request: its JSON answer parsed and its HTTP status; a non-2xx answer is a
        KubeError naming `what`.

        Sent through the ApiClient (its auth, TLS and proxy settings) but not through
        DynamicClient.request, whose error path formats a traceback for every 404: a compare
        asks about many objects that do not exist yet.
        """
        verb = what.split(" ", 1)[0] if not what.startswith("dry-run") else "dry-run"
        headers = {"Accept": "application/json", "Content-Type": params.pop("content_type", None) or "application/json"}
        query = [(_QUERY_NAMES[name], value) for name, value in params.items()
                 if value is not None and name in _QUERY_NAMES]
        body = params.get("body")
        if method.upper() != "GET" and verb != "dry-run":
            self._guard_write()
        try:
            request = self.api_client.param_serialize(
                method.upper(), path, query_params=query, header_params=headers, body=body,
                auth_settings=["BearerToken"],
            )
            if operation := getattr(self._acting, "operation", ""):  # (method, url, headers, ...)
                request[2]["User-Agent"] = f"{USER_AGENT} (operation {operation})"
            resp = self.api_client.call_api(*request)
            data = resp.read()
        except ApiException as exc:  # the REST client's own refusals (429 with Retry-After, status 0)
            message, status, reason = server_message(exc)
            self.request_counts[(verb, str(status))] += 1
            raise KubeError(f"{what}: {message}", status=status, reason=reason) from None
        except Exception as exc:  # connection refused, timeouts, TLS
            self.request_counts[(verb, "error")] += 1
            raise KubeError(f"{what}: cannot reach the Kubernetes API at {self.server}: {exc}") from None
        self.request_counts[(verb, str(resp.status))] += 1
        if not 200 <= resp.status <= 299:
            message, reason = status_message(data, resp.reason)
            raise KubeError(f"{what}: {message}", status=resp.status, reason=reason)
        return (json.loads(data) if data else {}), resp.status

    def _path(self, obj_type: ResourceType, namespace: str | None, name: str | None = None) -> str:
        group, version = split_api_version(obj_type.api_version)
        base = f"/apis/{group}/{version}" if group else f"/api/{version}"
        if obj_type.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{obj_type.plural}"
        if name:
            base += f"/{name}"
        return base

    def _target_of(self, obj: dict[str, Any]) -> tuple[ResourceType, str | None, dict[str, Any]]:
        """The served type of `obj`, the namespace it is written to (None when cluster-scoped),
        and its metadata; a namespaced object without a namespace is refused here."""
        meta = obj.get("metadata") or {}
        rtype = self.resource_type(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
        namespace = meta.get("namespace") if rtype.namespaced else None
        if rtype.namespaced and not namespace:
            raise KubeError(f"{describe_object(obj)}: a namespaced object needs metadata.namespace")
        return rtype, namespace, meta

    def apply(
        self, obj: dict[str, Any], *, dry_run: bool = False, force: bool = True, field_validation: str = STRICT
    ) -> dict[str, Any]:
        """Server-side apply `obj` as this system's field manager; returns what the server stored
        (or, with `dry_run`, what it would store). `field_validation` is the server's directive
        for unknown and duplicate fields (Strict, as kubectl apply asks since 1.27; Ignore)."""
        return self._apply(obj, dry_run=dry_run, force=force, field_validation=field_validation)[0]

    def dry_run_apply(self, obj: dict[str, Any], *, field_validation: str = STRICT) -> tuple[dict[str, Any], bool]:
        """What a server-side apply of `obj` would store, and whether it would create the object:
        the API server answers an apply that creates with 201 Created, dry-run or not, so a
        compare needs no GET to learn that a desired object is missing."""
        stored, status = self._apply(obj, dry_run=True, force=True, field_validation=field_validation)
        return stored, status == 201

    def _apply(
        self, obj: dict[str, Any], *, dry_run: bool, force: bool, field_validation: str
    ) -> tuple[dict[str, Any], int]:
        rtype, namespace, meta = self._target_of(obj)
        params: dict[str, Any] = {
            "body": json.dumps(obj),
            "content_type": "application/apply-patch+yaml",
            "field_manager": self.field_manager,
            "force_conflicts": "true" if force else None,
            "field_validation": field_validation,
        }
        if dry_run:
            params["dry_run"] = "All"
        verb = "dry-run apply" if dry_run else "apply"
        return self._request_with_status(
            f"{verb} {describe_object(obj)}", "patch", self._path(rtype, namespace, meta.get("name")), **params
        )

    def client_side_apply(
        self, obj: dict[str, Any], *, dry_run: bool = False, field_validation: str = STRICT
    ) -> dict[str, Any]:
        """`kubectl apply` without --server-side (sync option ServerSideApply=false): the object
        carries its `kubectl.kubernetes.io/last-applied-configuration`; a missing object is created
        with it, a live one gets a three-way patch (strategic merge for built-in kinds, JSON merge
        for custom resources) that deletes what was dropped since the last apply and leaves
        other managers' fields alone. Returns what the server stored (or would store)."""
        rtype, namespace, meta = self._target_of(obj)
        modified = three_way.with_last_applied(obj)
        live = self.get(rtype.api_version, rtype.kind, namespace, str(meta.get("name", "")))
        if live is None:
            return self.create(modified, dry_run=dry_run, field_validation=field_validation)
        original = three_way.original_of(live)
        if patch_schema.is_builtin(rtype.api_version):
            schema = self._patch_schemas.for_kind(rtype.api_version, rtype.kind)
            patch = three_way.three_way_strategic_patch(original, modified, live, schema)
            content_type = "application/strategic-merge-patch+json"
        else:
            patch = three_way.three_way_merge_patch(original, modified, live)
            content_type = "application/merge-patch+json"
        if not patch:
            return live  # kubectl: "unchanged"
        return self.patch(obj, patch, content_type, dry_run=dry_run, field_validation=field_validation)

    def patch(
        self,
        obj: dict[str, Any],
        body: Any,
        content_type: str,
        *,
        dry_run: bool = False,
        field_validation: str = STRICT,
    ) -> dict[str, Any]:
        """PATCH the object `obj` names with `body` (an Update by this system's field manager)."""
        rtype, namespace, meta = self._target_of(obj)
        verb = "dry-run patch" if dry_run else "patch"
        return self._request(
            f"{verb} {describe_object(obj)}",
            "patch",
            self._path(rtype, namespace, meta.get("name")),
            body=body,
            content_type=content_type,
            field_manager=self.field_manager,
            dry_run="All" if dry_run else None,
            field_validation=field_validation,
        )

    def patch_subresource(self, obj: dict[str, Any], subresource: str, body: Any, content_type: str) -> dict[str, Any]:
        """PATCH `obj`'s subresource (`status`) by this system's field manager."""
        rtype, namespace, meta = self._target_of(obj)
        path = f"{self._path(rtype, namespace, meta.get('name'))}/{subresource}"
        return self._request(f"patch {describe_object(obj)} {subresource}", "patch", path, body=body,
                             content_type=content_type, field_manager=self.field_manager)

    def create(
        self, obj: dict[str, Any], *, dry_run: bool = False, field_validation: str = STRICT
    ) -> dict[str, Any]:
        """POST `obj` (a hook with metadata.generateName gets its name from the server);
        returns the created object. A name already taken is a KubeError with status 409."""
        rtype, namespace, meta = self._target_of(obj)
        what = f"{'dry-run create' if dry_run else 'create'} {rtype.kind} {namespace + '/' if namespace else ''}"
        what += str(meta.get("name") or meta.get("generateName", ""))
        created = self._request(
            what, "post", self._path(rtype, namespace), body=obj, field_manager=self.field_manager,
            dry_run="All" if dry_run else None, field_validation=field_validation,
        )
        created.setdefault("apiVersion", str(obj.get("apiVersion", "")))
        created.setdefault("kind", rtype.kind)
        return created

    def replace(self, obj: dict[str, Any], resource_version: str, *, field_validation: str = STRICT) -> dict[str, Any]:
        """PUT `obj` over the live object at `resource_version` (sync option Replace=true)."""
        api_version, kind = str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
        meta = obj.get("metadata") or {}
        rtype = self.resource_type(api_version, kind)
        namespace = meta.get("namespace") if rtype.namespaced else None
        body = {**obj, "metadata": {**meta, "resourceVersion": resource_version}}
        return self._request(
            f"replace {describe_object(obj)}",
            "put",
            self._path(rtype, namespace, meta.get("name")),
            body=body,
            field_manager=self.field_manager,
            field_validation=field_validation,
        )

    def forget_kind(self, api_version: str, kind: str) -> None:
        """Drop what discovery said about a kind, so the next lookup asks the server again."""
        self._types.pop((api_version, kind), None)
        self._missing.pop((api_version, kind), None)

    def get(self, api_version: str, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        rtype = self.resource_type(api_version, kind)
        try:
            path = self._path(rtype, namespace if rtype.namespaced else None, name)
            obj = self._request(f"get {kind} {namespace}/{name}", "get", path)
        except KubeError as exc:
            if exc.status == 404:
                return None
            raise
        obj.setdefault("apiVersion", api_version)
        obj.setdefault("kind", kind)
        return obj

    def list(
        self, api_version: str, kind: str, *, namespace: str | None = None, label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[dict[str, Any]]:
        """Objects of one kind, each with apiVersion and kind filled in (lists omit them)."""
        rtype = self.resource_type(api_version, kind)
        result = self._request(
            f"list {kind}",
            "get",
            self._path(rtype, namespace if rtype.namespaced else None),
            label_selector=label_selector,
            field_selector=field_selector,
        )
        items = result.get("items") or []
        for item in items:
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", kind)
        return items

    def widen_connection_pool(self, size: int) -> None:
        """Keep up to `size` connections to the server (a watcher holds one per open watch)."""
        manager = getattr(self.api_client.rest_client, "pool_manager", None)
        if manager is not None and manager.connection_pool_kw.get("maxsize", 0) < size:
            manager.connection_pool_kw["maxsize"] = size
            manager.clear()  # pools made from now on take the new size

    def delete(
        self,
        api_version: str,
        kind: str,
        namespace: str | None,
        name: str,
        *,
        propagation: str = "Foreground",
        uid: str | None = None,
        dry_run: bool = False,
    ) -> bool:
        """Delete one object; False when it was already gone. `uid` makes the delete conditional
        on the object still being the one we checked (a precondition), so a recreated object of
        the same name is never removed by mistake."""
        rtype = self.resource_type(api_version, kind)
        body: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": propagation}
        if uid:
            body["preconditions"] = {"uid": uid}
        if dry_run:
            body["dryRun"] = ["All"]
        try:
            self._request(
                f"delete {kind} {namespace or ''}/{name}".replace(" /", " "),
                "delete",
                self._path(rtype, namespace if rtype.namespaced else None, name),
                body=body,
            )
        except KubeError as exc:
            if exc.status == 404:
                return False
            raise
        return True


MISSING_KIND_RECHECK_SECONDS = 2.0

# Keyword arguments of Cluster._request -> the API server's query parameters.
_QUERY_NAMES = {
    "field_manager": "fieldManager",
    "force_conflicts": "force",
    "dry_run": "dryRun",
    "label_selector": "labelSelector",
    "field_selector": "fieldSelector",
    "limit": "limit",
    "_continue": "continue",
    "resource_version": "resourceVersion",
    "propagation_policy": "propagationPolicy",
    "field_validation": "fieldValidation",
}


def _unknown_kind_message(server: str, api_version: str, kind: str) -> str:
    return (
        f"the cluster at {server} serves no kind {kind!r} in apiVersion {api_version!r}: "
        "check the apiVersion, or install the CustomResourceDefinition first"
    )


def _is_loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    return host in ("localhost", "127.0.0.1", "::1") or host.startswith("127.")


