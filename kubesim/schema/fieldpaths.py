"""Field paths and field sets as `metadata.managedFields` stores them (FieldsV1).

A path is a tuple of encoded elements, the same strings FieldsV1 uses as keys:
`f:<field>`, `k:<compact JSON of the key fields, keys sorted>` for an item of an
associative list, `v:<compact JSON of the value>` for an item of a set. A field set
is a Python `set` of such tuples; FieldsV1 is the trie of those paths where `".": {}`
marks a node that is itself a member and has children
(sigs.k8s.io/structured-merge-diff, fieldpath/serialize.go).
"""

from __future__ import annotations

import json
from typing import Any

from kubesim.errors import InternalError
from kubesim.schema.merge_markers import SchemaNode

Path = tuple[str, ...]
FieldSet = set[Path]


# One encoder for every call: json.dumps with non-default options builds a new one each time,
# which dominated the cost of an apply.
_quote = json.encoder.encode_basestring  # type: ignore[attr-defined]
_compact = json.JSONEncoder(separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode


def key_element(item: Any, node: SchemaNode, path: Path = ()) -> str:
    """`k:{"containerPort":80,"protocol":"TCP"}` for an item of the associative list `node` at `path`."""
    if not isinstance(item, dict):
        raise InternalError(
            f"{format_path(path) or 'list'}: associative list item must be an object, got {_compact(item)}"
        )
    key: dict[str, Any] = {}
    for name in node.keys:
        if name in item and item[name] is not None:
            key[name] = item[name]
        elif name in node.key_defaults:
            key[name] = node.key_defaults[name]
        else:
            raise InternalError(
                f"{format_path(path) or 'list'}: associative list with keys has an element that omits key field "
                f"{json.dumps(name)} (and doesn't have default value)"
            )
    if all(type(v) is str or type(v) is int for v in key.values()):
        # Fast path for the usual string/integer keys; same text as the JSON encoder.
        parts = [f"{_quote(name)}:{_quote(v) if type(v) is str else v}" for name, v in sorted(key.items())]
        return "k:{" + ",".join(parts) + "}"
    return "k:" + _compact(key)


def value_element(value: Any) -> str:
    return "v:" + _compact(value)


def to_fields_v1(fields: FieldSet) -> dict[str, Any]:
    """The FieldsV1 trie of a field set, children in the order a real server writes them."""
    root: dict[str, Any] = {}
    members: list[dict[str, Any]] = []
    for path in sorted(fields):
        node = root
        for element in path:
            node = node.setdefault(element, {})
        members.append(node)
    for node in members:
        if node and "." not in node:
            # "." sorts before every "f:"/"k:"/"v:" key; rebuild to put it first.
            items = list(node.items())
            node.clear()
            node["."] = {}
            node.update(items)
    return root


def from_fields_v1(trie: dict[str, Any]) -> FieldSet:
    """The field set a FieldsV1 trie stores."""
    out: FieldSet = set()

    def walk(node: dict[str, Any], path: Path) -> None:
        for element, child in node.items():
            if element == ".":
                out.add(path)
                continue
            sub = (*path, element)
            if child:
                walk(child, sub)
            else:
                out.add(sub)

    walk(trie or {}, ())
    return out


def format_path(path: Path) -> str:
    """`.spec.template.spec.containers[name="web"].image`, as conflicts are reported."""
    parts: list[str] = []
    for element in path:
        kind, text = element[:2], element[2:]
        if kind == "f:":
            parts.append("." + text)
        elif kind == "k:":
            key = json.loads(text)
            parts.append("[" + ",".join(f"{k}={_compact(v)}" for k, v in key.items()) + "]")
        elif kind == "v:":
            parts.append("[=" + text + "]")
        else:
            parts.append(f"[{text}]")
    return "".join(parts)


def with_ancestors(fields: FieldSet) -> FieldSet:
    """Every path in `fields` and every prefix of one."""
    out: FieldSet = set()
    for path in fields:
        for end in range(len(path), 0, -1):
            prefix = path[:end]
            if prefix in out:
                break
            out.add(prefix)
    return out
