"""Decode the protobuf bodies kubectl sends to the review APIs (`auth can-i`, `auth whoami`).

kubectl's typed clients post these as `application/vnd.kubernetes.protobuf`: the `k8s\\x00`
magic, then a runtime.Unknown envelope whose `raw` field holds the object (field numbers from
k8s.io/api/authorization/v1/generated.proto). Only the spec fields a review reads are decoded;
answers go back as JSON, which client-go accepts whatever it sent.
"""

from __future__ import annotations

from typing import Any

from kubesim.errors import BadRequest

MAGIC = b"k8s\x00"
PROTOBUF = "application/vnd.kubernetes.protobuf"
_RESOURCE_ATTRIBUTES = {1: "namespace", 2: "verb", 3: "group", 4: "version", 5: "resource", 6: "subresource",
                        7: "name"}
_NON_RESOURCE_ATTRIBUTES = {1: "path", 2: "verb"}


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if at >= len(data):
            raise BadRequest("the protobuf body is truncated")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7


def fields(data: bytes) -> dict[int, bytes]:
    """Length-delimited fields by number (the last one wins); other wire types are skipped."""
    out: dict[int, bytes] = {}
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, at = _varint(data, at)
        elif wire == 1:
            at += 8
        elif wire == 5:
            at += 4
        elif wire == 2:
            size, at = _varint(data, at)
            out[number] = data[at:at + size]
            at += size
        else:
            raise BadRequest(f"the protobuf body has an unsupported wire type {wire}")
    return out


def _strings(data: bytes, names: dict[int, str]) -> dict[str, str]:
    return {names[n]: v.decode() for n, v in fields(data).items() if n in names}


def decode_review(raw: bytes) -> dict[str, Any]:
    """A review object as the JSON a client would have sent."""
    if not raw.startswith(MAGIC):
        raise BadRequest("the protobuf body lacks the k8s\\x00 prefix")
    envelope = fields(raw[len(MAGIC):])
    type_meta = _strings(envelope.get(1, b""), {1: "apiVersion", 2: "kind"})
    obj = fields(envelope.get(2, b""))
    spec_fields = fields(obj.get(2, b"")) if type_meta.get("kind") != "SelfSubjectReview" else {}
    spec: dict[str, Any] = {}
    kind = type_meta.get("kind", "")
    if kind == "SelfSubjectRulesReview":
        spec = _strings(obj.get(2, b""), {1: "namespace"})
    elif kind in ("SelfSubjectAccessReview", "SubjectAccessReview"):
        if 1 in spec_fields:
            spec["resourceAttributes"] = _strings(spec_fields[1], _RESOURCE_ATTRIBUTES)
        if 2 in spec_fields:
            spec["nonResourceAttributes"] = _strings(spec_fields[2], _NON_RESOURCE_ATTRIBUTES)
    return {**type_meta, "spec": spec}
