"""Decisions with Argo CD's RBAC model, evaluated by Casbin (pycasbin).

    Enforcer(config).decide(who, resource, action, object, project) -> Decision
    project_name_of(resource, object) -> str      which AppProject's roles take part

The model is Argo CD's `assets/model.conf`: a request `(subject, resource, action, object)`
matches a rule when the subject has the rule's subject as a role (`g`, transitively) and
resource, action and object match the rule's patterns with `globOrRegexMatch` (glob: `*` also
crosses `/`; regex: an unanchored search, as Go's `regexp.MatchString`). The effect is allow
when some matching rule allows and none denies.

The order of checks is Argo CD's (util/rbac `enforce`, server/rbacpolicy `EnforceClaims`):
1. for an object of a project (`<project>/<app>` of the project-scoped resources, or the
   project itself for `projects`), the project's roles (spec.roles) join the policy;
2. a project token's subject `proj:<project>:<role>` may act only inside its own project;
3. the default role (`policy.default`) is asked first; what it allows is allowed;
4. then the subject itself (an SSO user's `sub`, a static token's `token:<name>`), then the
   roles a static token holds outright (role:admin, role:readonly);
5. then each group of the caller that some `g` line binds (Argo CD ignores a group that no `g`
   line names, even when `p` lines name it: argo-cd#7952, documented since #26672).

Performance: every rule whose subject the asker cannot reach through `g` lines never matches,
so each asker gets a Casbin enforcer holding only the rules it can reach (cached); when none of
those rules matches the request, Casbin's answer (deny) is known without evaluating it; and
decisions are remembered per policy (bench/rbac_decisions.py measures a list of apps).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import casbin
from casbin import persist

from reconciler.control.access.builtin import builtin_rules
from reconciler.control.access.policy import PolicyRule, RbacConfig
from reconciler.core.globs import glob_match
from reconciler.model import AppProject
from reconciler.model.project_roles import PROJECT_SCOPED_RESOURCES, project_policy_rules


class _CompiledMatcherEnforcer(casbin.Enforcer):  # type: ignore[misc]
    """pycasbin's Enforcer, parsing its matcher once per thread instead of at every decision
    (ast.parse each time made a list of 10,000 apps cost seconds). The parsed expression keeps
    the names of the call being evaluated, so each thread has its own."""

    def _get_expression(self, expr: str, functions: Any = None) -> Any:
        cache = self.__dict__.get("_expressions")
        if cache is None:
            cache = self.__dict__.setdefault("_expressions", threading.local())
        compiled: dict[str, Any] = cache.__dict__.setdefault("by_text", {})
        expression = compiled.get(expr)
        if expression is None:
            expression = compiled[expr] = super()._get_expression(expr, functions)
        return expression


MODEL = """
[request_definition]
r = sub, res, act, obj

[policy_definition]
p = sub, res, act, obj, eft

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))

[matchers]
m = g(r.sub, p.sub) && globOrRegexMatch(r.res, p.res) && globOrRegexMatch(r.act, p.act) && \
    globOrRegexMatch(r.obj, p.obj)
