"""The three non-apply PATCH bodies kube-apiserver accepts; pure functions, inputs never mutated.

- `merge_patch`: JSON merge patch, RFC 7386 (`application/merge-patch+json`).
- `json_patch`: JSON patch, RFC 6902 (`application/json-patch+json`). As in
  k8s.io/apiserver handlers/patch.go: a body that is not a list of operations is 400
  BadRequest; an operation that cannot be applied (failed `test`, missing path, unknown
  op) is 422 Invalid with the patch library's message.
- `strategic_merge_patch`: `application/strategic-merge-patch+json` for built-in kinds
  (k8s.io/apimachinery/pkg/util/strategicpatch): lists with a patch merge key merge by
  it, `$patch: replace|delete|merge`, `$retainKeys`, `$deleteFromPrimitiveList/<f>`,
  `$setElementOrder/<f>` accepted and dropped (ordering is not replayed). Custom
  resources get 415, as on a real server.
"""

from __future__ import annotations

import json
from typing import Any

from kubesim.errors import ApiError, BadRequest, InternalError, UnsupportedMediaType
from kubesim.schema.merge_markers import SchemaNode, is_builtin, schema_for
from kubesim.storage.jsonvalue import copy_json

_MISSING: Any = object()


def merge_patch(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """RFC 7386: `patch` merged into `target`; null deletes a key, lists are replaced."""
    if not isinstance(patch, dict):
        raise BadRequest(f"merge patch body must be a JSON object, got {type(patch).__name__}")
    return _merge_patch(target, patch)


def _merge_patch(target: Any, patch: Any) -> Any:
    if type(patch) is not dict:
        return copy_json(patch)
    source = target if type(target) is dict else {}
    out = {k: copy_json(v) for k, v in source.items() if k not in patch}
    for key, value in patch.items():
        if value is not None:
            out[key] = _merge_patch(source.get(key), value)
    return out


# ---------------------------------------------------------------------------------------------
# JSON patch (RFC 6902)


class _PatchFailed(Exception):
    """An operation that cannot be applied; becomes 422 Invalid."""


def _invalid(message: str) -> ApiError:
    # NewGenericServerResponse(422, ...) in the real handler: reason Invalid, no details.
    return ApiError(message, code=422, reason="Invalid")


def json_patch(target: dict[str, Any], ops: list[Any]) -> dict[str, Any]:
    """RFC 6902 operations applied in order to a copy of `target`; all or nothing."""
    if not isinstance(ops, list) or not all(isinstance(op, dict) for op in ops):
        raise BadRequest("json: cannot unmarshal into Go value of type jsonpatch.Patch: "
                         "the body must be a JSON array of operation objects")
    doc: Any = copy_json(target)
    for number, op in enumerate(ops):
        try:
            doc = _apply_op(doc, op)
        except _PatchFailed as exc:
            raise _invalid(f"{exc} (operation {number} of the json patch)") from None
    return doc


def _pointer(op: dict[str, Any], field: str) -> list[str]:
    if field not in op:
        raise _PatchFailed(f'operation "{op.get("op")}" is missing the "{field}" member')
    pointer = op[field]
    if not isinstance(pointer, str) or (pointer and not pointer.startswith("/")):
        raise _PatchFailed(f'invalid JSON pointer {json.dumps(pointer)} in "{field}": must be "" or start with "/"')
    if pointer == "":
        return []
    return [part.replace("~1", "/").replace("~0", "~") for part in pointer[1:].split("/")]


def _value(op: dict[str, Any]) -> Any:
    if "value" not in op:
        raise _PatchFailed(f'operation "{op["op"]}" is missing the "value" member')
    return copy_json(op["value"])


def _list_index(container: list[Any], token: str, *, for_insert: bool, path: str) -> int:
    if for_insert and token == "-":
        return len(container)
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        raise _PatchFailed(f"invalid array index {json.dumps(token)} at {path}")
    index = int(token)
    limit = len(container) if for_insert else len(container) - 1
    if index > limit:
        raise _PatchFailed(f"array index {index} out of bounds at {path}")
    return index


def _parent(doc: Any, parts: list[str], path: str) -> Any:
    node = doc
    for token in parts[:-1]:
        if type(node) is dict:
            if token not in node:
                raise _PatchFailed(f"path {path} does not exist: missing {json.dumps(token)}")
            node = node[token]
        elif type(node) is list:
            node = node[_list_index(node, token, for_insert=False, path=path)]
        else:
            raise _PatchFailed(f"path {path} does not exist: {json.dumps(token)} is inside a scalar")
    return node


def _get(doc: Any, parts: list[str], path: str) -> Any:
    if not parts:
        return doc
    parent, last = _parent(doc, parts, path), parts[-1]
    if type(parent) is dict:
        if last not in parent:
            raise _PatchFailed(f"path {path} does not exist")
        return parent[last]
    if type(parent) is list:
        return parent[_list_index(parent, last, for_insert=False, path=path)]
    raise _PatchFailed(f"path {path} does not exist")


def _add(doc: Any, parts: list[str], value: Any, path: str) -> Any:
    if not parts:
        return value
    parent, last = _parent(doc, parts, path), parts[-1]
    if type(parent) is dict:
        parent[last] = value
    elif type(parent) is list:
        parent.insert(_list_index(parent, last, for_insert=True, path=path), value)
    else:
        raise _PatchFailed(f"path {path} does not exist")
    return doc


def _remove(doc: Any, parts: list[str], path: str) -> Any:
    if not parts:
        raise _PatchFailed("cannot remove the whole document")
    parent, last = _parent(doc, parts, path), parts[-1]
    if type(parent) is dict:
        if last not in parent:
            raise _PatchFailed(f"unable to remove nonexistent key {json.dumps(last)} at {path}")
        return parent.pop(last)
    if type(parent) is list:
        return parent.pop(_list_index(parent, last, for_insert=False, path=path))
    raise _PatchFailed(f"path {path} does not exist")


def _apply_op(doc: Any, op: dict[str, Any]) -> Any:
    name = op.get("op")
    path = op.get("path")
    if name == "add":
        return _add(doc, _pointer(op, "path"), _value(op), path)
    if name == "remove":
        _remove(doc, _pointer(op, "path"), path)
        return doc
    if name == "replace":
        parts = _pointer(op, "path")
        value = _value(op)
        if not parts:
            return value
        _get(doc, parts, path)  # replace needs an existing target
        parent = _parent(doc, parts, path)
        if type(parent) is dict:
            parent[parts[-1]] = value
        else:
            parent[_list_index(parent, parts[-1], for_insert=False, path=path)] = value
        return doc
    if name in ("move", "copy"):
        source, target = _pointer(op, "from"), _pointer(op, "path")
        if name == "move" and target[: len(source)] == source and len(target) > len(source):
            raise _PatchFailed(f"cannot move {op['from']} into its own child {path}")
        if name == "move":
            value = _remove(doc, source, op["from"]) if source else doc
        else:
            value = copy_json(_get(doc, source, op["from"]))
        return _add(doc, target, value, path)
    if name == "test":
        actual = _get(doc, _pointer(op, "path"), path)
        if not _json_equal(actual, _value(op)):
            raise _PatchFailed(f"testing value {path} failed: test failed")
        return doc
    raise _PatchFailed(f"Unexpected kind: {name}" if name is not None else 'operation is missing the "op" member')


def _json_equal(a: Any, b: Any) -> bool:
    # JSON has no bool/number overlap; Python's True == 1 must not pass a test op.
    if type(a) is bool or type(b) is bool:
        return type(a) is type(b) and a == b
    if type(a) is dict and type(b) is dict:
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if type(a) is list and type(b) is list:
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


# ---------------------------------------------------------------------------------------------
# Strategic merge patch


def strategic_merge_patch(target: dict[str, Any], patch: dict[str, Any], kind: str, group: str) -> dict[str, Any]:
    """`patch` applied to `target` with the patch merge keys of the built-in `group`/`kind`."""
    if not is_builtin(group):
        raise UnsupportedMediaType(
            "the body of the request was in an unknown format - accepted media types include: "
            "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
        )
    if not isinstance(patch, dict):
        raise BadRequest(f"strategic merge patch body must be a JSON object, got {type(patch).__name__}")
    result = _smp_map(target if isinstance(target, dict) else {}, patch, schema_for(group, kind), "")
    return result if result is not _MISSING else {}


def _smp_map(original: dict[str, Any], patch: dict[str, Any], node: SchemaNode, where: str) -> Any:
    directive = patch.get("$patch")
    if directive == "delete":
        return _MISSING
    if directive == "replace":
        return _without_directives(patch)
    if directive not in (None, "merge"):
        raise BadRequest(f"{where or 'patch'}: unknown patch type {json.dumps(directive)} in $patch; "
                         "use one of replace, delete, merge")
    out = {k: copy_json(v) for k, v in original.items()}
    retain = patch.get("$retainKeys")
    if retain is not None:
        if not isinstance(retain, list):
            raise BadRequest(f"{where or 'patch'}: $retainKeys must be a list of field names")
        for key in list(out):
            if key not in retain:
                del out[key]
    for key, value in patch.items():
        if key.startswith("$setElementOrder/") or key in ("$patch", "$retainKeys"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            if isinstance(out.get(field), list) and isinstance(value, list):
                out[field] = [item for item in out[field] if item not in value]
            continue
        path = f"{where}.{key}" if where else key
        if value is None:
            out.pop(key, None)
        elif type(value) is dict:
            current = out.get(key)
            merged = _smp_map(current if type(current) is dict else {}, value, node.child(key), path)
            if merged is _MISSING:
                out.pop(key, None)
            else:
                out[key] = merged
        elif type(value) is list:
            out[key] = _smp_list(out.get(key), value, node.child(key), path)
        else:
            out[key] = value
    return out


def _smp_list(original: Any, patch: list[Any], node: SchemaNode, where: str) -> list[Any]:
    current = original if type(original) is list else []
    if any(type(item) is dict and item.get("$patch") == "replace" for item in patch):
        return [_without_directives(item) for item in patch
                if not (type(item) is dict and item.get("$patch") == "replace")]
    if node.merge_key:
        return _smp_keyed_list(current, patch, node, where)
    if node.merge_primitives:
        merged = list(current)
        merged.extend(copy_json(item) for item in patch if item not in merged)
        return merged
    return [_without_directives(item) if type(item) is dict else copy_json(item) for item in patch]


def _smp_keyed_list(current: list[Any], patch: list[Any], node: SchemaNode, where: str) -> list[Any]:
    key = node.merge_key
    out = [copy_json(item) for item in current]
    for item in patch:
        if type(item) is not dict or key not in item:
            raise InternalError(f"{where}: map: {json.dumps(item)} does not contain declared merge key: {key}")
        position = next((i for i, old in enumerate(out) if type(old) is dict and old.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if position is not None:
                del out[position]
            continue
        if position is None:
            out.append(_without_directives(item))
        else:
            out[position] = _smp_map(out[position], item, node.item, f"{where}[{key}={item[key]}]")
    return out


def _without_directives(value: Any) -> Any:
    if type(value) is dict:
        return {k: _without_directives(v) for k, v in value.items()
                if not k.startswith("$") and v is not None}
    if type(value) is list:
        return [_without_directives(v) for v in value]
    return value
