"""AppProject `spec.roles`: project roles with their policies and SSO groups, as Argo CD checks them.

    read_project_roles(reader, spec, project) -> tuple[ProjectRole, ...]   problems name the field
    project_policy_rules(project) -> list[tuple[str, ...]]                  the roles as policy rules

Argo CD's rules (pkg/apis/application/v1alpha1 `AppProject.ValidateProject`, `validatePolicy`,
`ProjectPoliciesString`):
- a role name is letters, digits, `-` and `_`, starting and ending with a letter or digit;
  names are unique in the project;
- each policy is `p, proj:<project>:<role>, <resource>, <action>, <project>/<object>, allow|deny`:
  the subject is the role itself, the resource one of the project-scoped ones (applications,
  applicationsets, repositories, clusters, logs, exec), the action get, create, update, delete,
  sync, override, `*` or `action/...` (`update/...`, `delete/...` for fine-grained rights),
  the object in this project (`*` and `*/*` too: Argo CD's documentation uses them, and a
  role's lines only take part in decisions on its own project's objects);
- a group is any non-empty text without `,` or line breaks (an SSO group, or a user's `sub`
  or email when the RBAC `scopes` name that claim);
- every role may also `get` its own project (Argo CD adds that line), and each group is
  bound to the role with a `g, <group>, proj:<project>:<role>` line.

Tokens Argo CD issued (`jwtTokens` in a role) are signed with Argo CD's own key and cannot
be verified here, so they are refused with the command that makes new ones.
"""

from __future__ import annotations

import re
from typing import Any

from reconciler.model.types import AppProject, ProjectRole
from reconciler.model.yaml_reader import FieldReader, describe_value

PROJECT_SCOPED_RESOURCES = ("applications", "applicationsets", "repositories", "clusters", "logs", "exec")
ROLE_ACTIONS = ("get", "create", "update", "delete", "sync", "override", "*")
_ACTION_PATHS = re.compile(r"(action|update|delete)/.*")
_ROLE_NAME = re.compile(r"[a-zA-Z0-9]([-_a-zA-Z0-9]*[a-zA-Z0-9])?")
_GROUP_FORBIDDEN = re.compile(r"[,\n\r\t]")
_FIELDS = {"name", "description", "policies", "groups", "jwtTokens"}


def role_subject(project: str, role: str) -> str:
    """The policy subject of a project role (and of its tokens): `proj:<project>:<role>`."""
    return f"proj:{project}:{role}"


def _policy_problem(project: str, role: str, policy: str) -> str | None:
    parts = [part.strip() for part in policy.split(",")]
    form = "p, proj:PROJECT:ROLE, RESOURCE, ACTION, PROJECT/OBJECT, allow|deny"
    if len(parts) != 6 or parts[0] != "p":
        return f'"{policy}" must have the form "{form}"'
    _, subject, resource, action, obj, effect = parts
    expected = role_subject(project, role)
    if subject != expected:
        return f'"{policy}": the subject must be the role itself, "{expected}", not "{subject}"'
    if resource not in PROJECT_SCOPED_RESOURCES:
        return f'"{policy}": the resource must be one of {", ".join(PROJECT_SCOPED_RESOURCES)}, not "{resource}"'
    if action not in ROLE_ACTIONS and not _ACTION_PATHS.fullmatch(action):
        return f'"{policy}": the action must be one of {", ".join(ROLE_ACTIONS)} or action/..., not "{action}"'
    # `*` and `*/*` as in Argo CD's own examples: a role's lines only take part in decisions on
    # this project's objects, so they cannot reach another project's.
    if obj not in ("*", "*/*") and not re.fullmatch(rf"{re.escape(project)}(/[*\w\-.]+){{1,2}}", obj):
        return f'"{policy}": the object must be "{project}/*" or "{project}/<app name>", not "{obj}"'
    if effect not in ("allow", "deny"):
        return f'"{policy}": the effect must be allow or deny, not "{effect}"'
    return None


def _read_role(r: FieldReader, item: dict[str, Any], path: str, project: str) -> ProjectRole:
    for key in item:
        if key not in _FIELDS:
            r.problem(f"{path}.{key}", f"is not a field of a project role; roles take {', '.join(sorted(_FIELDS))}")
    name = r.required_string(item, "name", f"{path}.name", "the role's name, e.g. ci")
    if name and not _ROLE_NAME.fullmatch(name):
        r.problem(
            f"{path}.name", f'"{name}" must be letters, digits, - and _, starting and ending with a letter or digit'
        )
    if item.get("jwtTokens"):
        r.problem(
            f"{path}.jwtTokens",
            "tokens issued by Argo CD are signed with Argo CD's key and cannot be verified here: remove them and "
            f"create new ones with `reconciler proj role create-token {project} {name or 'ROLE'}`",
        )
    policies = r.strings(item, "policies", f"{path}.policies")
    for index, policy in enumerate(policies):
        problem = _policy_problem(project, name, policy)
        if problem:
            r.problem(f"{path}.policies[{index}]", problem)
        elif policy in policies[:index]:
            r.problem(f"{path}.policies[{index}]", f'"{policy}" is listed twice')
    groups = r.strings(item, "groups", f"{path}.groups")
    for index, group in enumerate(groups):
        if not group.strip() or _GROUP_FORBIDDEN.search(group):
            shown = describe_value(group)
            r.problem(f"{path}.groups[{index}]", f"{shown} must be a group name without , or line breaks")
        elif group in groups[:index]:
            r.problem(f"{path}.groups[{index}]", f'"{group}" is listed twice')
    return ProjectRole(
        name=name,
        description=r.string(item, "description", f"{path}.description"),
        policies=tuple(", ".join(part.strip() for part in policy.split(",")) for policy in policies),
        groups=groups,
    )


def read_project_roles(r: FieldReader, spec: dict[str, Any], project: str) -> tuple[ProjectRole, ...]:
    roles: list[ProjectRole] = []
    for item, path in r.mappings(spec, "roles", "spec.roles", "name, policies and groups"):
        role = _read_role(r, item, path, project)
        if role.name and any(other.name == role.name for other in roles):
            r.problem(f"{path}.name", f'role "{role.name}" is defined twice')
        roles.append(role)
    return tuple(roles)


def project_policy_rules(project: AppProject) -> list[tuple[str, ...]]:
    """The project's roles as policy rules (`("p", sub, res, act, obj, eft)`, `("g", group, role)`),
    as Argo CD's `ProjectPoliciesString` writes them."""
    rules: list[tuple[str, ...]] = []
    for role in project.roles:
        subject = role_subject(project.name, role.name)
        rules.append(("p", subject, "projects", "get", project.name, "allow"))
        rules.extend(tuple(part.strip() for part in policy.split(",")) for policy in role.policies)
        rules.extend(("g", group, subject) for group in role.groups)
    return rules
