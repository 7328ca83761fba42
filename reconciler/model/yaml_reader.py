"""Reading YAML with field paths and lines: typed reads whose mistakes become Problems naming the path."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

from reconciler.core.durations import DURATION_HINT, parse_duration
from reconciler.model.errors import Problem, SpecError


def describe_value(value: Any) -> str:
    """What a YAML value is, without echoing it (it may be a secret)."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def parent_path(path: str) -> str:
    if path.endswith("]"):
        return path[: path.rindex("[")]
    return path.rpartition(".")[0]


# Go's YAML decoder refuses "excessive aliasing" too; without a cap, a few lines of
# nested anchors expand to billions of nodes (and so would any JSON written from them).
MAX_DOCUMENT_NODES = 100_000


class TooManyNodes(Exception):
    pass


def record_node_lines(node: yaml.Node, path: str, lines: dict[str, int], budget: list[int]) -> None:
    """Record the 1-based line of every field path under `node`, within a node budget."""
    budget[0] -= 1
    if budget[0] < 0:
        raise TooManyNodes
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = f"{path}.{key}" if path else key
            lines.setdefault(child, key_node.start_mark.line + 1)
            record_node_lines(value_node, child, lines, budget)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = f"{path}[{index}]"
            lines.setdefault(child, item.start_mark.line + 1)
            record_node_lines(item, child, lines, budget)


class FieldReader:
    """Typed reads from one manifest; each wrong field becomes a Problem naming its path."""

    def __init__(self, source_file: str, lines: dict[str, int] | None = None) -> None:
        self.file = source_file
        self.lines = lines or {}
        self.problems: list[Problem] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(self.file, path, message, self.line_of(path)))

    def line_of(self, path: str) -> int | None:
        while True:
            if path in self.lines:
                return self.lines[path]
            if not path:
                return None
            path = parent_path(path)

    def raise_if_any(self) -> None:
        if self.problems:
            raise SpecError(self.problems)

    def mapping(self, obj: dict[str, Any], key: str, path: str) -> dict[str, Any] | None:
        value = obj.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.problem(path, f"must be a mapping of fields, found {describe_value(value)}")
            return None
        return value

    def string(self, obj: dict[str, Any], key: str, path: str, default: str = "") -> str:
        value = obj.get(key)
        if value is None:
            return default
        if not isinstance(value, str):
            self.problem(path, f"must be a string, found {describe_value(value)}; put the value in quotes")
            return default
        return value

    def boolean(self, obj: dict[str, Any], key: str, path: str, default: bool = False) -> bool:
        value = obj.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.problem(path, f"must be true or false, found {describe_value(value)}")
            return default
        return value

    def integer(self, obj: dict[str, Any], key: str, path: str, default: int) -> int:
        value = obj.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(path, f"must be a whole number, found {describe_value(value)}")
            return default
        return value

    def items(self, obj: dict[str, Any], key: str, path: str) -> list[Any]:
        value = obj.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(path, f"must be a list, found {describe_value(value)}")
            return []
        return value

    def mappings(self, obj: dict[str, Any], key: str, path: str, fields: str) -> Iterator[tuple[dict[str, Any], str]]:
        """The mapping items of the list `obj[key]`, each with its path (like `path[2]`). Any other
        item is a problem naming its index and the fields it must hold (`fields`, like "name and
        value") and is skipped, so one wrong item does not hide the problems of the rest.

        A generator, so that problems stay in document order with those the caller finds in each
        item; iterate it to the end, or later items go unchecked."""
        for index, item in enumerate(self.items(obj, key, path)):
            item_path = f"{path}[{index}]"
            if isinstance(item, dict):
                yield item, item_path
            else:
                self.problem(item_path, f"must be a mapping with {fields}, found {describe_value(item)}")

    def required_string(self, obj: dict[str, Any], key: str, path: str, hint: str) -> str:
        """Like `string`; a missing or empty value is also a problem, "required: " and `hint`."""
        value = self.string(obj, key, path)
        if not value:
            self.problem(path, f"required: {hint}")
        return value

    def strings(self, obj: dict[str, Any], key: str, path: str) -> tuple[str, ...]:
        result = []
        for index, item in enumerate(self.items(obj, key, path)):
            if isinstance(item, str):
                result.append(item)
            else:
                self.problem(f"{path}[{index}]", f"must be a string, found {describe_value(item)}; put it in quotes")
        return tuple(result)

    def string_map(self, obj: dict[str, Any], key: str, path: str) -> dict[str, str]:
        value = self.mapping(obj, key, path)
        result: dict[str, str] = {}
        for name, item in (value or {}).items():
            if isinstance(item, str):
                result[str(name)] = item
            else:
                self.problem(f"{path}.{name}", f"must be a string, found {describe_value(item)}; put it in quotes")
        return result

    def duration(self, obj: dict[str, Any], key: str, path: str, default: float) -> float:
        value = obj.get(key)
        if value is None or value == "":
            return default
        try:
            seconds = parse_duration(value)
        except ValueError:
            shown = f'"{value}"' if isinstance(value, str) else describe_value(value)
            self.problem(path, f"{shown} {DURATION_HINT}")
            return default
        if seconds < 0:
            self.problem(path, f'"{value}" is negative; use a positive duration like 5s')
            return default
        return seconds
