"""RBAC authorization over the stored Roles, ClusterRoles and their bindings.

Follows https://kubernetes.io/docs/reference/access-authn-authz/rbac/: a request is allowed
when a ClusterRoleBinding, or a RoleBinding in the request's namespace, binds the user (by
name, group, or service account) to a role with a rule matching its verb, API group,
resource[/subresource], name (resourceNames) or non-resource URL. `system:masters` is
allowed everything (the apiserver's privileged-group authorizer). Also holds the bootstrap
policy a fresh cluster has (cluster-admin, system:discovery, system:basic-user, ...).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kubesim.auth.authentication import AUTHENTICATED, MASTERS, UserInfo
from kubesim.storage.store import Obj, Store

RBAC = "rbac.authorization.k8s.io"


@dataclass(frozen=True)
class Attributes:
    """What a request does, as the authorizer sees it (authorizer.AttributesRecord)."""

    verb: str
    group: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""  # a non-resource request (e.g. /version) has a path and no resource

    @property
    def is_resource(self) -> bool:
        return bool(self.resource)

    def denial(self, user: UserInfo) -> str:
        """The reason of a 403, word for word as responsewriters.forbiddenMessage."""
        if not self.is_resource:
            return f'User "{user.name}" cannot {self.verb} path "{self.path}"'
        resource = f"{self.resource}/{self.subresource}" if self.subresource else self.resource
        where = f'in the namespace "{self.namespace}"' if self.namespace else "at the cluster scope"
        return f'User "{user.name}" cannot {self.verb} resource "{resource}" in API group "{self.group}" {where}'


def _subject_matches(subject: dict[str, Any], user: UserInfo, binding_namespace: str) -> bool:
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "User":
        return name == user.name
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        namespace = subject.get("namespace") or binding_namespace
        return user.name == f"system:serviceaccount:{namespace}:{name}"
    return False


def _has(values: list[str] | None, wanted: str) -> bool:
    values = values or []
    return "*" in values or wanted in values


def rule_allows(rule: dict[str, Any], attrs: Attributes) -> bool:
    if not _has(rule.get("verbs"), attrs.verb):
        return False
    if not attrs.is_resource:
        for url in rule.get("nonResourceURLs") or []:
            if url == "*" or url == attrs.path or (url.endswith("*") and attrs.path.startswith(url[:-1])):
                return True
        return False
    if not _has(rule.get("apiGroups"), attrs.group):
        return False
    resources = rule.get("resources") or []
    wanted = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    if not ("*" in resources or wanted in resources
            or (attrs.subresource and f"*/{attrs.subresource}" in resources)):
        return False
    names = rule.get("resourceNames") or []
    return not names or attrs.name in names


class Authorizer:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _role_rules(self, ref: dict[str, Any], namespace: str) -> list[dict[str, Any]]:
        if ref.get("kind") == "ClusterRole":
            role = self.store.get((RBAC, "clusterroles"), "", str(ref.get("name", "")))
        else:
            role = self.store.get((RBAC, "roles"), namespace, str(ref.get("name", "")))
        return list((role or {}).get("rules") or [])

    def bindings(self, user: UserInfo, namespace: str) -> Iterator[tuple[Obj, list[dict[str, Any]]]]:
        """(binding, its role's rules) for every binding of `user` that applies in `namespace`."""
        for binding in self.store.list((RBAC, "clusterrolebindings")):
            if any(_subject_matches(s, user, "") for s in binding.get("subjects") or []):
                yield binding, self._role_rules(binding.get("roleRef") or {}, "")
        if namespace:
            for binding in self.store.list((RBAC, "rolebindings"), namespace):
                if any(_subject_matches(s, user, namespace) for s in binding.get("subjects") or []):
                    yield binding, self._role_rules(binding.get("roleRef") or {}, namespace)

    def allowed(self, user: UserInfo, attrs: Attributes) -> tuple[bool, str]:
        """(allowed, reason): the reason names the binding, as the RBAC authorizer's does."""
        if MASTERS in user.groups:
            return True, ""
        for binding, rules in self.bindings(user, attrs.namespace):
            if any(rule_allows(rule, attrs) for rule in rules):
                ref = binding.get("roleRef") or {}
                m = binding["metadata"]
                name = f'{m["name"]}/{m["namespace"]}' if m.get("namespace") else m["name"]
                return True, (f'RBAC: allowed by {binding.get("kind", "")} "{name}" of {ref.get("kind")} '
                              f'"{ref.get("name")}" to User "{user.name}"')
        return False, ""

    def rules_for(self, user: UserInfo, namespace: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(resourceRules, nonResourceRules) a SelfSubjectRulesReview lists for `user` in `namespace`."""
        if MASTERS in user.groups:
            return ([{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                    [{"verbs": ["*"], "nonResourceURLs": ["*"]}])
        resource_rules: list[dict[str, Any]] = []
        non_resource: list[dict[str, Any]] = []
        for _, rules in self.bindings(user, namespace):
            for rule in rules:
                if rule.get("nonResourceURLs"):
                    non_resource.append({"verbs": list(rule.get("verbs") or []),
                                         "nonResourceURLs": list(rule["nonResourceURLs"])})
                else:
                    out = {"verbs": list(rule.get("verbs") or []), "apiGroups": list(rule.get("apiGroups") or []),
                           "resources": list(rule.get("resources") or [])}
                    if rule.get("resourceNames"):
                        out["resourceNames"] = list(rule["resourceNames"])
                    resource_rules.append(out)
        return resource_rules, non_resource


def _cluster_role(name: str, rules: list[dict[str, Any]]) -> Obj:
    return {"apiVersion": f"{RBAC}/v1", "kind": "ClusterRole",
            "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                         "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}},
            "rules": rules}


def _binding(name: str, role: str, group: str) -> Obj:
    return {"apiVersion": f"{RBAC}/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                         "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}},
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": role},
            "subjects": [{"apiGroup": RBAC, "kind": "Group", "name": group}]}


def bootstrap_policy() -> list[Obj]:
    """The part of the apiserver's bootstrap RBAC policy (plugin/pkg/auth/authorizer/rbac/bootstrappolicy)
    every authenticated client relies on: discovery, its own reviews, and the cluster-admin role."""
    discovery_urls = ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*",
                      "/readyz", "/version", "/version/"]
    return [
        _cluster_role("cluster-admin", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                                        {"nonResourceURLs": ["*"], "verbs": ["*"]}]),
        _binding("cluster-admin", "cluster-admin", MASTERS),
        _cluster_role("system:discovery", [{"nonResourceURLs": discovery_urls, "verbs": ["get"]}]),
        _binding("system:discovery", "system:discovery", AUTHENTICATED),
        _cluster_role("system:basic-user", [
            {"apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews",
                                                                  "selfsubjectrulesreviews"], "verbs": ["create"]},
            {"apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"], "verbs": ["create"]}]),
        _binding("system:basic-user", "system:basic-user", AUTHENTICATED),
        _cluster_role("system:public-info-viewer", [
            {"nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version", "/version/"], "verbs": ["get"]}]),
        _binding("system:public-info-viewer", "system:public-info-viewer", AUTHENTICATED),
    ]
