"""AppProject spec.roles are read as Argo CD validates them, and each mistake is named."""

from __future__ import annotations

import pytest

from reconciler.model import AppProject, ProjectRole, SpecError, parse_manifests, project_to_manifest
from reconciler.model.project_roles import project_policy_rules

HEADER = "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata: {name: my-project, namespace: argocd}\n"


def project(roles_yaml: str) -> AppProject:
    [parsed] = parse_manifests(HEADER + "spec:\n  roles:\n" + roles_yaml, "projects/my-project.yaml")
    assert isinstance(parsed, AppProject)
    return parsed


def test_argo_cds_documented_project_role_is_read_with_its_rules() -> None:
    parsed = project(
        "  - name: read-only\n"
        "    description: Read-only privileges to my-project\n"
        "    policies:\n"
        "    - p, proj:my-project:read-only, applications, get, my-project/*, allow\n"
        "    groups:\n"
        "    - my-oidc-group\n"
    )
    assert parsed.roles == (
        ProjectRole(
            name="read-only",
            description="Read-only privileges to my-project",
            policies=("p, proj:my-project:read-only, applications, get, my-project/*, allow",),
            groups=("my-oidc-group",),
        ),
    )
    assert project_policy_rules(parsed) == [
        ("p", "proj:my-project:read-only", "projects", "get", "my-project", "allow"),
        ("p", "proj:my-project:read-only", "applications", "get", "my-project/*", "allow"),
        ("g", "my-oidc-group", "proj:my-project:read-only"),
    ]
    assert project_to_manifest(parsed)["spec"]["roles"][0]["groups"] == ["my-oidc-group"]


@pytest.mark.parametrize(
    ("role", "field", "says"),
    [
        ("  - name: bad name!\n", "spec.roles[0].name", "must be letters, digits"),
        ("  - name: ci\n    policies: ['p, proj:other:ci, applications, get, my-project/*, allow']\n",
         "spec.roles[0].policies[0]", 'the subject must be the role itself, "proj:my-project:ci"'),
        ("  - name: ci\n    policies: ['p, proj:my-project:ci, projects, get, my-project, allow']\n",
         "spec.roles[0].policies[0]", "the resource must be one of applications"),
        ("  - name: ci\n    policies: ['p, proj:my-project:ci, applications, destroy, my-project/*, allow']\n",
         "spec.roles[0].policies[0]", 'not "destroy"'),
        ("  - name: ci\n    policies: ['p, proj:my-project:ci, applications, get, other-project/*, allow']\n",
         "spec.roles[0].policies[0]", 'the object must be "my-project/*"'),
        ("  - name: ci\n    policies: ['p, proj:my-project:ci, applications, get, my-project/*']\n",
         "spec.roles[0].policies[0]", "must have the form"),
        ("  - name: ci\n    groups: ['a,b']\n", "spec.roles[0].groups[0]", "without , or line breaks"),
        ("  - name: ci\n  - name: ci\n", "spec.roles[1].name", 'role "ci" is defined twice'),
        ("  - name: ci\n    jwtTokens: [{iat: 1535390316}]\n", "spec.roles[0].jwtTokens",
         "reconciler proj role create-token my-project ci"),
        ("  - name: ci\n    tokens: []\n", "spec.roles[0].tokens", "is not a field of a project role"),
    ],
)
def test_a_wrong_role_is_refused_naming_the_field(role: str, field: str, says: str) -> None:
    with pytest.raises(SpecError) as refused:
        project(role)
    problem = next(p for p in refused.value.problems if p.path == field)
    assert says in problem.message
    assert problem.file == "projects/my-project.yaml" and problem.line is not None


def test_fine_grained_actions_and_app_in_namespace_objects_are_accepted() -> None:
    parsed = project(
        "  - name: ops\n    policies:\n"
        "    - p, proj:my-project:ops, applications, action/apps/Deployment/restart, my-project/*, allow\n"
        "    - p, proj:my-project:ops, applications, delete/*/Pod/*/*, my-project/team-ns/web, allow\n"
        "    - p, proj:my-project:ops, logs, get, my-project/*, deny\n"
    )
    assert len(parsed.roles[0].policies) == 3
