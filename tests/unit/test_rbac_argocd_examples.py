"""Argo CD's documented RBAC examples grant and deny what its documentation says they do.

Each row is a `policy.csv` snippet from Argo CD's RBAC documentation (docs/operator-manual/rbac.md,
the current page and the release-2.x one with the `argocd admin settings rbac can` examples),
a caller, a request and the outcome the page states. The decision is the real one: Casbin with
Argo CD's model, the built-in roles and the evaluation order of reconciler/control/access/enforcer.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from reconciler.control.access.enforcer import Asker, Enforcer, project_name_of
from reconciler.control.access.policy import parse_rbac_data
from reconciler.model import parse_manifests

FINE_GRAINED_PODS = "p, example-user, applications, delete/*/Pod/*/*, default/prod-app, allow"
UPDATE_RESOURCES_ONLY = "p, example-user, applications, update/*, default/prod-app, allow"
DENY_APP_ALLOW_PODS = """\
p, example-user, applications, delete, default/prod-app, deny
p, example-user, applications, delete/*/Pod/*/*, default/prod-app, allow
"""
ACTIONS = """\
p, example-user, applications, action//Pod/maintenance-off, default/*, allow
p, example-user, applications, action/extensions/DaemonSet/*, default/*, allow
"""
ORG_ADMIN = """\
p, role:org-admin, applications, *, */*, allow
p, role:org-admin, clusters, get, *, allow
p, role:org-admin, repositories, get, *, allow
p, role:org-admin, repositories, create, *, allow
p, role:org-admin, repositories, update, *, allow
p, role:org-admin, repositories, delete, *, allow
p, role:org-admin, projects, get, *, allow
p, role:org-admin, projects, create, *, allow
p, role:org-admin, projects, update, *, allow
p, role:org-admin, projects, delete, *, allow
p, role:org-admin, logs, get, *, allow
p, role:org-admin, exec, create, */*, allow

g, your-github-org:your-team, role:org-admin
"""
STAGING_DB_ADMIN = """\
p, role:staging-db-admin, applications, create, staging-db-project/*, allow
p, role:staging-db-admin, applications, delete, staging-db-project/*, allow
p, role:staging-db-admin, applications, get, staging-db-project/*, allow
p, role:staging-db-admin, applications, override, staging-db-project/*, allow
p, role:staging-db-admin, applications, sync, staging-db-project/*, allow
p, role:staging-db-admin, applications, update, staging-db-project/*, allow
p, role:staging-db-admin, logs, get, staging-db-project/*, allow
p, role:staging-db-admin, exec, create, staging-db-project/*, allow
p, role:staging-db-admin, projects, get, staging-db-project, allow
g, db-admins, role:staging-db-admin
"""
SSO_GROUPS_AND_EMAIL = """\
p, my-org:team-alpha, applications, sync, my-project/*, allow
g, my-org:team-beta, role:admin
g, user@example.org, role:admin
"""
TEAM_BETA_PROJECT = """\
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: team-beta-project
  namespace: argocd
spec:
  roles:
    - name: admin
      description: Admin privileges to team-beta
      policies:
        - p, proj:team-beta-project:admin, applications, *, *, allow
      groups:
        - user@example.org # Value from the email scope
        - my-org:team-beta # Value from the groups scope
"""
MY_PROJECT = """\
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: my-project
  namespace: argocd
spec:
  roles:
  # A role which provides read-only access to all applications in the project
  - name: read-only
    description: Read-only privileges to my-project
    policies:
    - p, proj:my-project:read-only, applications, get, my-project/*, allow
    groups:
    - my-oidc-group
"""


@dataclass(frozen=True)
class Case:
    doc: str  # what the documentation says, in its words where it has them
    policy: str
    who: Asker
    request: tuple[str, str, str]
    allowed: bool
    default: str = ""
    project: str = ""  # an AppProject manifest whose roles take part


def user(name: str, *groups: str) -> Asker:
    return Asker(name, groups=groups)


CASES = [
    # "Application-Specific Policy": get any application, logs only of example-project/my-app.
    Case("get any applications", "p, example-user, applications, get, *, allow\n"
         "p, example-user, logs, get, example-project/my-app, allow",
         user("example-user"), ("applications", "get", "other-project/other-app"), True),
    Case("see logs in my-app of example-project", "p, example-user, logs, get, example-project/my-app, allow",
         user("example-user"), ("logs", "get", "example-project/my-app"), True),
    Case("...but only in my-app", "p, example-user, logs, get, example-project/my-app, allow",
         user("example-user"), ("logs", "get", "example-project/other-app"), False),
    Case("get is not sync", "p, example-user, applications, get, *, allow",
         user("example-user"), ("applications", "sync", "example-project/my-app"), False),
    # Fine-grained update/delete.
    Case("only delete Pods in prod-app", FINE_GRAINED_PODS,
         user("example-user"), ("applications", "delete//Pod/prod/web-1", "default/prod-app"), True),
    Case("...not the application itself", FINE_GRAINED_PODS,
         user("example-user"), ("applications", "delete", "default/prod-app"), False),
    Case("...not a Service", FINE_GRAINED_PODS,
         user("example-user"), ("applications", "delete//Service/prod/web", "default/prod-app"), False),
    Case("update all resources of an application", UPDATE_RESOURCES_ONLY,
         user("example-user"), ("applications", "update/apps/Deployment/prod/web", "default/prod-app"), True),
    Case("...but not the application itself", UPDATE_RESOURCES_ONLY,
         user("example-user"), ("applications", "update", "default/prod-app"), False),
    Case("explicitly deny delete of the application", DENY_APP_ALLOW_PODS,
         user("example-user"), ("applications", "delete", "default/prod-app"), False),
    Case("...but allow the user to delete Pods", DENY_APP_ALLOW_PODS,
         user("example-user"), ("applications", "delete//Pod/prod/web-1", "default/prod-app"), True),
    # The `action` action.
    Case("the maintenance-off action on a Pod", ACTIONS,
         user("example-user"), ("applications", "action//Pod/maintenance-off", "default/my-app"), True),
    Case("any action on DaemonSets", ACTIONS,
         user("example-user"), ("applications", "action/extensions/DaemonSet/restart", "default/my-app"), True),
    Case("no other Pod action", ACTIONS,
         user("example-user"), ("applications", "action//Pod/delete-me", "default/my-app"), False),
    Case("perform any actions", "p, example-user, applications, action/*, default/*, allow",
         user("example-user"), ("applications", "action/apps/Deployment/restart", "default/my-app"), True),
    Case("...in the default project only", "p, example-user, applications, action/*, default/*, allow",
         user("example-user"), ("applications", "action/apps/Deployment/restart", "prod/my-app"), False),
    # "Glob matching": `/` is not a separator, so action/extensions/* covers the whole path.
    Case("action/extensions/DaemonSet/test matches action/extensions/*",
         "p, example-user, applications, action/extensions/*, default/*, allow",
         user("example-user"), ("applications", "action/extensions/DaemonSet/test", "default/my-app"), True),
    # applicationsets.
    Case("dev-group manages ApplicationSets of dev-project", "p, dev-group, applicationsets, *, dev-project/*, allow",
         Asker("dev-group"), ("applicationsets", "create", "dev-project/team-apps"), True),
    Case("...unable to create one outside dev-project", "p, dev-group, applicationsets, *, dev-project/*, allow",
         Asker("dev-group"), ("applicationsets", "create", "prod-project/team-apps"), False),
    # The deny effect wins over any allow.
    Case("deny has priority over a matching allow",
         "p, example-user, applications, *, */*, allow\np, example-user, applications, sync, prod/*, deny",
         user("example-user"), ("applications", "sync", "prod/web"), False),
    Case("the order of the lines has no impact",
         "p, example-user, applications, sync, prod/*, deny\np, example-user, applications, *, */*, allow",
         user("example-user"), ("applications", "sync", "prod/web"), False),
    # "Tying it all together": org-admin for a GitHub team, role:readonly for everyone else.
    Case("your-team may do anything to applications", ORG_ADMIN,
         user("alice", "your-github-org:your-team"), ("applications", "delete", "any/app"), True, "role:readonly"),
    Case("your-team may create projects", ORG_ADMIN,
         user("alice", "your-github-org:your-team"), ("projects", "create", "new-project"), True, "role:readonly"),
    Case("rbac can role:org-admin create clusters 'somecluster': No", ORG_ADMIN,
         Asker("role:org-admin"), ("clusters", "create", "somecluster"), False),
    Case("rbac can role:org-admin create applications 'someproj/someapp': Yes", ORG_ADMIN,
         Asker("role:org-admin"), ("applications", "create", "someproj/someapp"), True),
    Case("all other users get the default policy role:readonly", ORG_ADMIN,
         user("bob", "other-team"), ("applications", "get", "any/app"), True, "role:readonly"),
    Case("...which cannot modify", ORG_ADMIN,
         user("bob", "other-team"), ("applications", "sync", "any/app"), False, "role:readonly"),
    # staging-db-admin, with the answers of `argocd admin settings rbac can`.
    Case("rbac can role:staging-db-admin get applications (no default role): No", STAGING_DB_ADMIN,
         Asker("role:staging-db-admin"), ("applications", "get", "*/*"), False),
    Case("rbac can role:staging-db-admin get applications 'staging-db-project/*': Yes", STAGING_DB_ADMIN,
         Asker("role:staging-db-admin"), ("applications", "get", "staging-db-project/*"), True),
    Case("rbac can role:staging-db-admin get applications --default-role role:readonly: Yes", STAGING_DB_ADMIN,
         Asker("role:staging-db-admin"), ("applications", "get", "*/*"), True, "role:readonly"),
    Case("rbac can db-admins get applications 'staging-db-project/*': Yes", STAGING_DB_ADMIN,
         user("carol", "db-admins"), ("applications", "get", "staging-db-project/*"), True),
    Case("staging-db-admin may sync in staging-db-project", STAGING_DB_ADMIN,
         user("carol", "db-admins"), ("applications", "sync", "staging-db-project/db"), True),
    Case("...and get that project", STAGING_DB_ADMIN,
         user("carol", "db-admins"), ("projects", "get", "staging-db-project"), True),
    Case("...but nothing in another project", STAGING_DB_ADMIN,
         user("carol", "db-admins"), ("applications", "sync", "prod-db-project/db"), False),
    # "Using SSO Users/Groups" with scopes '[groups, email]' and policy.default role:readonly.
    Case("g, my-org:team-beta, role:admin", SSO_GROUPS_AND_EMAIL,
         user("beta-user", "my-org:team-beta"), ("applications", "delete", "my-project/app"), True, "role:readonly"),
    Case("g, user@example.org, role:admin (email scope)", SSO_GROUPS_AND_EMAIL,
         user("0af3c9", "user@example.org"), ("clusters", "delete", "prod"), True, "role:readonly"),
    Case("everyone else is role:readonly", SSO_GROUPS_AND_EMAIL,
         user("someone", "my-org:team-gamma"), ("applications", "delete", "my-project/app"), False, "role:readonly"),
    # argo-cd#7952, documented by #26672: a group counts only when a g line binds it, so this
    # p line alone grants team-alpha nothing.
    Case("a group with only p lines and no g line gets nothing (argo-cd#7952)", SSO_GROUPS_AND_EMAIL,
         user("alpha-user", "my-org:team-alpha"), ("applications", "sync", "my-project/app"), False),
    Case("...once bound to a role, its p lines count",
         SSO_GROUPS_AND_EMAIL + "g, my-org:team-alpha, role:alpha\n",
         user("alpha-user", "my-org:team-alpha"), ("applications", "sync", "my-project/app"), True),
    # The AppProject of that section: its role binds the email and the group.
    Case("team-beta-project's admin role: user@example.org", "",
         user("0af3c9", "user@example.org"), ("applications", "sync", "team-beta-project/web"), True,
         project=TEAM_BETA_PROJECT),
    Case("...only inside team-beta-project", "",
         user("0af3c9", "user@example.org"), ("applications", "sync", "team-alpha-project/web"), False,
         project=TEAM_BETA_PROJECT),
    # Projects page, "Configuring RBAC With Projects": read-only access for my-oidc-group.
    Case("my-oidc-group reads my-project's applications", "",
         user("dan", "my-oidc-group"), ("applications", "get", "my-project/guestbook"), True, project=MY_PROJECT),
    Case("...but cannot sync them", "",
         user("dan", "my-oidc-group"), ("applications", "sync", "my-project/guestbook"), False, project=MY_PROJECT),
    Case("...and a role may always get its own project", "",
         user("dan", "my-oidc-group"), ("projects", "get", "my-project"), True, project=MY_PROJECT),
    # Built-in roles.
    Case("role:readonly: read-only access to all resources", "",
         Asker("token:viewer", roles=("role:readonly",)), ("repositories", "get", "https://git.example.com/x"), True),
    Case("role:readonly cannot create", "",
         Asker("token:viewer", roles=("role:readonly",)), ("applications", "create", "default/x"), False),
    Case("role:admin: unrestricted access to all resources", "",
         Asker("token:ci", roles=("role:admin",)), ("applications", "action/apps/Deployment/restart", "a/b"), True),
    # "Default Policy for Authenticated Users": the default role cannot be blocked by a deny rule.
    Case("default permissions cannot be blocked by a deny rule",
         "p, eve, applications, get, */*, deny", user("eve"), ("applications", "get", "default/app"), True,
         "role:readonly"),
]


def _registered(manifest: str, name: str) -> object:
    """The AppProject named `name` if `manifest` is it, as the registry would answer."""
    project = parse_manifests(manifest, "project.yaml")[0] if manifest else None
    return project if project is not None and project.name == name else None


@pytest.mark.parametrize("case", CASES, ids=[case.doc for case in CASES])
def test_documented_policy_decides_as_argo_cd_says(case: Case) -> None:
    config = parse_rbac_data({"policy.csv": case.policy, "policy.default": case.default}, "argocd-rbac-cm.yaml")
    resource, action, obj = case.request
    project = _registered(case.project, project_name_of(resource, obj))
    decision = Enforcer(config).decide(case.who, resource, action, obj, project)  # type: ignore[arg-type]
    assert decision.allowed is case.allowed, f"{case.doc}: {decision}"
