"""Label and field selectors with kube-apiserver's grammar (k8s.io/apimachinery/pkg/labels, fields).

Label selector: requirements joined by commas (AND): `k=v`, `k==v`, `k!=v`, `k in (a,b)`,
`k notin (a,b)`, `k`, `!k`, `k>1`, `k<1`. `!=` and `notin` also match objects without the key.
Parse errors raise `BadRequest` naming the selector and what was expected.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kubesim.errors import BadRequest

_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_KEY = re.compile(rf"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?{_NAME}$")
_VALUE = re.compile(rf"^({_NAME})?$")
_TOKEN = re.compile(r"\s*(==|!=|=|!|\(|\)|,|>|<|[^\s=!(),<>]+)")

Labels = Mapping[str, str]


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!", "gt", "lt"
    values: tuple[str, ...] = ()

    def matches(self, labels: Labels) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op in ("=", "in"):
            return present and value in self.values
        if self.op in ("!=", "notin"):
            return not present or value not in self.values
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        try:  # gt / lt compare integers; a non-integer label never matches
            number, bound = int(str(value)), int(self.values[0])
        except ValueError:
            return False
        return present and (number > bound if self.op == "gt" else number < bound)


class LabelSelector:
    """A parsed label selector; `matches(labels)` is True when every requirement holds."""

    def __init__(self, requirements: tuple[Requirement, ...]) -> None:
        self.requirements = requirements

    @property
    def empty(self) -> bool:
        return not self.requirements

    def matches(self, labels: Labels | None) -> bool:
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            break  # only trailing whitespace is left
        out.append(match.group(1))
        pos = match.end()
    return out


def _check_key(selector: str, key: str) -> str:
    if not _KEY.match(key) or len(key.rsplit("/", 1)[-1]) > 63:
        raise BadRequest(f'unable to parse requirement: key: Invalid value: "{key}": name part must consist of '
                         "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
                         f"character (in label selector \"{selector}\")")
    return key


def _check_value(selector: str, value: str) -> str:
    if not _VALUE.match(value):
        raise BadRequest(f'unable to parse requirement: values[0]: Invalid value: "{value}": a valid label '
                         "must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "
                         f"must start and end with an alphanumeric character (in label selector \"{selector}\")")
    return value


_OPERATORS = {"=": "=", "==": "=", "!=": "!=", "in": "in", "notin": "notin", ">": "gt", "<": "lt"}
_SPECIAL = {"=", "==", "!=", "!", "(", ")", ",", ">", "<"}


def parse_label_selector(text: str | None) -> LabelSelector:
    """Parse `text` (None or blank selects everything); raise BadRequest when malformed."""
    if not text or not text.strip():
        return LabelSelector(())
    tokens = _tokens(text)
    pos = 0
    requirements: list[Requirement] = []

    def peek() -> str:
        return tokens[pos] if pos < len(tokens) else ""

    def fail(found: str, expected: str) -> BadRequest:
        return BadRequest(f"unable to parse requirement: found '{found}', expected: {expected} "
                          f"(in label selector \"{text}\")")

    while True:
        token = peek()
        if token == "!":
            pos += 1
            key = peek()
            if not key or key in _SPECIAL:
                raise fail(key, "identifier after '!'")
            pos += 1
            requirements.append(Requirement(_check_key(text, key), "!"))
        elif not token or token in _SPECIAL:
            raise fail(token, "!, identifier")
        else:
            key = _check_key(text, token)
            pos += 1
            op_token = peek()
            if op_token in ("", ","):
                requirements.append(Requirement(key, "exists"))
            elif op_token in _OPERATORS:
                op = _OPERATORS[op_token]
                pos += 1
                if op in ("in", "notin"):
                    if peek() != "(":
                        raise fail(peek(), "'('")
                    pos += 1
                    values: list[str] = []
                    while True:
                        value = peek()
                        if value in (",", ")"):
                            values.append("")  # `k in (a,)`: an empty value, as in Go
                        elif value and value not in _SPECIAL:
                            values.append(_check_value(text, value))
                            pos += 1
                        else:
                            raise fail(value, "',' or ')'")
                        closing = peek()
                        pos += 1
                        if closing == ")":
                            break
                        if closing != ",":
                            raise fail(closing, "',' or ')'")
                    requirements.append(Requirement(key, op, tuple(values)))
                else:
                    value = peek()
                    if value in _SPECIAL - {","} or (value == "," and op in ("gt", "lt")):
                        raise fail(value, "identifier")
                    if value and value != ",":
                        pos += 1
                    else:
                        value = ""
                    if op in ("gt", "lt") and not re.fullmatch(r"-?\d+", value):
                        raise fail(value, "an integer for gt/lt")
                    requirements.append(Requirement(key, op, (_check_value(text, value),)))
            else:
                raise fail(op_token, "in, notin, =, ==, !=, gt, lt")
        token = peek()
        if not token:
            break
        if token != ",":
            raise fail(token, "','")
        pos += 1
        if not peek():
            raise fail("", "identifier")
    return LabelSelector(tuple(requirements))


def _path_getter(path: str) -> Callable[[Mapping[str, Any]], str]:
    parts = path.split(".")

    def get(obj: Mapping[str, Any]) -> str:
        node: Any = obj
        for part in parts:
            node = node.get(part) if isinstance(node, Mapping) else None
        if node is None:
            return ""
        if isinstance(node, bool):
            return "true" if node else "false"
        return str(node)

    return get


# Field labels each kind supports beyond metadata.name / metadata.namespace.
EXTRA_FIELD_LABELS: dict[str, frozenset[str]] = {
    "Pod": frozenset({"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
                      "status.phase", "status.podIP", "status.nominatedNodeName"}),
    "Secret": frozenset({"type"}),
    "Event": frozenset({"involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                        "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
                        "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"}),
    "Namespace": frozenset({"status.phase"}),
    "Node": frozenset({"spec.unschedulable"}),
    "Job": frozenset({"status.successful"}),
    "ReplicaSet": frozenset({"status.replicas"}),
}


@dataclass(frozen=True)
class FieldRequirement:
    field: str
    equal: bool
    value: str
    getter: Callable[[Mapping[str, Any]], str]

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return (self.getter(obj) == self.value) == self.equal


class FieldSelector:
    def __init__(self, requirements: tuple[FieldRequirement, ...]) -> None:
        self.requirements = requirements

    @property
    def empty(self) -> bool:
        return not self.requirements

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return all(r.matches(obj) for r in self.requirements)


def parse_field_selector(text: str | None, kind: str = "") -> FieldSelector:
    """Parse `metadata.name=x,metadata.namespace!=y`; unknown fields for `kind` are a BadRequest."""
    if not text or not text.strip():
        return FieldSelector(())
    allowed = {"metadata.name", "metadata.namespace"} | EXTRA_FIELD_LABELS.get(kind, frozenset())
    requirements: list[FieldRequirement] = []
    for term in text.split(","):
        term = term.strip()
        match = re.fullmatch(r"([^=!\s]+)\s*(==|!=|=)\s*(.*)", term)
        if not match:
            raise BadRequest(f'invalid selector: \'{text}\'; can\'t understand \'{term}\'')
        field, op, value = match.group(1), match.group(2), match.group(3).strip()
        if field not in allowed:
            raise BadRequest(f'field label not supported: {field} (in field selector "{text}"); '
                             f'supported for {kind or "this resource"}: {", ".join(sorted(allowed))}')
        requirements.append(FieldRequirement(field, op != "!=", value, _path_getter(field)))
    return FieldSelector(tuple(requirements))
