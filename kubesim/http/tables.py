"""Server-side printing: `Accept: application/json;as=Table;g=meta.k8s.io;v=v1` answers a `Table`.

Per https://kubernetes.io/docs/reference/using-api/api-concepts/#receiving-resources-as-tables:
columns and cells as kube-apiserver's printers produce them for `kubectl get` (the column
sets of k8s.io/kubernetes pkg/printers/internalversion for the kinds below; `priority: 1`
columns appear with `-o wide`), a CRD's `additionalPrinterColumns` (JSONPath) for custom
resources, and Name + Created At for anything else. Each row carries the object as
`includeObject` asks: `Metadata` (the default: a PartialObjectMetadata), `Object` or `None`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from kubesim.errors import BadRequest
from kubesim.storage.watch import watch_stream

Obj = dict[str, Any]
Column = tuple[str, str, int, str]  # name, type, priority, format
_NAME: Column = ("Name", "string", 0, "name")
_AGE: Column = ("Age", "string", 0, "")
_NAME_DESCRIPTION = ("Name must be unique within a namespace. Is required when creating resources, although some "
                     "resources may allow a client to request the generation of an appropriate name automatically. "
                     "Name is primarily intended for creation idempotence and configuration definition. Cannot be "
                     "updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names")


def wants_table(accept: str) -> str:
    """The meta.k8s.io version of Table the Accept header asks for first ("" when it asks for none)."""
    for clause in accept.split(","):
        params = {k.strip(): v.strip() for k, _, v in (p.partition("=") for p in clause.split(";")[1:])}
        if params.get("as") == "Table" and params.get("g") == "meta.k8s.io":
            if params.get("v") in ("v1", "v1beta1"):
                return str(params["v"])
        elif clause.split(";", 1)[0].strip() in ("application/json", "*/*", ""):
            return ""
    return ""


def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration."""
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    s = int(seconds)
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = hours // 24
        return f"{days // 365}y{days % 365}d" if days % 365 else f"{days // 365}y"
    return f"{hours // (24 * 365)}y"


def _age(timestamp: Any) -> str:
    if not isinstance(timestamp, str) or not timestamp:
        return "<unknown>"
    try:
        then = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return "<unknown>"
    return human_duration((datetime.now(UTC) - then).total_seconds())


def _created(obj: Obj) -> str:
    return _age(obj["metadata"].get("creationTimestamp"))


def _containers(obj: Obj, *path: str) -> list[Obj]:
    node: Any = obj
    for part in path:
        node = (node or {}).get(part) if isinstance(node, dict) else None
    return list(node or [])


def _pod_template_columns(obj: Obj) -> list[Any]:
    containers = _containers(obj, "spec", "template", "spec", "containers")
    selector = ((obj.get("spec") or {}).get("selector") or {})
    labels = selector.get("matchLabels") if isinstance(selector, dict) and "matchLabels" in selector else selector
    return [",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers),
            ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items())) or "<none>"]


def _pod_row(obj: Obj) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    statuses = status.get("containerStatuses") or []
    ready = sum(1 for s in statuses if s.get("ready"))
    restarts = sum(int(s.get("restartCount") or 0) for s in statuses)
    reason = status.get("reason") or status.get("phase") or "Unknown"
    for s in statuses:
        waiting = (s.get("state") or {}).get("waiting") or {}
        terminated = (s.get("state") or {}).get("terminated") or {}
        if waiting.get("reason"):
            reason = waiting["reason"]
        elif terminated.get("reason"):
            reason = terminated["reason"]
    if obj["metadata"].get("deletionTimestamp"):
        reason = "Terminating"
    return [f"{ready}/{len(spec.get('containers') or [])}", reason, restarts, _created(obj),
            status.get("podIP") or "<none>", spec.get("nodeName") or "<none>",
            status.get("nominatedNodeName") or "<none>", "<none>"]


def _deployment_row(obj: Obj) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return [f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 0)}", status.get("updatedReplicas", 0),
            status.get("availableReplicas", 0), _created(obj), *_pod_template_columns(obj)]


