"""Who may do what: authentication, impersonation and RBAC per request, and the review APIs.

Off unless the server was given users (`--token-auth-file`): then every request is served as
an all-powerful user, as before. The review resources answer for the requester without
storing anything, as kube-apiserver's do:
- authorization.k8s.io/v1 SelfSubjectAccessReview (`kubectl auth can-i VERB RESOURCE`),
  SelfSubjectRulesReview (`kubectl auth can-i --list`), SubjectAccessReview;
- authentication.k8s.io/v1 SelfSubjectReview (`kubectl auth whoami`).
"""

from __future__ import annotations

from email.message import Message
from typing import Any

from kubesim.auth.authentication import OPEN_ACCESS_USER, TokenAuthenticator, UserInfo, impersonate
from kubesim.auth.rbac import Attributes, Authorizer
from kubesim.errors import ApiError, BadRequest, Forbidden
from kubesim.http.params import parse_params
from kubesim.http.routes import ResourcePath, method_verb, parse_resource_path
from kubesim.storage.store import Store

AUTHZ = "authorization.k8s.io"
AUTHN = "authentication.k8s.io"
REVIEW_RESOURCES = frozenset({(AUTHZ, "selfsubjectaccessreviews"), (AUTHZ, "selfsubjectrulesreviews"),
                              (AUTHZ, "subjectaccessreviews"), (AUTHN, "selfsubjectreviews")})


def request_attributes(method: str, path: str, query: str, content_type: str) -> Attributes:
    route = parse_resource_path(path)
    if route is None:
        verbs = {"GET": "get", "POST": "post", "PUT": "put", "PATCH": "patch", "DELETE": "delete"}
        return Attributes(verb=verbs.get(method, method.lower()), path=path)
    watch = "watch" in query and parse_params(query).watch
    verb = method_verb(method, route, watch, content_type)
    if verb == "apply":
        verb = "patch"  # RBAC knows no apply verb: server-side apply is a patch
    if route.plural == "namespaces" and route.name and not route.namespace:
        return Attributes(verb, route.group, route.plural, route.subresource, route.name, route.name)
    return Attributes(verb, route.group, route.plural, route.subresource, route.namespace, route.name)


class Access:
    def __init__(self, store: Store) -> None:
        self.authorizer = Authorizer(store)
        self.authenticator: TokenAuthenticator | None = None

    @property
    def enabled(self) -> bool:
        return self.authenticator is not None

    def enable(self, tokens: dict[str, UserInfo]) -> None:
        self.authenticator = TokenAuthenticator(tokens)

    def admit(self, method: str, path: str, query: str, headers: Message) -> UserInfo:
        """The user a request acts as; 401 without a valid token, 403 when RBAC denies it."""
        if self.authenticator is None:
            return OPEN_ACCESS_USER
        requester = self.authenticator.authenticate(headers)
        user = impersonate(requester, headers, self._may_impersonate)
        attrs = request_attributes(method, path, query, headers.get("Content-Type", ""))
        allowed, _ = self.authorizer.allowed(user, attrs)
        if not allowed:
            if attrs.is_resource:
                raise Forbidden(attrs.resource, attrs.name, attrs.denial(user), attrs.group)
            raise ApiError(f"forbidden: {attrs.denial(user)}", code=403, reason="Forbidden")
        return user

    def _may_impersonate(self, user: UserInfo, group: str, resource: str, name: str) -> bool:
        return self.authorizer.allowed(user, Attributes("impersonate", group, resource, name=name))[0]

    # ------------------------------------------------------------------ reviews
    def review(self, route: ResourcePath, body: Any, user: UserInfo) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise BadRequest(f"the request body for {route.plural} must be a JSON object")
        spec = body.get("spec") or {}
        out = {"kind": body.get("kind") or "", "apiVersion": f"{route.group}/{route.version}",
               "metadata": {"creationTimestamp": None}, "spec": spec}
        if route.plural == "selfsubjectreviews":
            out.update(kind="SelfSubjectReview", spec=None)
            out.pop("spec")
            out["status"] = {"userInfo": user.to_json()}
            return out
        if route.plural == "subjectaccessreviews":
            user = UserInfo(str(spec.get("user") or ""), str(spec.get("uid") or ""),
                            tuple(spec.get("groups") or ()))
        if route.plural == "selfsubjectrulesreviews":
            resource_rules, non_resource = self.authorizer.rules_for(user, str(spec.get("namespace") or ""))
            out["kind"] = "SelfSubjectRulesReview"
            out["status"] = {"resourceRules": resource_rules, "nonResourceRules": non_resource, "incomplete": False}
            return out
        out["kind"] = "SubjectAccessReview" if route.plural == "subjectaccessreviews" else "SelfSubjectAccessReview"
        resource_attrs, path_attrs = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
        if resource_attrs:
            attrs = Attributes(str(resource_attrs.get("verb") or ""), str(resource_attrs.get("group") or ""),
                               str(resource_attrs.get("resource") or ""), str(resource_attrs.get("subresource") or ""),
                               str(resource_attrs.get("namespace") or ""), str(resource_attrs.get("name") or ""))
        elif path_attrs:
            attrs = Attributes(str(path_attrs.get("verb") or ""), path=str(path_attrs.get("path") or ""))
        else:
            raise BadRequest("exactly one of nonResourceAttributes or resourceAttributes must be specified")
        allowed, reason = self.authorizer.allowed(user, attrs)
        status: dict[str, Any] = {"allowed": allowed}
        if reason:
            status["reason"] = reason
        out["status"] = status
        return out
