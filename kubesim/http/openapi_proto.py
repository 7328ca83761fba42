"""`/openapi/v2` as protobuf (gnostic's `openapi.v2.Document`), the only form client-go's OpenAPISchema() parses.

kubectl up to 1.32 asks for `application/com.github.proto-openapi.spec.v2@v1.0+protobuf` and
unmarshals the body as protobuf without looking at Content-Type, so a JSON answer fails with
"proto: cannot parse invalid wire-format data". This encodes the swagger document with the
field numbers of gnostic's OpenAPIv2.proto; only the messages a Kubernetes document uses are
written. Vendor extensions, defaults and enum values are `Any{yaml}`: JSON text is YAML.
"""

from __future__ import annotations

import json
import struct
from typing import Any

PROTOBUF_MEDIA_TYPE = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"  # what clients ask for
# What the server answers: Go's mime parser refuses the "@" in a Content-Type.
PROTOBUF_CONTENT_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"


def _varint(value: int) -> bytes:
    out = bytearray()
    value &= (1 << 64) - 1
    while True:
        bits = value & 0x7F
        value >>= 7
        if value:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


def _bytes_field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _string(number: int, value: Any) -> bytes:
    return _bytes_field(number, str(value).encode()) if value not in (None, "") else b""


def _bool(number: int, value: Any) -> bytes:
    return _varint(number << 3) + b"\x01" if value else b""


def _int(number: int, value: Any) -> bytes:
    return _varint(number << 3) + _varint(int(value)) if value else b""


def _double(number: int, value: Any) -> bytes:
    return _varint(number << 3 | 1) + struct.pack("<d", float(value)) if value is not None else b""


def _any(value: Any) -> bytes:
    """gnostic `Any`: the value as YAML text (field 2)."""
    return _string(2, json.dumps(value, separators=(",", ":")))


def _named_any(name: str, value: Any) -> bytes:
    return _string(1, name) + _bytes_field(2, _any(value))


def _extensions(number: int, node: dict[str, Any]) -> bytes:
    return b"".join(_bytes_field(number, _named_any(k, v)) for k, v in node.items() if k.startswith("x-"))


def schema(node: dict[str, Any]) -> bytes:
    """gnostic `Schema`."""
    out = [_string(1, node.get("$ref")), _string(2, node.get("format")), _string(3, node.get("title")),
           _string(4, node.get("description"))]
    if "default" in node:
        out.append(_bytes_field(5, _any(node["default"])))
    out += [_double(6, node.get("multipleOf")), _double(7, node.get("maximum")),
            _bool(8, node.get("exclusiveMaximum")), _double(9, node.get("minimum")),
            _bool(10, node.get("exclusiveMinimum")), _int(11, node.get("maxLength")), _int(12, node.get("minLength")),
            _string(13, node.get("pattern")), _int(14, node.get("maxItems")), _int(15, node.get("minItems")),
            _bool(16, node.get("uniqueItems")), _int(17, node.get("maxProperties")),
            _int(18, node.get("minProperties"))]
    out += [_string(19, r) for r in node.get("required") or []]
    out += [_bytes_field(20, _any(v)) for v in node.get("enum") or []]
    additional = node.get("additionalProperties")
    if isinstance(additional, dict):
        out.append(_bytes_field(21, _bytes_field(1, schema(additional))))
    elif isinstance(additional, bool):
        out.append(_bytes_field(21, _varint(2 << 3) + (b"\x01" if additional else b"\x00")))
    kinds = node.get("type")
    if kinds:
        out.append(_bytes_field(22, b"".join(_string(1, t) for t in ([kinds] if isinstance(kinds, str) else kinds))))
    items = node.get("items")
    if isinstance(items, dict):
        out.append(_bytes_field(23, _bytes_field(1, schema(items))))
    out += [_bytes_field(24, schema(s)) for s in node.get("allOf") or []]
    props = node.get("properties")
    if props:
        out.append(_bytes_field(25, b"".join(
            _bytes_field(1, _string(1, name) + _bytes_field(2, schema(value))) for name, value in props.items())))
    out.append(_bool(27, node.get("readOnly")))
    out.append(_extensions(31, node))
    return b"".join(out)


def _parameter(param: dict[str, Any]) -> bytes:
    if param.get("in") == "body":
        body = (_string(1, param.get("description")) + _string(2, param.get("name")) + _string(3, "body")
                + _bool(4, param.get("required")) + _bytes_field(5, schema(param.get("schema") or {})))
        parameter = _bytes_field(1, body)
    else:
        sub = (_bool(1, param.get("required")) + _string(2, param.get("in")) + _string(3, param.get("description"))
               + _string(4, param.get("name")) + _string(6, param.get("type")) + _bool(20, param.get("uniqueItems")))
        parameter = _bytes_field(2, _bytes_field(3 if param.get("in") == "query" else 4, sub))
    return _bytes_field(1, parameter)  # ParametersItem.parameter


def _operation(op: dict[str, Any]) -> bytes:
    out = [_string(3, op.get("description")), _string(5, op.get("operationId"))]
    out += [_string(6, m) for m in op.get("produces") or []]
    out += [_string(7, m) for m in op.get("consumes") or []]
    out += [_bytes_field(8, _parameter(p)) for p in op.get("parameters") or []]
    responses = b""
    for code, response in (op.get("responses") or {}).items():
        body = _string(1, response.get("description"))
        if response.get("schema"):
            body += _bytes_field(2, _bytes_field(1, schema(response["schema"])))
        responses += _bytes_field(1, _string(1, code) + _bytes_field(2, _bytes_field(1, body)))
    out.append(_bytes_field(9, responses))
    out.append(_extensions(13, op))
    return b"".join(out)


_PATH_ITEM_FIELDS = {"get": 2, "put": 3, "post": 4, "delete": 5, "options": 6, "head": 7, "patch": 8}


def document(doc: dict[str, Any]) -> bytes:
    """gnostic `Document` for a swagger 2.0 document."""
    info = doc.get("info") or {}
    info_body = _string(1, info.get("title")) + _string(2, info.get("version"))
    out = [_string(1, doc.get("swagger")), _bytes_field(2, info_body)]
    paths = b""
    for path, item in (doc.get("paths") or {}).items():
        body = b"".join(_bytes_field(_PATH_ITEM_FIELDS[method], _operation(op)) for method, op in item.items()
                        if method in _PATH_ITEM_FIELDS)
        paths += _bytes_field(2, _string(1, path) + _bytes_field(2, body))
    out.append(_bytes_field(8, paths))
    out.append(_bytes_field(9, b"".join(_bytes_field(1, _string(1, name) + _bytes_field(2, schema(value)))
                                        for name, value in (doc.get("definitions") or {}).items())))
    return b"".join(out)
