"""Turning YAML/JSON text into Kubernetes objects, each remembering where it came from.

Shared by every renderer: files in a directory, Helm's rendered templates and
Kustomize's output all go through `parse_yaml_stream` / `parse_json_document`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml

from reconciler.model.resources import HELM_HOOK_ANNOTATION, HOOK_ANNOTATION
from reconciler.model.yaml_reader import MAX_DOCUMENT_NODES
from reconciler.source.render.errors import RenderError

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _ManifestLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe loader that keeps timestamps as strings.

    Kubernetes decodes `2024-01-01` in a manifest to a string; PyYAML would make a
    datetime, which neither JSON nor the API server can carry.
    """


_ManifestLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class Manifest:
    """One object and its origin: repository-relative file, 1-based document number and line."""

    file: str
    document: int
    line: int | None
    obj: dict[str, Any]

    def where(self) -> str:
        return f"{self.file} (document {self.document})"


def load_yaml_documents(text: str, file: str) -> list[tuple[int, int, Any]]:
    """(document number, first line, value) for every non-empty document in `text`.

    Empty and comment-only documents are dropped. Malformed YAML raises a
    RenderError with the file and the line of the fault.
    """
    loader = _ManifestLoader(text)
    documents: list[tuple[int, int, Any]] = []
    number = 0
    try:
        while loader.check_node():
            node = loader.get_node()
            number += 1
            if node is None:
                continue
            _check_node_budget(node, file, number)
            value = loader.construct_document(node)
            if value is not None:
                documents.append((number, node.start_mark.line + 1, value))
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = err.problem or err.context or "invalid YAML"
        raise RenderError(f"malformed YAML: {problem}", file=file, line=line) from None
    except yaml.YAMLError as err:
        raise RenderError(f"malformed YAML: {err}", file=file) from None
    finally:
        loader.dispose()
    return documents


def _check_node_budget(root: yaml.Node, file: str, number: int) -> None:
    """Refuse a document of more than MAX_DOCUMENT_NODES nodes counting each alias as a copy of
    what it names (what the document becomes as JSON): a few lines of nested anchors would
    otherwise expand to billions of nodes. The same budget Application files get."""
    budget = MAX_DOCUMENT_NODES
    stack = [root]
    while stack:
        node = stack.pop()
        budget -= 1
        if budget < 0:
            raise RenderError(
                f"document {number} expands to more than {MAX_DOCUMENT_NODES} YAML nodes (counting each alias "
                "as a copy); refused: it looks like a YAML bomb of nested anchors, or split it into smaller files",
                file=file,
                line=root.start_mark.line + 1,
            )
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.append(key)
                stack.append(value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


def parse_yaml_stream(text: str, file: str) -> list[Manifest]:
    """Every Kubernetes object in a (multi-document) YAML text, `*List` kinds flattened."""
    manifests: list[Manifest] = []
    for number, line, value in load_yaml_documents(text, file):
        manifests.extend(objects_of(value, file, number, line))
    return manifests


def parse_json_document(text: str, file: str) -> list[Manifest]:
    """The object (or flattened List) held in a JSON file."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise RenderError(f"malformed JSON: {err.msg}", file=file, line=err.lineno) from None
    return objects_of(value, file, 1, 1)


def objects_of(value: Any, file: str, number: int, line: int | None) -> list[Manifest]:
    """The object in `value`, or the items of a `*List`, each checked to be a Kubernetes object."""
    if _is_list(value):
        # kubectl's `kind: List` (and any typed *List) is a container, not an object to apply.
        return [
            Manifest(file, number, line, _require_object(item, file, number, line, in_list=True))
            for item in value.get("items") or []
        ]
    return [Manifest(file, number, line, _require_object(value, file, number, line))]


def _is_list(value: Any) -> bool:
    if not isinstance(value, dict) or not str(value.get("kind", "")).endswith("List"):
        return False
    return isinstance(value.get("items"), list) or _is_null_list(value)


def _is_null_list(obj: dict[str, Any]) -> bool:
    return "items" in obj and obj["items"] is None and "spec" not in obj and "status" not in obj


def _require_object(value: Any, file: str, number: int, line: int | None, *, in_list: bool = False) -> dict[str, Any]:
    where = f"document {number}" + (" (an item of its list)" if in_list else "")
    if not isinstance(value, dict):
        raise RenderError(
            f"{where} is not a Kubernetes object (a {type(value).__name__}, not a mapping): "
            "remove it or exclude the file",
            file=file,
            line=line,
        )
    missing = [key for key in ("apiVersion", "kind") if not isinstance(value.get(key), str) or not value[key]]
    if missing:
        raise RenderError(
            f"{where} is not a Kubernetes object: missing {' and '.join(missing)}; "
            "remove it, move it out of the source path, or exclude the file",
            file=file,
            line=line,
        )
    metadata = value.get("metadata")
    named = isinstance(metadata, dict) and (metadata.get("name") or metadata.get("generateName"))
    if not named and not _is_hook(metadata):  # a sync names an unnamed hook, as Argo CD does
        raise RenderError(f"{where} ({value['kind']}) has no metadata.name: give it a name", file=file, line=line)
    return _plain_json(value, file, line)


def _is_hook(metadata: Any) -> bool:
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    return isinstance(annotations, dict) and any(key in annotations for key in (HOOK_ANNOTATION, HELM_HOOK_ANNOTATION))


def _plain_json(value: dict[str, Any], file: str, line: int | None) -> dict[str, Any]:
    # A JSON round trip gives every object its own copy (YAML anchors share them)
    # and rejects what the API cannot carry (binary, NaN, non-string keys made strings).
    try:
        copied: dict[str, Any] = json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as err:
        raise RenderError(f"object cannot be expressed as JSON: {err}", file=file, line=line) from None
    return copied