def _replicaset_row(obj: Obj) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return [spec.get("replicas", 0), status.get("replicas", 0), status.get("readyReplicas", 0), _created(obj),
            *_pod_template_columns(obj)]


def _statefulset_row(obj: Obj) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return [f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 0)}", _created(obj),
            *_pod_template_columns(obj)[:2]]


def _daemonset_row(obj: Obj) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    node_selector = (((spec.get("template") or {}).get("spec") or {}).get("nodeSelector") or {})
    return [status.get("desiredNumberScheduled", 0), status.get("currentNumberScheduled", 0),
            status.get("numberReady", 0), status.get("updatedNumberScheduled", 0), status.get("numberAvailable", 0),
            ",".join(f"{k}={v}" for k, v in sorted(node_selector.items())) or "<none>", _created(obj),
            *_pod_template_columns(obj)]


def _service_ports(spec: Obj) -> str:
    parts = []
    for port in spec.get("ports") or []:
        text = f"{port.get('port')}"
        if port.get("nodePort"):
            text += f":{port['nodePort']}"
        parts.append(f"{text}/{port.get('protocol', 'TCP')}")
    return ",".join(parts) or "<none>"


def _service_row(obj: Obj) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    kind = spec.get("type", "ClusterIP")
    external = list(spec.get("externalIPs") or [])
    if kind == "LoadBalancer":
        external += [i.get("ip") or i.get("hostname") for i in (status.get("loadBalancer") or {}).get("ingress") or []]
        external_text = ",".join(e for e in external if e) or "<pending>"
    elif kind == "ExternalName":
        external_text = spec.get("externalName", "")
    else:
        external_text = ",".join(external) or "<none>"
    selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items())) or "<none>"
    return [kind, spec.get("clusterIP") or "<none>", external_text, _service_ports(spec), _created(obj), selector]


def _ingress_row(obj: Obj) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    hosts = [r.get("host") for r in spec.get("rules") or [] if r.get("host")]
    addresses = [i.get("ip") or i.get("hostname") for i in (status.get("loadBalancer") or {}).get("ingress") or []]
    return [spec.get("ingressClassName") or "<none>", ",".join(hosts) or "*", ",".join(a for a in addresses if a),
            "80, 443" if spec.get("tls") else "80", _created(obj)]


def _job_row(obj: Obj) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    state = "Running"
    if conditions.get("Complete") == "True":
        state = "Complete"
    elif conditions.get("Failed") == "True":
        state = "Failed"
    elif spec.get("suspend"):
        state = "Suspended"
    completions = f"{status.get('succeeded', 0)}/{spec.get('completions', 1)}"
    duration = ""
    if status.get("startTime"):
        end = status.get("completionTime")
        started = datetime.fromisoformat(status["startTime"].replace("Z", "+00:00"))
        finished = datetime.fromisoformat(end.replace("Z", "+00:00")) if end else datetime.now(UTC)
        duration = human_duration((finished - started).total_seconds())
    return [state, completions, duration, _created(obj), *_pod_template_columns(obj)]


def _cronjob_row(obj: Obj) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    template = ((spec.get("jobTemplate") or {}).get("spec") or {})
    containers = _containers(template, "template", "spec", "containers")
    return [spec.get("schedule", ""), spec.get("timeZone") or "<none>", str(bool(spec.get("suspend"))),
            len(status.get("active") or []),
            _age(status.get("lastScheduleTime")) if status.get("lastScheduleTime") else "<none>", _created(obj),
            ",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers),
            "<none>"]


def _event_row(obj: Obj) -> list[Any]:
    involved = obj.get("involvedObject") or obj.get("regarding") or {}
    last = obj.get("lastTimestamp") or obj.get("eventTime") or obj["metadata"].get("creationTimestamp")
    source = obj.get("source") or {}
    return [_age(last), obj.get("type", ""), obj.get("reason", ""),
            f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}", involved.get("fieldPath", ""),
            ", ".join(v for v in (source.get("component"), source.get("host")) if v),
            obj.get("message") or obj.get("note", ""), _age(obj.get("firstTimestamp") or last),
            obj.get("count", 1), obj["metadata"]["name"]]


