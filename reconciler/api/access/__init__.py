"""Access control of the HTTP API: who calls, what they may do, and a record of what they did.

    identity     Caller and authentication: static tokens, login sessions, project role tokens
    control      AccessControl: the RBAC policy (reloaded when its file changes) and the 403s
    permits      the FastAPI dependency every route declares (resource, action, object)
    sessions     login sessions in Redis: issue, check, refresh, revoke
    oidc         single sign-on with an OpenID Connect provider (authorization code + PKCE)
    auth_routes  /auth/login, /auth/callback, /auth/token, /auth/logout, /api/v1/session[s]
    project_routes  /api/v1/projects and their role tokens
    audit        one JSON line per change and per refusal; reconciler_audit_events_total

The decisions themselves are reconciler/control/access (Casbin with Argo CD's model).
"""
