"""The RBAC decisions a list reuses (one Casbin call per distinct match signature) are exactly
Casbin's: random policies of allow and deny lines with glob patterns, over many objects, are
decided by the cached policy set and by a plain Casbin enforcer of the same model and lines."""

from __future__ import annotations

import random

import casbin

from reconciler.control.access.enforcer import MODEL, _glob_match, _PolicySet, _RulesAdapter
from reconciler.control.access.policy import PolicyRule

SUBJECTS = ["alice", "role:team-a", "role:team-b", "team-a", "token:ci"]
RESOURCES = ["applications", "applicationsets", "logs"]
ACTIONS = ["get", "sync", "delete", "action/apps/Deployment/restart"]
PROJECTS = ["team-a", "team-b", "default", "platform"]
OBJECT_PATTERNS = ["*", "*/*", "team-a/*", "team-b/*", "*/web-*", "default/api", "team-?/db"]


def random_policy(rng: random.Random) -> list[tuple[str, ...]]:
    rules: list[tuple[str, ...]] = [("g", "alice", "role:team-a"), ("g", "team-a", "role:team-a")]
    for _ in range(rng.randint(3, 12)):
        rules.append((
            "p", rng.choice(SUBJECTS[1:]), rng.choice([*RESOURCES, "*"]), rng.choice([*ACTIONS, "*", "action/*"]),
            rng.choice(OBJECT_PATTERNS), rng.choice(["allow", "allow", "deny"]),
        ))
    return rules


def plain_casbin(rules: list[tuple[str, ...]]) -> casbin.Enforcer:
    enforcer = casbin.Enforcer(casbin.Enforcer.new_model(text=MODEL), _RulesAdapter(rules))
    enforcer.add_function("globOrRegexMatch", _glob_match)
    return enforcer


def test_cached_decisions_equal_casbins_own_for_random_policies() -> None:
    rng = random.Random(20261206)
    objects = [f"{project}/{name}" for project in PROJECTS for name in ("web-1", "web-2", "api", "db", "worker")]
    for _ in range(40):
        rules = random_policy(rng)
        cached = _PolicySet([PolicyRule(values, "test") for values in rules], _glob_match)
        plain = plain_casbin(rules)
        for _ in range(200):
            request = (rng.choice(SUBJECTS), rng.choice(RESOURCES), rng.choice(ACTIONS), rng.choice(objects))
            assert cached.allows(*request) == bool(plain.enforce(*request)), (rules, request)