def _node_row(obj: Obj) -> list[Any]:
    status = obj.get("status") or {}
    ready = next((c.get("status") for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    state = "Ready" if ready == "True" else "NotReady" if ready else "Unknown"
    if (obj.get("spec") or {}).get("unschedulable"):
        state += ",SchedulingDisabled"
    roles = sorted(k.split("/", 1)[1] for k in (obj["metadata"].get("labels") or {})
                   if k.startswith("node-role.kubernetes.io/"))
    info = status.get("nodeInfo") or {}
    addresses = {a.get("type"): a.get("address") for a in status.get("addresses") or []}
    return [state, ",".join(roles) or "<none>", _created(obj), info.get("kubeletVersion", ""),
            addresses.get("InternalIP", "<none>"), addresses.get("ExternalIP", "<none>"), info.get("osImage", ""),
            info.get("kernelVersion", ""), info.get("containerRuntimeVersion", "")]


_ACCESS_MODES = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"}


def _pvc_row(obj: Obj) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    bound = status.get("phase") == "Bound"
    return [status.get("phase", "Pending"), spec.get("volumeName", ""),
            (status.get("capacity") or {}).get("storage", "") if bound else "",
            ",".join(_ACCESS_MODES.get(m, m) for m in status.get("accessModes") or []) if bound else "",
            spec.get("storageClassName") or "<unset>", spec.get("volumeAttributesClassName") or "<unset>",
            _created(obj), spec.get("volumeMode", "Filesystem")]


def _data_count(obj: Obj) -> int:
    return len(obj.get("data") or {}) + len(obj.get("binaryData") or {})


def _s(name: str, priority: int = 0, kind: str = "string") -> Column:
    return (name, kind, priority, "")


_WORKLOAD_WIDE = [_s("Containers", 1), _s("Images", 1), _s("Selector", 1)]
_PRINTERS: dict[tuple[str, str], tuple[list[Column], Callable[[Obj], list[Any]]]] = {
    ("", "Pod"): ([_NAME, _s("Ready"), _s("Status"), _s("Restarts", 0, "integer"), _AGE, _s("IP", 1),
                   _s("Node", 1), _s("Nominated Node", 1), _s("Readiness Gates", 1)], _pod_row),
    ("apps", "Deployment"): ([_NAME, _s("Ready"), _s("Up-to-date", 0, "integer"), _s("Available", 0, "integer"),
                              _AGE, *_WORKLOAD_WIDE], _deployment_row),
    ("apps", "ReplicaSet"): ([_NAME, _s("Desired", 0, "integer"), _s("Current", 0, "integer"),
                              _s("Ready", 0, "integer"), _AGE, *_WORKLOAD_WIDE], _replicaset_row),
    ("apps", "StatefulSet"): ([_NAME, _s("Ready"), _AGE, _s("Containers", 1), _s("Images", 1)], _statefulset_row),
    ("apps", "DaemonSet"): ([_NAME, _s("Desired", 0, "integer"), _s("Current", 0, "integer"),
                             _s("Ready", 0, "integer"), _s("Up-to-date", 0, "integer"),
                             _s("Available", 0, "integer"), _s("Node Selector"), _AGE, *_WORKLOAD_WIDE],
                            _daemonset_row),
    ("", "Service"): ([_NAME, _s("Type"), _s("Cluster-IP"), _s("External-IP"), _s("Port(s)"), _AGE,
                       _s("Selector", 1)], _service_row),
    ("networking.k8s.io", "Ingress"): ([_NAME, _s("Class"), _s("Hosts"), _s("Address"), _s("Ports"), _AGE],
                                       _ingress_row),
    ("batch", "Job"): ([_NAME, _s("Status"), _s("Completions"), _s("Duration"), _AGE, *_WORKLOAD_WIDE], _job_row),
    ("batch", "CronJob"): ([_NAME, _s("Schedule"), _s("Timezone"), _s("Suspend", 0, "boolean"),
                            _s("Active", 0, "integer"), _s("Last Schedule"), _AGE, *_WORKLOAD_WIDE], _cronjob_row),
    ("", "Namespace"): ([_NAME, _s("Status"), _AGE],
                        lambda o: [(o.get("status") or {}).get("phase", ""), _created(o)]),
    ("", "ConfigMap"): ([_NAME, _s("Data", 0, "integer"), _AGE], lambda o: [_data_count(o), _created(o)]),
    ("", "Secret"): ([_NAME, _s("Type"), _s("Data", 0, "integer"), _AGE],
                     lambda o: [o.get("type", "Opaque"), _data_count(o), _created(o)]),
    ("", "Event"): ([_s("Last Seen"), _s("Type"), _s("Reason"), _s("Object"), _s("Subobject", 1), _s("Source", 1),
                     _s("Message"), _s("First Seen", 1), _s("Count", 1, "integer"), ("Name", "string", 1, "name")],
                    _event_row),
    ("", "Node"): ([_NAME, _s("Status"), _s("Roles"), _AGE, _s("Version"), _s("Internal-IP", 1),
                    _s("External-IP", 1), _s("OS-Image", 1), _s("Kernel-Version", 1), _s("Container-Runtime", 1)],
                   _node_row),
    ("", "PersistentVolumeClaim"): ([_NAME, _s("Status"), _s("Volume"), _s("Capacity"), _s("Access Modes"),
                                     _s("StorageClass"), _s("VolumeAttributesClass"), _AGE, _s("VolumeMode", 1)],
                                    _pvc_row),
}
_PRINTERS[("events.k8s.io", "Event")] = _PRINTERS[("", "Event")]  # same columns; regarding/note read too


# ------------------------------------------------------------ JSONPath columns
_SEGMENT = re.compile(r"\.([^.\[]+)|\[(\d+)\]|\[\?\(@\.([\w.-]+)\s*==\s*['\"]([^'\"]*)['\"]\)\]")


def jsonpath(obj: Any, expr: str) -> Any:
    """The subset of kubectl JSONPath that printer columns use: `.a.b`, `[0]`, `[?(@.type=="Ready")]`."""
    values = [obj]
    for match in _SEGMENT.finditer(expr.strip().strip("{}")):
        key, index, filter_key, filter_value = match.groups()
        found: list[Any] = []
        for value in values:
            if key is not None and isinstance(value, dict) and key in value:
                found.append(value[key])
            elif key is not None and isinstance(value, list):
                found.extend(v[key] for v in value if isinstance(v, dict) and key in v)
            elif index is not None and isinstance(value, list) and int(index) < len(value):
                found.append(value[int(index)])
            elif filter_key is not None and isinstance(value, list):
                found.extend(v for v in value if isinstance(v, dict) and str(v.get(filter_key)) == filter_value)
        values = found
    if not values:
        return None
    return values[0] if len(values) == 1 else values


def _custom_cell(obj: Obj, column: dict[str, Any]) -> Any:
    value = jsonpath(obj, str(column.get("jsonPath", "")))
    if value is None:
        return None
    if column.get("type") == "date":
        return _age(value)
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return value


def _crd_columns(crd: Obj | None, version: str) -> list[dict[str, Any]] | None:
    for entry in ((crd or {}).get("spec") or {}).get("versions") or []:
        if entry.get("name") == version:
            return entry.get("additionalPrinterColumns")
    return None


def _row_object(obj: Obj, include: str, table_version: str) -> Obj | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": f"meta.k8s.io/{table_version}",
            "metadata": obj.get("metadata") or {}}


def table(objects: list[Obj], group: str, kind: str, version: str, crd: Obj | None, list_meta: Obj,
          include: str, table_version: str, api_version: str) -> Obj:
    """The Table for `objects` of one kind (`version` names the CRD version whose columns apply)."""
    if include not in ("", "None", "Metadata", "Object"):
        raise BadRequest(f'unsupported includeObject value "{include}"')
    include = include or "Metadata"
    custom = _crd_columns(crd, version) if crd is not None else None
    definitions: list[dict[str, Any]]
    rows: list[Obj] = []
    if crd is not None and custom is not None:
        definitions = [{"name": "Name", "type": "string", "format": "name", "description": _NAME_DESCRIPTION,
                        "priority": 0}]
        definitions += [{"name": c.get("name", ""), "type": "string" if c.get("type") == "date" else c.get("type"),
                         "format": c.get("format", ""), "description": c.get("description", ""),
                         "priority": int(c.get("priority", 0))} for c in custom]
        for obj in objects:
            rows.append({"cells": [obj["metadata"]["name"], *(_custom_cell(obj, c) for c in custom)]})
    elif (group, kind) in _PRINTERS:
        columns, row = _PRINTERS[(group, kind)]
        definitions = [{"name": n, "type": t, "format": f, "description": _NAME_DESCRIPTION if f == "name" else n,
                        "priority": p} for n, t, p, f in columns]
        named_first = columns[0][3] == "name"
        for obj in objects:
            cells = row(obj)
            rows.append({"cells": [obj["metadata"]["name"], *cells] if named_first else cells})
    else:
        definitions = [{"name": "Name", "type": "string", "format": "name", "description": _NAME_DESCRIPTION,
                        "priority": 0},
                       {"name": "Created At", "type": "date", "format": "",
                        "description": "CreationTimestamp is a timestamp representing the server time when this "
                                       "object was created.", "priority": 0}]
        for obj in objects:
            rows.append({"cells": [obj["metadata"]["name"], obj["metadata"].get("creationTimestamp")]})
    for obj, out in zip(objects, rows, strict=True):
        included = _row_object({**obj, "apiVersion": api_version, "kind": kind}, include, table_version)
        if included is not None:
            out["object"] = included
    return {"kind": "Table", "apiVersion": f"meta.k8s.io/{table_version}", "metadata": list_meta,
            "columnDefinitions": definitions, "rows": rows}


def render(cluster: Any, target: Any, params: Any, verb: str, table_version: str) -> Obj:
    """The Table answering a get or list (`cluster` is operations.Cluster, `target` its Target)."""
    rtype = target.rtype
    if verb == "get":
        obj = cluster.get(target)
        objects, list_meta = [obj], {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
    else:
        listed = cluster.list(target, params)
        objects, list_meta = listed["items"], listed["metadata"]
    crd = cluster.schemas.crd(rtype) if rtype.custom else None
    return table(objects, rtype.group, rtype.kind, rtype.version, crd, list_meta, params.include_object,
                 table_version, rtype.api_version)


def watch_tables(lines: Iterator[bytes], cluster: Any, target: Any, params: Any, table_version: str
                 ) -> Iterator[bytes]:
    """A watch whose event objects are one-row Tables; only the first carries the column definitions."""
    rtype = target.rtype
    crd = cluster.schemas.crd(rtype) if rtype.custom else None
    first = True
    for line in lines:
        event = json.loads(line)
        obj = event.get("object")
        if event.get("type") in ("ADDED", "MODIFIED", "DELETED") and isinstance(obj, dict) and "metadata" in obj:
            converted = table([obj], rtype.group, rtype.kind, rtype.version, crd,
                              {"resourceVersion": obj["metadata"].get("resourceVersion", "")},
                              params.include_object, table_version, rtype.api_version)
            if not first:
                converted["columnDefinitions"] = []
            first = False
            line = json.dumps({"type": event["type"], "object": converted}, separators=(",", ":")).encode() + b"\n"
        yield line


def table_response(cluster: Any, target: Any, params: Any, verb: str, accept: str) -> bytes | Iterator[bytes] | None:
    """The body answering a get, list or watch that asks for a Table (None: it does not, or cannot have one)."""
    table_version = wants_table(accept)
    if not table_version or target.subresource:
        return None
    if verb == "watch":
        return watch_tables(watch_stream(cluster, target, params), cluster, target, params, table_version)
    return json.dumps(render(cluster, target, params, verb, table_version), separators=(",", ":")).encode()