"""
BUILTIN_SOURCE = "the built-in policy"
_CACHE_SIZE = 256
# Decisions kept (for all policies together): a dashboard polling a list of ten thousand apps
# asks the same questions every two seconds. About 250 bytes each.
_DECISIONS_CACHED = 65536


def project_name_of(resource: str, obj: str) -> str:
    """The project whose roles take part in a decision on `obj` ("" for none), as Argo CD's
    `getProjectFromRequest`: the first part of `<project>/<name>` for project-scoped resources,
    the object itself for `projects`."""
    if resource in PROJECT_SCOPED_RESOURCES:
        project, sep, _ = obj.partition("/")
        return project if sep else ""
    return obj if resource == "projects" else ""


def project_of_subject(subject: str) -> str:
    """The project of a project-role subject `proj:<project>:<role>`, else ""."""
    parts = subject.split(":")
    return parts[1] if len(parts) == 3 and parts[0] == "proj" else ""


@dataclass(frozen=True)
class Asker:
    """Who asks, in RBAC terms."""

    subject: str  # SSO `sub`, `token:<name>`, `proj:<project>:<role>`, "" when anonymous
    groups: tuple[str, ...] = ()  # values of the `scopes` claims of an SSO login
    roles: tuple[str, ...] = ()  # roles held outright (a static token's)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    resource: str
    action: str
    obj: str
    by: str = ""  # how: "policy.default role:readonly", "subject alice", "group team-a", "role role:admin"
    denied_by: tuple[PolicyRule, ...] = field(default=())  # deny lines that matched

    @property
    def request(self) -> str:
        """The request as Argo CD's "permission denied" message writes it."""
        return f"{self.resource}, {self.action}, {self.obj}"


class _RulesAdapter(persist.Adapter):  # type: ignore[misc]
    def __init__(self, rules: Iterable[tuple[str, ...]]) -> None:
        self.rules = list(rules)

    def load_policy(self, model: Any) -> None:
        for values in self.rules:
            model.add_policy(values[0], values[0], list(values[1:]))


class _PolicySet:
    """One policy (built-in + configured + a project's roles): decisions per asking subject."""

    def __init__(self, rules: list[PolicyRule], match: Callable[[str, str], bool]) -> None:
        self.rules = rules
        self.match = match
        self.grouping = [rule.values for rule in rules if rule.kind == "g"]
        self.bound_groups = frozenset(values[1] for values in self.grouping)
        self._all = self._casbin([rule.values for rule in rules])
        self._lock = threading.Lock()
        self._per_subject: OrderedDict[str, tuple[Any, list[PolicyRule]]] = OrderedDict()
        self._answers: OrderedDict[tuple[str, tuple[bool, ...]], bool] = OrderedDict()

    def _casbin(self, rules: list[tuple[str, ...]]) -> Any:
        enforcer = _CompiledMatcherEnforcer(casbin.Enforcer.new_model(text=MODEL), _RulesAdapter(rules))
        enforcer.add_function("globOrRegexMatch", self.match)
        return enforcer

    def _for(self, subject: str) -> tuple[Any, list[PolicyRule]]:
        with self._lock:
            cached = self._per_subject.get(subject)
            if cached is not None:
                self._per_subject.move_to_end(subject)
                return cached
        reachable = {subject, *self._all.get_implicit_roles_for_user(subject)}
        relevant = [rule for rule in self.rules if rule.kind == "p" and rule.values[1] in reachable]
        built = (self._casbin([*self.grouping, *(rule.values for rule in relevant)]), relevant)
        with self._lock:
            self._per_subject[subject] = built
            while len(self._per_subject) > _CACHE_SIZE:
                self._per_subject.popitem(last=False)
        return built

    def _matches(self, rule: PolicyRule, resource: str, action: str, obj: str) -> bool:
        return all(self.match(v, p) for v, p in zip((resource, action, obj), rule.values[2:5], strict=True))

    def allows(self, subject: str, resource: str, action: str, obj: str) -> bool:
        enforcer, relevant = self._for(subject)
        # The matcher sees a request only through g(r.sub, p.sub), fixed for the subject, and
        # whether each rule's resource, action and object patterns match it: requests with the
        # same matches get the same answer. Casbin is asked once per such signature (a list of
        # 10,000 apps in a few projects asks it a few times, not 10,000), and not at all when no
        # rule the subject reaches matches (most apps of a list belong to other teams).
        signature = tuple(self._matches(rule, resource, action, obj) for rule in relevant)
        if not any(signature):
            return False
        key = (subject, signature)
        with self._lock:
            known = self._answers.get(key)
        if known is None:
            known = bool(enforcer.enforce(subject, resource, action, obj))
            with self._lock:
                self._answers[key] = known
                while len(self._answers) > _CACHE_SIZE:
                    self._answers.popitem(last=False)
        return known

    def denying(self, subject: str, resource: str, action: str, obj: str) -> list[PolicyRule]:
        """The deny lines that match this request (to say why it was refused)."""
        _, relevant = self._for(subject)
        return [rule for rule in relevant if rule.values[5] == "deny" and self._matches(rule, resource, action, obj)]


