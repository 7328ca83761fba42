"""The API's access control: the RBAC policy of RECONCILER_RBAC_FILE and the refusals it makes.

    AccessControl(settings)                      raises PolicyError (the API must not start)
    .decide(store, caller, res, act, obj)        Argo CD's decision, with the caller's project roles
    .require(store, caller, res, act, obj, request)   raises ApiError 403 naming the policy

Without RECONCILER_RBAC_FILE only the built-in roles exist: `admin` tokens may do everything and
`readonly` tokens may read, as before the policy existed (and their refusal says so in the
words it always did). An SSO user then holds nothing: map groups to roles in a policy.

The policy file is read again when it changes (a mounted ConfigMap is updated in place by the
kubelet), checked at most every few seconds. A new version that cannot be parsed is not used:
the last good one stays in force and the problem is logged with the line, as Argo CD keeps its
enforcer when a ConfigMap update fails. At start, a policy that cannot be parsed stops the API.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from reconciler.api.access.identity import Caller
from reconciler.api.errors import ApiError
from reconciler.control.access.enforcer import Decision, Enforcer, project_name_of
from reconciler.control.access.policy import PolicyError, RbacConfig, load_rbac_config
from reconciler.control.access.registered import registered_project
from reconciler.settings import Settings
from reconciler.state import Store

log = logging.getLogger("reconciler.api.access")
RELOAD_CHECK_SECONDS = 2.0


def _fingerprint(path: Path) -> tuple[Any, ...]:
    """What changes when the file (or a mounted ConfigMap's files) changes."""
    try:
        entries = [p for p in sorted(path.iterdir()) if not p.name.startswith(".")] if path.is_dir() else [path]
        stats = [(p.name, *(lambda s: (s.st_ino, s.st_mtime_ns, s.st_size))(os.stat(p))) for p in entries]
    except OSError as exc:
        return ("unreadable", str(exc))
    return tuple(stats)


class AccessControl:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.path = Path(settings.rbac_file).expanduser() if settings.rbac_file else None
        self._lock = threading.Lock()
        self._checked = time.monotonic()
        self._fingerprint: tuple[Any, ...] = ()
        config: RbacConfig | None = None
        if self.path is not None:
            self._fingerprint = _fingerprint(self.path)
            config = load_rbac_config(self.path)  # PolicyError: the API does not start
        self._enforcer = Enforcer(config)

    @property
    def configured(self) -> bool:
        return self.path is not None

    @property
    def enforcer(self) -> Enforcer:
        if self.path is not None and time.monotonic() - self._checked >= RELOAD_CHECK_SECONDS:
            self._reload_if_changed(self.path)
        return self._enforcer

    def _reload_if_changed(self, path: Path) -> None:
        with self._lock:
            self._checked = time.monotonic()
            fingerprint = _fingerprint(path)
            if fingerprint == self._fingerprint:
                return
            self._fingerprint = fingerprint
        try:
            config = load_rbac_config(path)
        except PolicyError as exc:
            log.error("the changed RBAC policy is not used, the previous one stays in force: %s", exc)
            return
        self._enforcer = Enforcer(config)
        log.info("RBAC policy %s reloaded: %d lines", path, len(config.rules))

    def scopes(self) -> tuple[str, ...]:
        """The claims whose values are an SSO user's groups: the policy's `scopes`, else the groups claim."""
        configured = self.enforcer.config.scopes
        if configured:
            return configured
        return (self.settings.oidc.groups_claim,) if self.settings.oidc is not None else ("groups",)

    def decide(
        self, store: Store, caller: Caller, resource: str, action: str, obj: str, explain: bool = True
    ) -> Decision:
        project = registered_project(store, project_name_of(resource, obj))
        return self.enforcer.decide(caller.asker, resource, action, obj, project, explain=explain)

    def allows(self, store: Store, caller: Caller, resource: str, action: str, obj: str) -> bool:
        return self.decide(store, caller, resource, action, obj, explain=False).allowed

    def allows_each(self, store: Store, caller: Caller, resource: str, action: str, objs: list[str]) -> list[bool]:
        """`allows` for many objects (a list's rows), reading each project they name once."""
        enforcer = self.enforcer
        projects: dict[str, Any] = {}
        answers = []
        for obj in objs:
            name = project_name_of(resource, obj)
            if name not in projects:
                projects[name] = registered_project(store, name)
            # Remembered per (policy, caller, object): the next list of the same apps is lookups.
            answers.append(enforcer.allows(caller.asker, resource, action, obj, projects[name]))
        return answers

    def require(
        self, store: Store, caller: Caller, resource: str, action: str, obj: str, request: Any = None
    ) -> Decision:
        decision = self.decide(store, caller, resource, action, obj)
        if request is not None:  # what the audit log names (access/audit.py)
            targets = getattr(request.state, "audit_targets", None) or []
            request.state.audit_targets = [*targets, (resource, action, obj)]
        if not decision.allowed:
            raise self.refusal(caller, decision, request)
        return decision

    def refusal(self, caller: Caller, decision: Decision, request: Any = None) -> ApiError:
        if not self.configured and caller.role == "readonly" and request is not None:
            # The words of the time before policies, for the same refusal.
            return ApiError(
                403,
                f"{request.method} {request.url.path} changes the system and needs an admin token; "
                f"this token is read-only (permission denied: {decision.request})",
            )
        return ApiError(403, self.explain(caller, decision))

    def explain(self, caller: Caller, decision: Decision) -> str:
        head = f"permission denied: {decision.request}, for {caller.describe()}"
        if decision.denied_by:
            rule = decision.denied_by[0]
            return f'{head}: denied by {rule.source}: "{rule.text()}"'
        config = self.enforcer.config
        default = f'policy.default "{config.default_role}"' if config.default_role else "no policy.default"
        policy = f"the RBAC policy {config.source} ({default})" if self.configured else "the built-in roles"
        project = project_name_of(decision.resource, decision.obj)
        roles = f" nor a role of project {project!r}" if project and project != "*" else ""
        return f"{head}: no line of {policy}{roles} allows it; ask an administrator for a role that does"
