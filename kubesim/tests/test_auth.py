"""Static token authentication, RBAC, impersonation and the review APIs, over raw HTTP.

Behaviour taken from:
- https://kubernetes.io/docs/reference/access-authn-authz/authentication/#static-token-file
  (CSV token,user,uid,"groups"; a bad token is 401) and #user-impersonation;
- https://kubernetes.io/docs/reference/access-authn-authz/rbac/ (Role/ClusterRole rules,
  bindings; the 403 message of apiserver's responsewriters.forbiddenMessage);
- https://kubernetes.io/docs/reference/access-authn-authz/authorization/#checking-api-access
  (SelfSubjectAccessReview, SelfSubjectRulesReview) and authentication.k8s.io SelfSubjectReview.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kubesim import KubeSim

ADMIN, ALICE, BOB = "admin-token", "alice-token", "bob-token"
RBAC = "/apis/rbac.authorization.k8s.io/v1"


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[KubeSim]:
    tokens = tmp_path / "tokens.csv"
    tokens.write_text(f'{ADMIN},admin,1,"system:masters"\n{ALICE},alice,2,"dev,qa"\n{BOB},bob,3\n')
    with KubeSim(token_auth_file=str(tokens)) as sim:
        yield sim


def call(sim: KubeSim, method: str, path: str, token: str | None, **kwargs: object) -> httpx.Response:
    headers = dict(kwargs.pop("headers", {}) or {})  # type: ignore[call-overload]
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.request(method, sim.url + path, headers=headers, **kwargs)  # type: ignore[arg-type]


def grant_configmap_reader(sim: KubeSim, subject: dict[str, str]) -> None:
    role = {"metadata": {"name": "cm-reader"}, "rules": [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]}
    binding = {"metadata": {"name": "cm-reader"}, "subjects": [subject],
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "cm-reader"}}
    assert call(sim, "POST", f"{RBAC}/namespaces/default/roles", ADMIN, json=role).status_code == 201
    assert call(sim, "POST", f"{RBAC}/namespaces/default/rolebindings", ADMIN, json=binding).status_code == 201


def test_request_without_a_token_is_401(secured: KubeSim) -> None:
    response = call(secured, "GET", "/api/v1/namespaces/default/configmaps", None)

    assert response.status_code == 401
    assert response.json()["reason"] == "Unauthorized"


def test_request_with_an_unknown_token_is_401(secured: KubeSim) -> None:
    assert call(secured, "GET", "/api/v1/namespaces", "nope").status_code == 401


def test_system_masters_may_do_anything(secured: KubeSim) -> None:
    assert call(secured, "GET", "/api/v1/namespaces", ADMIN).status_code == 200


def test_user_without_a_binding_is_forbidden_with_the_real_message(secured: KubeSim) -> None:
    response = call(secured, "GET", "/api/v1/namespaces/default/configmaps", ALICE)

    assert response.status_code == 403
    assert response.json()["message"] == ('configmaps is forbidden: User "alice" cannot list resource "configmaps" '
                                          'in API group "" in the namespace "default"')


def test_cluster_scoped_denial_says_at_the_cluster_scope(secured: KubeSim) -> None:
    response = call(secured, "GET", "/apis/apps/v1/deployments", ALICE)

    assert response.json()["message"] == ('deployments.apps is forbidden: User "alice" cannot list resource '
                                          '"deployments" in API group "apps" at the cluster scope')


def test_role_binding_allows_only_its_verbs_in_its_namespace(secured: KubeSim) -> None:
    grant_configmap_reader(secured, {"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"})

    assert call(secured, "GET", "/api/v1/namespaces/default/configmaps", ALICE).status_code == 200
    assert call(secured, "GET", "/api/v1/namespaces/kube-system/configmaps", ALICE).status_code == 403
    created = call(secured, "POST", "/api/v1/namespaces/default/configmaps", ALICE, json={"metadata": {"name": "x"}})
    assert created.status_code == 403


def test_group_subject_grants_to_members(secured: KubeSim) -> None:
    grant_configmap_reader(secured, {"kind": "Group", "name": "qa", "apiGroup": "rbac.authorization.k8s.io"})

    assert call(secured, "GET", "/api/v1/namespaces/default/configmaps", ALICE).status_code == 200
    assert call(secured, "GET", "/api/v1/namespaces/default/configmaps", BOB).status_code == 403


def test_self_subject_access_review_answers_for_the_caller(secured: KubeSim) -> None:
    grant_configmap_reader(secured, {"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"})
    path = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"

    def can(verb: str) -> bool:
        review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "spec": {
            "resourceAttributes": {"namespace": "default", "verb": verb, "resource": "configmaps"}}}
        response = call(secured, "POST", path, ALICE, json=review)
        assert response.status_code == 201
        return bool(response.json()["status"]["allowed"])

    assert can("list") is True
    assert can("delete") is False


def test_self_subject_rules_review_lists_the_callers_rules(secured: KubeSim) -> None:
    grant_configmap_reader(secured, {"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"})
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview",
              "spec": {"namespace": "default"}}

    status = call(secured, "POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", ALICE,
                  json=review).json()["status"]

    assert {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["configmaps"]} in status["resourceRules"]


def test_self_subject_review_tells_who_the_caller_is(secured: KubeSim) -> None:
    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}

    status = call(secured, "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", ALICE,
                  json=review).json()["status"]

    assert status["userInfo"] == {"username": "alice", "uid": "2", "groups": ["dev", "qa", "system:authenticated"]}


def test_impersonation_needs_the_impersonate_verb(secured: KubeSim) -> None:
    response = call(secured, "GET", "/api/v1/namespaces/default/configmaps", BOB, headers={"Impersonate-User": "alice"})

    assert response.status_code == 403
    assert response.json()["message"] == ('users "alice" is forbidden: User "bob" cannot impersonate resource '
                                          '"users" in API group "" at the cluster scope')


def test_impersonated_request_is_authorized_as_the_impersonated_user(secured: KubeSim) -> None:
    grant_configmap_reader(secured, {"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"})

    as_alice = call(secured, "GET", "/api/v1/namespaces/default/configmaps", ADMIN,
                    headers={"Impersonate-User": "alice"})
    as_alice_deleting = call(secured, "DELETE", "/api/v1/namespaces/default/configmaps/x", ADMIN,
                             headers={"Impersonate-User": "alice"})

    assert as_alice.status_code == 200
    assert as_alice_deleting.status_code == 403


def test_without_a_token_file_everything_stays_open(kubesim: KubeSim) -> None:
    assert httpx.get(kubesim.url + "/api/v1/namespaces/default/configmaps").status_code == 200

