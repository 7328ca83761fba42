"""Who may do what: Argo CD's RBAC (argocd-rbac-cm policies, AppProject roles) and project tokens.

    policy           reading an argocd-rbac-cm (policy.csv, policy.default, scopes, policy.matchMode)
    builtin          the built-in roles role:admin and role:readonly
    enforcer         Casbin with Argo CD's model: the decision for a caller, resource, action, object
    project_tokens   JWTs of AppProject roles: issue, verify, revoke

The HTTP side (callers, sessions, single sign-on, the audit log) is reconciler/api/access/.
"""
