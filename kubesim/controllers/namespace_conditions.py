"""The status conditions the namespace controller keeps on a terminating Namespace.

As pkg/controller/namespace/deletion (namespace_condition_utils.go): five condition types, in
this order, each "False" with its all-is-well reason unless something holds the namespace up:
content left (NamespaceContentRemaining: `configmaps. has 1 resource instances`, resource then
group) and finalizers on it (NamespaceFinalizersRemaining: `example.com/hold in 1 resource
instances`). kubesim deletes content inside the request, so discovery, parsing and deletion
never fail here: what keeps a namespace Terminating is content with finalizers.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from kubesim.storage.store import Obj, Store

_ALL_CLEAR = {
    "NamespaceDeletionDiscoveryFailure": ("ResourcesDiscovered", "All resources successfully discovered"),
    "NamespaceDeletionGroupVersionParsingFailure": ("ParsedGroupVersions",
                                                    "All legacy kube types successfully parsed"),
    "NamespaceDeletionContentFailure": ("ContentDeleted",
                                        "All content successfully deleted, may be waiting on finalization"),
    "NamespaceContentRemaining": ("ContentRemoved", "All content successfully removed"),
    "NamespaceFinalizersRemaining": ("ContentHasNoFinalizers", "All content-preserving finalizers finished"),
}


def terminating_conditions(store: Store, namespace: str, previous: list[dict[str, Any]], now: str) -> list[Obj]:
    """The conditions for `namespace` given what is still stored in it."""
    resources: Counter[str] = Counter()
    finalizers: Counter[str] = Counter()
    for (group, plural), obj in store.all_objects():
        if obj["metadata"].get("namespace") != namespace:
            continue
        resources[f"{plural}.{group}"] += 1
        for finalizer in obj["metadata"].get("finalizers") or []:
            finalizers[finalizer] += 1
    problems: dict[str, tuple[str, str]] = {}
    if resources:
        listed = ", ".join(sorted(f"{r} has {n} resource instances" for r, n in resources.items()))
        problems["NamespaceContentRemaining"] = ("SomeResourcesRemain", f"Some resources are remaining: {listed}")
    if finalizers:
        listed = ", ".join(sorted(f"{f} in {n} resource instances" for f, n in finalizers.items()))
        problems["NamespaceFinalizersRemaining"] = ("SomeFinalizersRemain",
                                                    f"Some content in the namespace has finalizers remaining: {listed}")
    before = {c.get("type"): c for c in previous}
    out: list[Obj] = []
    for kind, clear in _ALL_CLEAR.items():
        status, (reason, message) = ("True", problems[kind]) if kind in problems else ("False", clear)
        old = before.get(kind)
        since = old["lastTransitionTime"] if old and old.get("status") == status else now
        out.append({"type": kind, "status": status, "lastTransitionTime": since, "reason": reason,
                    "message": message})
    return out
