"""Who may do what: static-token authentication and impersonation, RBAC, access reviews."""