class Enforcer:
    """Decisions for one RBAC configuration (None: no policy file, only the built-in roles)."""

    def __init__(self, config: RbacConfig | None) -> None:
        self.config = config or RbacConfig()
        self.configured = config is not None
        regex = self.config.match_mode == "regex"
        self.match: Callable[[str, str], bool] = _regex_match if regex else _glob_match
        self._base = [PolicyRule(values, BUILTIN_SOURCE) for values in builtin_rules()] + list(self.config.rules)
        self._lock = threading.Lock()
        self._sets: OrderedDict[tuple[Any, ...], _PolicySet] = OrderedDict()
        self._decisions: OrderedDict[tuple[Any, ...], bool] = OrderedDict()

    def _policy_set(self, project: AppProject | None) -> tuple[tuple[Any, ...], _PolicySet]:
        extra = tuple(project_policy_rules(project)) if project is not None else ()
        key = (project.name if project is not None else "", extra)
        with self._lock:
            found = self._sets.get(key)
            if found is not None:
                self._sets.move_to_end(key)
                return key, found
        source = f"AppProject {project.name} spec.roles" if project is not None else ""
        built = _PolicySet(self._base + [PolicyRule(values, source) for values in extra], self.match)
        with self._lock:
            self._sets[key] = built
            while len(self._sets) > _CACHE_SIZE:
                self._sets.popitem(last=False)
        return key, built

    def decide(
        self, who: Asker, resource: str, action: str, obj: str, project: AppProject | None, explain: bool = True
    ) -> Decision:
        """Argo CD's decision on `(resource, action, obj)` for `who`; `project` is the AppProject
        named by `project_name_of(resource, obj)` when it is registered. With `explain`, a denial
        lists the deny lines that matched."""
        _, policies = self._policy_set(project)
        token_project = project_of_subject(who.subject)
        if token_project and project is not None and token_project != project.name:
            return Decision(False, resource, action, obj)
        for label, subject in self._askers(who, policies):
            if subject and policies.allows(subject, resource, action, obj):
                return Decision(True, resource, action, obj, by=f"{label} {subject}")
        denied: list[PolicyRule] = []
        for _, subject in self._askers(who, policies) if explain else ():
            denied.extend(rule for rule in policies.denying(subject, resource, action, obj) if rule not in denied)
        return Decision(False, resource, action, obj, denied_by=tuple(denied))

    def _askers(self, who: Asker, policies: _PolicySet) -> list[tuple[str, str]]:
        askers = [("policy.default", self.config.default_role), ("subject", who.subject)]
        askers += [("role", role) for role in who.roles]
        askers += [("group", group) for group in who.groups if group in policies.bound_groups]
        return askers

    def allows(self, who: Asker, resource: str, action: str, obj: str, project: AppProject | None) -> bool:
        """`decide(...).allowed`, remembered: the policy of a key never changes."""
        key = (self._policy_set(project)[0], who, resource, action, obj)
        with self._lock:
            known = self._decisions.get(key)
        if known is not None:
            return known
        allowed = self.decide(who, resource, action, obj, project, explain=False).allowed
        with self._lock:
            self._decisions[key] = allowed
            while len(self._decisions) > _DECISIONS_CACHED:
                self._decisions.popitem(last=False)
        return allowed


def _glob_match(value: str, pattern: str) -> bool:
    return glob_match(pattern, value)


def _regex_match(value: str, pattern: str) -> bool:
    try:
        return re.search(pattern, value) is not None
    except re.error:
        return False
