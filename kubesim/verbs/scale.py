"""The `scale` subresource (autoscaling/v1 Scale): get, update and patch.

Per https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#scale-subresource
and the apps registry's scale strategies: Deployments, ReplicaSets and StatefulSets read
`spec.replicas`, `status.replicas` and the selector; a custom resource reads the paths its CRD
declares (`specReplicasPath`, `statusReplicasPath`, `labelSelectorPath`). Writing a Scale
changes only the replicas of the parent object (its resourceVersion is a precondition).
"""

from __future__ import annotations

from typing import Any

from kubesim.errors import BadRequest, Conflict, FieldError, Invalid, MethodNotAllowed
from kubesim.storage.objects import clone
from kubesim.storage.store import Obj

_SELECTOR_OPS = {"In": "in", "NotIn": "notin"}


def _path(path: str) -> list[str]:
    return [p for p in path.lstrip(".").split(".") if p]


def _read(obj: Any, path: str) -> Any:
    for part in _path(path):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _selector_string(selector: dict[str, Any]) -> str:
    """A LabelSelector as the string form kubectl and HPAs read (`app=web,tier in (a,b)`)."""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        op = expr.get("operator")
        if op in _SELECTOR_OPS:
            parts.append(f"{expr.get('key')} {_SELECTOR_OPS[op]} ({','.join(sorted(expr.get('values') or []))})")
        elif op == "Exists":
            parts.append(str(expr.get("key")))
        elif op == "DoesNotExist":
            parts.append(f"!{expr.get('key')}")
    return ",".join(parts)


def scale_paths(crd: dict[str, Any] | None, version: str) -> tuple[str, str, str] | None:
    """(specReplicasPath, statusReplicasPath, labelSelectorPath) a CRD version declares, or None."""
    for entry in ((crd or {}).get("spec") or {}).get("versions") or []:
        if entry.get("name") == version:
            scale = (entry.get("subresources") or {}).get("scale")
            if scale is None:
                return None
            return (scale.get("specReplicasPath", ""), scale.get("statusReplicasPath", ""),
                    scale.get("labelSelectorPath", ""))
    return None


def scale_of(obj: Obj, paths: tuple[str, str, str] | None) -> Obj:
    """The Scale view of a workload or custom resource."""
    m = obj["metadata"]
    if paths is None:
        spec_replicas = (obj.get("spec") or {}).get("replicas", 1)
        status_replicas = (obj.get("status") or {}).get("replicas", 0)
        selector = _selector_string((obj.get("spec") or {}).get("selector") or {})
    else:
        spec_replicas = _read(obj, paths[0]) or 0
        status_replicas = _read(obj, paths[1]) or 0
        raw = _read(obj, paths[2]) if paths[2] else ""
        selector = raw if isinstance(raw, str) else ""
    status: dict[str, Any] = {"replicas": status_replicas}
    if selector:
        status["selector"] = selector
    return {
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {k: m[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                     if k in m},
        "spec": {"replicas": spec_replicas},
        "status": status,
    }


def with_replicas(obj: Obj, scale: Any, paths: tuple[str, str, str] | None) -> Obj:
    """A copy of the parent object carrying the replicas of a written Scale (validated like the real strategy)."""
    if not isinstance(scale, dict):
        raise BadRequest("the request body for scale must be a JSON object")
    if scale.get("kind") not in (None, "Scale"):
        raise BadRequest(f"the kind in the data ({scale.get('kind')}) does not match the expected kind (Scale)")
    name = obj["metadata"]["name"]
    rv = (scale.get("metadata") or {}).get("resourceVersion")
    if rv and rv != obj["metadata"].get("resourceVersion"):
        raise Conflict.stale("scale", name)
    replicas = (scale.get("spec") or {}).get("replicas", 0)
    if not isinstance(replicas, int) or isinstance(replicas, bool):
        raise BadRequest(f"json: cannot unmarshal {type(replicas).__name__} into Go struct field "
                         "ScaleSpec.spec.replicas of type int32")
    if replicas < 0:
        raise Invalid("Scale", name, [FieldError.invalid("spec.replicas", replicas,
                                                         "must be greater than or equal to 0")],
                      group="autoscaling")
    new = clone(obj)
    parts = _path(paths[0]) if paths is not None else ["spec", "replicas"]
    node = new
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = replicas
    return new


def refuse_unknown_verb(verb: str, plural: str, group: str) -> None:
    if verb not in ("get", "update", "patch"):
        raise MethodNotAllowed(verb, f"{plural}/scale", group)
