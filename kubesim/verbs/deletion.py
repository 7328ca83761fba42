"""Deletion: finalizers, propagation policies, namespace and CRD termination.

Garbage collection and the namespace/CRD finalizing controllers run synchronously,
inside the request that triggers them, so tests see a settled state once the
response arrives; watchers still see the real event order (MODIFIED with a
deletionTimestamp, DELETED of dependents, DELETED of the owner).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubesim.controllers import namespace_conditions, pod_termination
from kubesim.crd import rules as crds
from kubesim.errors import BadRequest, Conflict, Forbidden
from kubesim.http.params import Params, validate_write_options
from kubesim.schema.catalogue import RETURNS_DELETED_OBJECT, UNDELETABLE_NAMESPACES, ResourceType
from kubesim.storage.objects import clone, now
from kubesim.storage.selectors import parse_field_selector, parse_label_selector
from kubesim.storage.store import GroupResource, Obj
from kubesim.verbs.operations import Cluster, Target

FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"


@dataclass
class DeleteOptions:
    propagation_policy: str = ""
    precondition_uid: str = ""
    precondition_rv: str = ""
    dry_run: bool = False
    grace_period_seconds: int | None = None

    @classmethod
    def parse(cls, params: Params, body: Any, verb: str) -> DeleteOptions:
        """Options from the query and the DeleteOptions body (the body wins, as in kube-apiserver)."""
        if body is not None and not isinstance(body, dict):
            raise BadRequest("the DeleteOptions body must be a JSON object")
        body = body or {}
        policy = body.get("propagationPolicy") or params.propagation_policy
        if body.get("orphanDependents") is True and not policy:
            policy = "Orphan"
        dry_run = body.get("dryRun") or params.dry_run
        merged = Params(propagation_policy=policy or "", dry_run=list(dry_run) if dry_run else None,
                        field_manager=params.field_manager)
        validate_write_options(merged, verb)
        pre = body.get("preconditions") or {}
        grace = body.get("gracePeriodSeconds", params.grace_period_seconds)
        return cls(policy or "", str(pre.get("uid") or ""), str(pre.get("resourceVersion") or ""),
                   merged.is_dry_run, None if grace is None else int(grace))


def success_status(rtype: ResourceType, obj: Obj) -> Obj:
    details: dict[str, Any] = {"name": obj["metadata"]["name"]}
    if rtype.group:
        details["group"] = rtype.group
    details["kind"] = rtype.plural
    details["uid"] = obj["metadata"].get("uid", "")
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}


class Deleter:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.store = cluster.store
        self.registry = cluster.registry
        cluster.deleter = self
        # With a simulated kubelet, Pods terminate gracefully (kubesim.controllers.pod_termination).
        self.graceful_pods = False

    # ---------------------------------------------------------------- requests
    def delete(self, target: Target, options: DeleteOptions) -> Obj:
        rtype = self.cluster.storage_of(target.rtype)
        with self.store.lock:
            obj = self.cluster.live(target)
            self._check_preconditions(target, obj, options)
            if (rtype.group, rtype.plural) == ("", "namespaces") and target.name in UNDELETABLE_NAMESPACES:
                raise Forbidden("namespaces", target.name, "this namespace may not be deleted")
            if self.graceful_pods and (rtype.group, rtype.plural) == ("", "pods"):
                result = self._delete_pod(rtype, obj, options)
            else:
                result = self._delete(rtype, obj, options.propagation_policy or "Background", options.dry_run)
        if result is None:
            if (rtype.group, rtype.plural) in RETURNS_DELETED_OBJECT:
                return self.cluster.serve(obj, target.rtype)
            return success_status(target.rtype, obj)
        return self.cluster.serve(result, target.rtype)

    def delete_collection(self, target: Target, params: Params, options: DeleteOptions) -> Obj:
        rtype = self.cluster.storage_of(target.rtype)
        labels = parse_label_selector(params.label_selector)
        fields = parse_field_selector(params.field_selector, rtype.kind)
        namespace = target.namespace if rtype.namespaced and target.namespace else None
        deleted: list[Obj] = []
        with self.store.lock:
            for obj in self.store.list(target.resource, namespace):
                if labels.matches(obj["metadata"].get("labels")) and fields.matches(obj):
                    result = self._delete(rtype, obj, options.propagation_policy or "Background", options.dry_run)
                    deleted.append(result or obj)
            rv = self.store.rv
        items = [{k: v for k, v in o.items() if k not in ("apiVersion", "kind")} if not rtype.custom
                 else self.cluster.serve(o, target.rtype) for o in deleted]
        return {"kind": target.rtype.list_kind_name, "apiVersion": target.rtype.api_version,
                "metadata": {"resourceVersion": str(rv)}, "items": items}

    @staticmethod
    def _check_preconditions(target: Target, obj: Obj, options: DeleteOptions) -> None:
        m = obj["metadata"]
        if options.precondition_uid and options.precondition_uid != m.get("uid"):
            raise Conflict(target.rtype.plural, target.name,
                           f"Precondition failed: UID in precondition: {options.precondition_uid}, "
                           f"UID in object meta: {m.get('uid')}", target.rtype.group)
        if options.precondition_rv and options.precondition_rv != m.get("resourceVersion"):
            raise Conflict(target.rtype.plural, target.name,
                           f"Precondition failed: ResourceVersion in precondition: {options.precondition_rv}, "
                           f"ResourceVersion in object meta: {m.get('resourceVersion')}", target.rtype.group)

    def _delete_pod(self, rtype: ResourceType, pod: Obj, options: DeleteOptions) -> Obj | None:
        grace = pod_termination.grace_period(pod, options.grace_period_seconds)
        policy = options.propagation_policy or "Background"
        if grace == 0 or options.dry_run:
            if pod["metadata"].get("deletionTimestamp") and not options.dry_run:
                if pod["metadata"].get("finalizers"):
                    return pod  # removed once its finalizers are
                self.finish(rtype, pod)
                return None
            return self._delete(rtype, pod, policy, options.dry_run)
        if pod["metadata"].get("deletionTimestamp") and not pod_termination.shortens(pod, grace):
            return pod
        marked = pod_termination.marked_for_termination(pod, grace)
        return self.store.commit(("", "pods"), marked, pod)

    # ------------------------------------------------------------------ engine
    def _delete(self, rtype: ResourceType, obj: Obj, policy: str, dry_run: bool) -> Obj | None:
        """Delete or mark `obj`; returns the object still present (marked), or None when it is gone."""
        m = obj["metadata"]
        resource = (rtype.group, rtype.plural)
        if m.get("deletionTimestamp"):
            return obj  # already being deleted: nothing more to do
        if resource == ("", "namespaces"):
            return self._terminate_namespace(obj, dry_run)
        if resource == (crds.CRD_GROUP, crds.CRD_PLURAL):
            return self._terminate_crd(obj, dry_run)
        finalizers = list(m.get("finalizers") or [])
        if policy == "Foreground" and FOREGROUND not in finalizers:
            finalizers.append(FOREGROUND)
        if dry_run:
            return self._marked(rtype, obj, finalizers) if finalizers else None
        if policy == "Orphan":
            self._orphan_dependents(m.get("uid", ""))
        if not finalizers:
            self.finish(rtype, obj)
            return None
        marked = self.store.commit(resource, self._marked(rtype, obj, finalizers), obj)
        if policy == "Foreground":
            for dep_rtype, dependent in self._dependents(m.get("uid", "")):
                self._delete(dep_rtype, dependent, "Foreground", False)
            self._release_foreground(rtype, marked["metadata"].get("namespace", ""), m["name"])
        return self.store.get(resource, m.get("namespace", ""), m["name"]) or marked

    @staticmethod
    def _marked(rtype: ResourceType, obj: Obj, finalizers: list[str]) -> Obj:
        new = clone(obj)
        m = new["metadata"]
        m["deletionTimestamp"] = now()
        m["deletionGracePeriodSeconds"] = 0
        m["finalizers"] = finalizers
        if "generation" in m:
            m["generation"] = int(m["generation"]) + 1
        return new

    def finish(self, rtype: ResourceType, obj: Obj) -> None:
        """Remove `obj` for good, then let the garbage collector and namespace/CRD finalizers react."""
        resource = (rtype.group, rtype.plural)
        with self.store.lock:
            m = obj["metadata"]
            if self.store.get(resource, m.get("namespace", ""), m["name"]) is None:
                return
            self.store.remove(resource, obj)
            self._after_remove(rtype, obj)

    def _after_remove(self, rtype: ResourceType, gone: Obj) -> None:
        m = gone["metadata"]
        uid = m.get("uid", "")
        for dep_rtype, dependent in self._dependents(uid):
            refs = dependent["metadata"].get("ownerReferences") or []
            live_owners = [r for r in refs if r.get("uid") != uid and self._exists_uid(r.get("uid", ""))]
            if live_owners:
                self._drop_owner_refs(dep_rtype, dependent, {uid})
            else:
                self._delete(dep_rtype, dependent, "Background", False)
        for ref in m.get("ownerReferences") or []:
            owner = self._by_uid(ref.get("uid", ""))
            if owner is not None:
                self._release_foreground(owner[0], owner[1]["metadata"].get("namespace", ""),
                                         owner[1]["metadata"]["name"])
        if rtype.namespaced and m.get("namespace"):
            self._maybe_finish_namespace(m["namespace"])
        if rtype.custom:
            self._maybe_finish_crd(f"{rtype.plural}.{rtype.group}")
        if (rtype.group, rtype.plural) == (crds.CRD_GROUP, crds.CRD_PLURAL):
            self._withdraw_crd(gone)

    # -------------------------------------------------------- garbage collector
    def _dependents(self, uid: str) -> list[tuple[ResourceType, Obj]]:
        if not uid:
            return []
        out: list[tuple[ResourceType, Obj]] = []
        for (group, plural), obj in self.store.all_objects():
            refs = obj["metadata"].get("ownerReferences") or ()
            if any(r.get("uid") == uid for r in refs):
                rtype = self.registry.storage_type(group, plural)
                if rtype is not None:
                    out.append((rtype, obj))
        return out

    def _by_uid(self, uid: str) -> tuple[ResourceType, Obj] | None:
        for (group, plural), obj in self.store.all_objects():
            if obj["metadata"].get("uid") == uid:
                rtype = self.registry.storage_type(group, plural)
                return (rtype, obj) if rtype is not None else None
        return None

    def _exists_uid(self, uid: str) -> bool:
        return bool(uid) and self._by_uid(uid) is not None

    def _drop_owner_refs(self, rtype: ResourceType, obj: Obj, uids: set[str]) -> None:
        new = clone(obj)
        refs = [r for r in new["metadata"].get("ownerReferences") or [] if r.get("uid") not in uids]
        if refs:
            new["metadata"]["ownerReferences"] = refs
        else:
            new["metadata"].pop("ownerReferences", None)
        self.store.commit((rtype.group, rtype.plural), new, obj)

    def _orphan_dependents(self, uid: str) -> None:
        for dep_rtype, dependent in self._dependents(uid):
            self._drop_owner_refs(dep_rtype, dependent, {uid})

    def _release_foreground(self, rtype: ResourceType, namespace: str, name: str) -> None:
        """Drop the foregroundDeletion finalizer once no dependents are left; remove the owner if it was last."""
        resource = (rtype.group, rtype.plural)
        owner = self.store.get(resource, namespace, name)
        if owner is None or FOREGROUND not in (owner["metadata"].get("finalizers") or []):
            return
        if self._dependents(owner["metadata"].get("uid", "")):
            return
        self._remove_finalizer(rtype, resource, owner, FOREGROUND)

    def _remove_finalizer(self, rtype: ResourceType, resource: GroupResource, obj: Obj, finalizer: str) -> None:
        new = clone(obj)
        remaining = [f for f in new["metadata"].get("finalizers") or [] if f != finalizer]
        if remaining:
            new["metadata"]["finalizers"] = remaining
        else:
            new["metadata"].pop("finalizers", None)
        stored = self.store.commit(resource, new, obj)
        if not remaining:
            self.finish(rtype, stored)

    # ------------------------------------------------------ namespace lifecycle
    def _terminate_namespace(self, ns: Obj, dry_run: bool) -> Obj | None:
        rtype = self.registry.storage_type("", "namespaces")
        assert rtype is not None
        marked = clone(ns)
        marked["metadata"]["deletionTimestamp"] = now()
        marked["metadata"]["deletionGracePeriodSeconds"] = 0
        marked.setdefault("status", {})["phase"] = "Terminating"
        if dry_run:
            return marked
        name = ns["metadata"]["name"]
        stored = self.store.commit(("", "namespaces"), marked, ns)
        for (group, plural), obj in self.store.all_objects():
            if obj["metadata"].get("namespace") == name:
                content_type = self.registry.storage_type(group, plural)
                current = self.store.get((group, plural), name, obj["metadata"]["name"])
                if content_type is not None and current is not None:
                    self._delete(content_type, current, "Background", False)
        self._maybe_finish_namespace(name)
        return self.store.get(("", "namespaces"), "", name) or stored

    def _maybe_finish_namespace(self, name: str) -> None:
        ns = self.store.get(("", "namespaces"), "", name)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return
        if any(obj["metadata"].get("namespace") == name for _, obj in self.store.all_objects()):
            self._report_namespace_content(ns)
            return
        rtype = self.registry.storage_type("", "namespaces")
        assert rtype is not None
        self.finish(rtype, ns)

    def _report_namespace_content(self, ns: Obj) -> None:
        """Write the namespace controller's conditions when what holds the namespace changed."""
        status = ns.get("status") or {}
        previous = status.get("conditions") or []
        conditions = namespace_conditions.terminating_conditions(self.store, ns["metadata"]["name"], previous, now())
        if [(c["type"], c["status"], c["message"]) for c in conditions] == [
                (c.get("type"), c.get("status"), c.get("message")) for c in previous]:
            return
        new = clone(ns)  # stored dicts are never changed in place
        new["status"] = {**status, "conditions": conditions}
        self.store.commit(("", "namespaces"), new, ns)

    # ------------------------------------------------------------ CRD lifecycle
    def _terminate_crd(self, crd: Obj, dry_run: bool) -> Obj | None:
        rtype = self.registry.storage_type(crds.CRD_GROUP, crds.CRD_PLURAL)
        assert rtype is not None
        finalizers = list(crd["metadata"].get("finalizers") or [])
        if crds.CLEANUP_FINALIZER not in finalizers:
            finalizers.append(crds.CLEANUP_FINALIZER)
        marked = self._marked(rtype, crd, finalizers)
        marked["status"] = crds.terminating_status(marked.get("status") or {}, now())
        if dry_run:
            return marked
        stored = self.store.commit((crds.CRD_GROUP, crds.CRD_PLURAL), marked, crd)
        spec = crd.get("spec") or {}
        group, plural = spec.get("group", ""), (spec.get("names") or {}).get("plural", "")
        cr_type = self.registry.storage_type(group, plural)
        if cr_type is not None:
            for obj in self.store.list((group, plural)):
                self._delete(cr_type, obj, "Background", False)
        self._maybe_finish_crd(crd["metadata"]["name"])
        return self.store.get((crds.CRD_GROUP, crds.CRD_PLURAL), "", crd["metadata"]["name"]) or stored

    def _maybe_finish_crd(self, name: str) -> None:
        resource = (crds.CRD_GROUP, crds.CRD_PLURAL)
        crd = self.store.get(resource, "", name)
        if crd is None or not crd["metadata"].get("deletionTimestamp"):
            return
        if crds.CLEANUP_FINALIZER not in (crd["metadata"].get("finalizers") or []):
            return
        spec = crd.get("spec") or {}
        if self.store.list((spec.get("group", ""), (spec.get("names") or {}).get("plural", ""))):
            return
        rtype = self.registry.storage_type(*resource)
        assert rtype is not None
        self._remove_finalizer(rtype, resource, crd, crds.CLEANUP_FINALIZER)

    def _withdraw_crd(self, crd: Obj) -> None:
        spec = crd.get("spec") or {}
        group, plural = spec.get("group", ""), (spec.get("names") or {}).get("plural", "")
        for obj in self.store.list((group, plural)):
            self.store.remove((group, plural), obj)
        self.registry.remove_crd(crd["metadata"]["name"])
