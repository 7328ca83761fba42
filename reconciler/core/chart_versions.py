"""Picking a chart version for a constraint, the way Helm does.

Helm reads constraints with Masterminds/semver: `1.2.3`, `1.2.*`, `1.2.x`, `~1.2`, `^1.2`,
`>=1.0 <2.0`, `>=1.0, <2.0` (comma or space: AND) and `||` (OR); pre-releases match only a
constraint that names one. node-semver implements the same grammar (npm's, from which
Masterminds took it) with the same pre-release rule, once commas become spaces; its
`max_satisfying` gives Helm's choice: the highest matching version.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import nodesemver

# What a chart source with no targetRevision (or Argo CD's default HEAD) asks for: the latest release.
LATEST = "*"


def constraint_of(target_revision: str) -> str:
    """`targetRevision` as a constraint: empty and HEAD mean the latest release."""
    revision = target_revision.strip()
    return LATEST if revision in ("", "HEAD") else revision


def pick_version(versions: Iterable[str], constraint: str) -> str | None:
    """The highest of `versions` satisfying `constraint`, or None."""
    candidates = [version for version in versions if _is_semver(version)]
    wanted = constraint_of(constraint).replace(",", " ")
    if wanted in candidates:  # an exact version, as written (including a leading v)
        return wanted
    try:
        found = nodesemver.max_satisfying(candidates, wanted, loose=True)
    except (ValueError, TypeError):
        return None
    return str(found) if found else None


def newest_first(versions: Iterable[str]) -> list[str]:
    """The semantic versions among `versions`, highest first (for messages)."""
    valid = [version for version in versions if _is_semver(version)]
    return sorted(valid, key=functools.cmp_to_key(lambda a, b: nodesemver.compare(a, b, loose=True)), reverse=True)


def is_valid_constraint(constraint: str) -> bool:
    try:
        nodesemver.make_range(constraint_of(constraint).replace(",", " "), loose=True)
    except (ValueError, TypeError):
        return False
    return True


def _is_semver(version: str) -> bool:
    try:
        nodesemver.make_semver(version, loose=True)
    except (ValueError, TypeError):
        return False
    return True
