"""Kubernetes label selectors in their text form (`a=b,c!=d,e in (x,y),!f,g`), as the
`selector` of a default subscription in argocd-notifications-cm is written."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_REQUIREMENT = re.compile(
    r"""^\s*(?:
        (?P<not_exists>!\s*(?P<nkey>[\w./-]+))
      | (?P<key>[\w./-]+)\s*(?:
            (?P<op>==|=|!=)\s*(?P<value>[\w.-]*)
          | (?P<set_op>in|notin)\s*\((?P<values>[^)]*)\)
        )?
    )\s*$""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # =, !=, in, notin, exists, !exists
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.operator == "exists":
            return present
        if self.operator == "!exists":
            return not present
        if self.operator in ("=", "in"):
            return present and value in self.values
        return not present or value not in self.values  # != and notin match a missing label too


@dataclass(frozen=True)
class LabelSelector:
    requirements: tuple[Requirement, ...]

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(requirement.matches(labels) for requirement in self.requirements)


def parse_selector(text: str) -> LabelSelector:
    """ValueError names the requirement that is not a label selector."""
    requirements = []
    for part in _split(text):
        match = _REQUIREMENT.match(part)
        if not match:
            raise ValueError(f"{part.strip()!r} is not a label selector requirement (like app=web or tier in (a,b))")
        if match.group("not_exists"):
            requirements.append(Requirement(match.group("nkey"), "!exists"))
        elif match.group("op"):
            operator = "!=" if match.group("op") == "!=" else "="
            requirements.append(Requirement(match.group("key"), operator, (match.group("value"),)))
        elif match.group("set_op"):
            values = tuple(v.strip() for v in match.group("values").split(",") if v.strip())
            requirements.append(Requirement(match.group("key"), match.group("set_op"), values))
        else:
            requirements.append(Requirement(match.group("key"), "exists"))
    return LabelSelector(tuple(requirements))


def _split(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, current = [], 0, []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if "".join(current).strip():
        parts.append("".join(current))
    return [part for part in parts if part.strip()]
