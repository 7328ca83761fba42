"""Tolerant, typed reads of fields in a live object.

Live objects come from a cluster, a test emulator or a hand-written fixture; fields
may be absent (an object no controller has seen yet) or, rarely, of the wrong type.
Absent fields read as the default a real API server would have written. A field of
the wrong type raises MalformedStatus naming its path, never a bare KeyError or
TypeError, so the caller can report *which* field to look at. Values are never put
into error messages: only their type, so nothing sensitive leaks into a status.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any


class MalformedStatus(ValueError):
    """A field of a live object has a shape no Kubernetes controller writes."""

    def __init__(self, path: str, expected: str, got: object, *, got_text: str | None = None) -> None:
        super().__init__(f"{path}: expected {expected}, got {got_text or _type_name(got)}")
        self.path = path


def _type_name(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "an integer"}
    return names.get(type(value), type(value).__name__)


def value_at(obj: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path (`status.loadBalancer.ingress`), or None when absent."""
    node: Any = obj
    walked: list[str] = []
    for part in path.split("."):
        if node is None:
            return None
        if not isinstance(node, Mapping):
            raise MalformedStatus(".".join(walked), "an object", node)
        node = node.get(part)
        walked.append(part)
    return node


def int_at(obj: Mapping[str, Any], path: str, default: int = 0) -> int:
    value = value_at(obj, path)
    if value is None:
        return default
    if isinstance(value, bool):
        raise MalformedStatus(path, "an integer", value)
    if isinstance(value, int):
        return value
    # JSON decoders may hand back 3.0 for 3; anything fractional is not a count.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise MalformedStatus(path, "an integer", value)


def str_at(obj: Mapping[str, Any], path: str, default: str = "") -> str:
    value = value_at(obj, path)
    if value is None:
        return default
    if not isinstance(value, str):
        raise MalformedStatus(path, "a string", value)
    return value


def bool_at(obj: Mapping[str, Any], path: str) -> bool:
    value = value_at(obj, path)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise MalformedStatus(path, "a boolean", value)
    return value


def list_at(obj: Mapping[str, Any], path: str) -> list[Any]:
    value = value_at(obj, path)
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedStatus(path, "a list", value)
    return value


def map_at(obj: Mapping[str, Any], path: str) -> Mapping[str, Any]:
    value = value_at(obj, path)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise MalformedStatus(path, "an object", value)
    return value


def maps_at(obj: Mapping[str, Any], path: str) -> list[Mapping[str, Any]]:
    """A list whose items must all be objects (conditions, container statuses)."""
    items = list_at(obj, path)
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise MalformedStatus(f"{path}[{index}]", "an object", item)
    return items


def time_at(obj: Mapping[str, Any], path: str) -> datetime | None:
    """An RFC 3339 timestamp (`2024-05-01T10:00:00Z`), or None when absent."""
    raw = str_at(obj, path)
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise MalformedStatus(path, "an RFC 3339 timestamp", raw, got_text="a string that is not one") from None
    # Kubernetes writes UTC ("Z"); a bare time is read as UTC so times stay comparable.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def condition(obj: Mapping[str, Any], kind: str, path: str = "status.conditions") -> Mapping[str, Any] | None:
    """The first condition of a type (controllers keep one per type), or None."""
    for index, item in enumerate(maps_at(obj, path)):
        if str_at(item, "type") == kind:
            # Re-read typed fields here so a bad `status` or `message` names its path.
            for field in ("status", "reason", "message"):
                value = item.get(field)
                if value is not None and not isinstance(value, str):
                    raise MalformedStatus(f"{path}[{index}].{field}", "a string", value)
            return item
    return None
