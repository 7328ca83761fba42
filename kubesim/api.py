"""`sim.api`: the emulator's state and its Python API (also served under /_kubesim/)."""

from __future__ import annotations

from typing import Any

from kubesim.auth.access import Access
from kubesim.auth.authentication import UserInfo
from kubesim.http.discovery import Discovery
from kubesim.http.faults import FaultInjector
from kubesim.http.openapi import OpenAPI
from kubesim.http.params import Params
from kubesim.http.requestlog import RequestLog
from kubesim.schema.served_types import Registry
from kubesim.storage.selectors import parse_label_selector
from kubesim.storage.store import HISTORY_SIZE, Obj, Store
from kubesim.storage.watch import BOOKMARK_INTERVAL_SECONDS
from kubesim.system_objects import bootstrap_objects
from kubesim.verbs.deletion import DeleteOptions, Deleter
from kubesim.verbs.operations import Cluster, Target


class SimAPI:
    """Everything one emulated API server holds, with direct access for tests and controllers."""

    def __init__(self, history_size: int = HISTORY_SIZE, bookmark_interval: float = BOOKMARK_INTERVAL_SECONDS) -> None:
        self.registry = Registry()
        self.store = Store(history_size)  # how far back a watch or an Exact/continued LIST may start
        self.bookmark_interval = bookmark_interval
        self.access = Access(self.store)  # open to everyone until enable_auth
        self.cluster = Cluster(self.registry, self.store)
        self.deleter = Deleter(self.cluster)
        self.discovery = Discovery(self.registry)
        self.openapi = OpenAPI(self.registry, self.store)
        self.log = RequestLog()
        self.faults = FaultInjector()
        self._seed()

    def _seed(self) -> None:
        for obj in bootstrap_objects():
            self.cluster.put_object(obj)

    def enable_auth(self, tokens: dict[str, UserInfo]) -> None:
        """Require one of these bearer tokens on every request and enforce RBAC (kubesim.auth.access)."""
        self.access.enable(tokens)

    # --------------------------------------------------------------- objects
    def _type(self, api_version: str, kind: str) -> Any:
        rtype = self.registry.for_kind(api_version, kind)
        if rtype is None:
            raise KeyError(f"kubesim serves no {kind} in {api_version}; create its CRD first")
        return rtype

    def get_object(self, api_version: str, kind: str, namespace: str | None, name: str) -> Obj | None:
        """The stored object (do not mutate it; pass a changed copy to put_object), or None."""
        rtype = self._type(api_version, kind)
        obj = self.store.get((rtype.group, rtype.plural), (namespace or "") if rtype.namespaced else "", name)
        return None if obj is None else self.cluster.serve(obj, rtype)

    def list_objects(self, api_version: str, kind: str, namespace: str | None = None,
                     label_selector: str = "") -> list[Obj]:
        """Stored objects of a kind (all namespaces when `namespace` is None), sorted by namespace/name."""
        rtype = self._type(api_version, kind)
        selector = parse_label_selector(label_selector)
        items = self.store.list((rtype.group, rtype.plural), namespace if rtype.namespaced else None)
        items = [o for o in items if selector.matches(o["metadata"].get("labels"))]
        items.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        return [self.cluster.serve(o, rtype) for o in items]

    def put_object(self, obj: Obj) -> Obj:
        """Store `obj` as-is (no validation), bumping resourceVersion when it differs from what is stored."""
        return self.cluster.put_object(obj)

    def delete_object(self, api_version: str, kind: str, namespace: str | None, name: str,
                      propagation_policy: str = "Background") -> Obj:
        """Delete like an API DELETE (finalizers and propagation honoured); KeyError/NotFound if absent."""
        rtype = self._type(api_version, kind)
        target = Target(rtype, (namespace or "") if rtype.namespaced else "", name)
        return self.deleter.delete(target, DeleteOptions(propagation_policy=propagation_policy))

    # ---------------------------------------------------------- observability
    def requests(self) -> list[dict[str, Any]]:
        return self.log.entries()

    def stats(self) -> dict[str, int]:
        return self.log.stats()

    def clear_log(self) -> None:
        self.log.clear()

    def add_faults(self, rules: list[dict[str, Any]] | dict[str, Any]) -> None:
        """Add fault rules (see kubesim.http.faults.FaultRule); BadRequest names the bad rule."""
        self.faults.add(rules)

    def fault_rules(self) -> list[dict[str, Any]]:
        return self.faults.rules()

    def clear_faults(self) -> None:
        self.faults.clear()

    def reset(self) -> None:
        """Back to a fresh cluster: system objects only, no CRDs, empty log, counters and faults.

        resourceVersions keep increasing, so watches opened before the reset expire."""
        with self.store.lock:
            self.store.clear()
            self.registry.reset()
            self._seed()
        self.log.clear()
        self.faults.clear()

    @staticmethod
    def params(query: str) -> Params:
        from kubesim.http.params import parse_params

        return parse_params(query)
