"""Pod templates: their hash (pod-template-hash, controller-revision-hash) and the pods made from them."""

from __future__ import annotations

import json
from typing import Any

from kubesim.controllers.context import NODE_NAME, owner_reference
from kubesim.storage.objects import clone
from kubesim.storage.store import Obj

POD_TEMPLATE_HASH = "pod-template-hash"
REVISION_HASH = "controller-revision-hash"
# apimachinery's rand.SafeEncodeString alphabet: no vowels, no 0/1/3, so hashes never spell words.
_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def _fnv32a(data: bytes) -> int:
    value = 0x811C9DC5
    for byte in data:
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def template_hash(template: Any, collision_count: int = 0) -> str:
    """A short stable hash of a pod template, shaped like the controllers' (FNV-32a, safe-encoded).

    Real clusters hash Go's printed form of the struct, so the values differ from a real
    cluster's; they are stable across runs and change whenever the template does.
    """
    canonical = json.dumps(template, sort_keys=True, separators=(",", ":"))
    if collision_count:
        canonical += f"#{collision_count}"
    digits = str(_fnv32a(canonical.encode()))
    return "".join(_SAFE_ALPHABET[ord(ch) % len(_SAFE_ALPHABET)] for ch in digits)


def without_label(template: Any, label: str) -> Any:
    """The template minus one label, to compare templates the way EqualIgnoreHash does."""
    out = clone(template or {})
    labels = (out.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(label, None)
        if not labels:
            out["metadata"].pop("labels")
    return out


def with_labels(template: Any, extra: dict[str, str]) -> Any:
    out = clone(template or {})
    out.setdefault("metadata", {}).setdefault("labels", {}).update(extra)
    return out


def pod_from_template(template: Any, owner: Obj, *, name: str = "", generate_name: str = "",
                      extra_labels: dict[str, str] | None = None, spec_extra: dict[str, Any] | None = None) -> Obj:
    """A Pod as a workload controller creates it: template metadata and spec, owned by `owner`,
    already bound to the simulated node (kubesim has no separate scheduler)."""
    template = template or {}
    tmeta = template.get("metadata") or {}
    metadata: dict[str, Any] = {"namespace": owner["metadata"].get("namespace", "")}
    if name:
        metadata["name"] = name
    else:
        metadata["generateName"] = generate_name
    labels = {**(tmeta.get("labels") or {}), **(extra_labels or {})}
    if labels:
        metadata["labels"] = labels
    if tmeta.get("annotations"):
        metadata["annotations"] = dict(tmeta["annotations"])
    metadata["ownerReferences"] = [owner_reference(owner)]
    spec = clone(template.get("spec") or {})
    spec.setdefault("nodeName", NODE_NAME)
    spec.update(spec_extra or {})
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}
