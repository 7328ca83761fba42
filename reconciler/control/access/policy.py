"""An `argocd-rbac-cm` ConfigMap, read as Argo CD reads it (util/rbac `PolicyCSV`, `syncUpdate`).

    load_rbac_config(path) -> RbacConfig          raises PolicyError naming the file, key and line
    parse_rbac_data(data, source) -> RbacConfig

RECONCILER_RBAC_FILE names a whole ConfigMap, its `data:` map, or a directory where it is
mounted (reconciler/model/configmap_data.py). The keys:

- `policy.csv`, then every `policy.<name>.csv` in the order of their keys (Argo CD's policy
  composition): one rule a line, `p, <subject>, <resource>, <action>, <object>, allow|deny` or
  `g, <user or group>, <role>`; `#` starts a comment line. Values are CSV, so a value holding
  a comma is quoted.
- `policy.default`: the role every authenticated caller has at least; empty means none, so
  whatever no line allows is denied.
- `scopes`: the OIDC claims whose values count as the caller's groups, a YAML list or a single
  name (`'[groups, email]'`); unset: the groups claim (RECONCILER_OIDC_GROUPS_CLAIM).
- `policy.matchMode`: `glob` (default) or `regex`.

Every line is checked when the file is read: a line of another kind, a `p` line without
exactly five values or with an effect other than allow/deny, a `g` line without two values,
or a pattern the match mode cannot read is a PolicyError naming the key and line, and the API
does not start (Argo CD would deny every request once such a line is loaded). Any other key
is refused by name, so a misspelt key is not silently without effect.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from reconciler.core.errors import InputError
from reconciler.core.globs import glob_error
from reconciler.model.configmap_data import ConfigMapFileError, read_configmap_data

POLICY_KEY = "policy.csv"
DEFAULT_KEY = "policy.default"
SCOPES_KEY = "scopes"
MATCH_MODE_KEY = "policy.matchMode"
MATCH_MODES = ("glob", "regex")
_EXTRA_POLICY = re.compile(r"policy\..+\.csv")


class PolicyError(InputError, ValueError):
    """The RBAC configuration cannot be used; the message names the file, key and line."""


@dataclass(frozen=True)
class PolicyRule:
    """One line of a policy: `("p", sub, res, act, obj, eft)` or `("g", member, role)`, and where it was written."""

    values: tuple[str, ...]
    source: str  # e.g. `/etc/rbac/argocd-rbac-cm.yaml policy.csv line 3`

    @property
    def kind(self) -> str:
        return self.values[0]

    def text(self) -> str:
        return ", ".join(self.values)


@dataclass(frozen=True)
class RbacConfig:
    rules: tuple[PolicyRule, ...] = ()
    default_role: str = ""
    scopes: tuple[str, ...] | None = None  # None: not set, the groups claim is used
    match_mode: str = "glob"
    source: str = ""  # the file, for messages


def _pattern_problem(value: str, mode: str) -> str | None:
    if mode == "regex":
        try:
            re.compile(value)
        except re.error as exc:
            return f'"{value}" is not a regular expression ({exc})'
        return None
    problem = glob_error(value)
    return f'"{value}" is not a glob pattern ({problem})' if problem else None


def _rule_problem(values: list[str], mode: str) -> str | None:
    kind = values[0] if values else ""
    if kind == "p":
        if len(values) != 6:
            return f"a p line has five values (subject, resource, action, object, allow|deny), found {len(values) - 1}"
        if values[5] not in ("allow", "deny"):
            return f'the effect must be allow or deny, not "{values[5]}"'
        for value in values[2:5]:
            problem = _pattern_problem(value, mode)
            if problem:
                return problem
        return None
    if kind == "g":
        if len(values) != 3:
            return f"a g line has two values (user or group, role), found {len(values) - 1}"
        return None
    return f'"{kind}" is not a rule type: a line starts with p, (a permission) or g, (a role binding)'


def parse_policy_csv(text: str, source: str, mode: str = "glob") -> list[PolicyRule]:
    """The rules of one policy CSV text; `source` names it (file and key) in each rule and error."""
    rules = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{source} line {number}"
        try:
            values = [value.strip() for value in next(csv.reader([line], skipinitialspace=True))]
        except csv.Error as exc:
            raise PolicyError(f"{where}: {line!r} is not a CSV line ({exc})") from None
        problem = _rule_problem(values, mode)
        if problem:
            raise PolicyError(f"{where}: {line!r}: {problem}")
        rules.append(PolicyRule(tuple(values), where))
    return rules


def _scopes(raw: Any, source: str) -> tuple[str, ...] | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        value = yaml.safe_load(raw) if isinstance(raw, str) else raw
    except yaml.YAMLError:
        value = None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise PolicyError(f"{source} {SCOPES_KEY}: {raw!r} must be a claim name or a list like '[groups, email]'")
    return tuple(item.strip() for item in value)


def _text(data: Mapping[str, Any], key: str, source: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PolicyError(f"{source} {key}: must be a string, found {type(value).__name__}")
    return value


def parse_rbac_data(data: Mapping[str, Any], source: str) -> RbacConfig:
    """The RBAC configuration in an argocd-rbac-cm `data:` map; PolicyError names what is wrong."""
    for key in data:
        if key not in (POLICY_KEY, DEFAULT_KEY, SCOPES_KEY, MATCH_MODE_KEY) and not _EXTRA_POLICY.fullmatch(str(key)):
            raise PolicyError(
                f"{source}: key {key!r} is not an argocd-rbac-cm key; use policy.csv, policy.<name>.csv, "
                "policy.default, scopes or policy.matchMode"
            )
    mode = _text(data, MATCH_MODE_KEY, source).strip() or "glob"
    if mode not in MATCH_MODES:
        raise PolicyError(f"{source} {MATCH_MODE_KEY}: {mode!r} must be glob or regex")
    rules: list[PolicyRule] = []
    for key in [POLICY_KEY, *sorted(k for k in data if k != POLICY_KEY and _EXTRA_POLICY.fullmatch(str(k)))]:
        rules.extend(parse_policy_csv(_text(data, key, source), f"{source} {key}", mode))
    return RbacConfig(
        rules=tuple(rules),
        default_role=_text(data, DEFAULT_KEY, source).strip(),
        scopes=_scopes(data.get(SCOPES_KEY), source),
        match_mode=mode,
        source=source,
    )


def load_rbac_config(path: Path) -> RbacConfig:
    try:
        data = read_configmap_data(path)
    except ConfigMapFileError as exc:
        raise PolicyError(f"RECONCILER_RBAC_FILE: {exc}") from None
    return parse_rbac_data(data, str(path))
