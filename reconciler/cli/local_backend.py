"""The `reconciler app ...` commands' door to Redis itself (no RECONCILER_SERVER): the
installation operator's, with no RBAC (see LocalBackend)."""

from __future__ import annotations

from typing import Any

from reconciler.cli.api_client import DELETE_WAIT_SECONDS, ClientError
from reconciler.control import user_actions as actions
from reconciler.control.catalog import UnknownApplication
from reconciler.model import SpecError, parse_manifests
from reconciler.settings import Settings


class LocalBackend:
    """Talks to Redis (REDIS_URL, else the embedded Redis of the data dir) and enqueues Celery tasks.

    This is the installation operator's door: whoever holds the Redis password is an
    administrator, and no RBAC policy applies here. Everyone else uses the API
    (RECONCILER_SERVER), where every call is checked and written to the audit log."""

    def __init__(self, settings: Settings) -> None:
        from reconciler.state import Store
        from reconciler.state.connection import redis_endpoint

        self.settings = settings
        self.store = Store.connect(redis_endpoint(settings))

    def create(self, text: str, filename: str) -> list[str]:
        try:
            documents = parse_manifests(text, source_file=filename)
        except SpecError as exc:
            raise ClientError(str(exc)) from None
        if not documents:
            raise ClientError(f"{filename}: no Application, AppProject, ApplicationSet or cluster Secret in the file")
        return actions.create(self.store, documents, owner="cli")

    def list(self) -> list[dict[str, Any]]:
        return actions.list_apps(self.store)

    def get(self, name: str) -> dict[str, Any]:
        try:
            return actions.get_app(self.store, name)
        except UnknownApplication as exc:
            raise ClientError(str(exc)) from None

    def diff(self, name: str) -> dict[str, Any]:
        """A fresh comparison, run here (the CLI needs cluster access, as `argocd app diff` does)."""
        from reconciler.control.poll import refresh
        from reconciler.services import Services

        services = Services.create(self.settings)
        try:
            result = refresh(services, name, fresh_refs=True)
        finally:
            services.close()
        if result is None:
            raise ClientError(str(UnknownApplication(name)))
        return result.status

    def sync(self, name: str, revision: str, prune: bool, resources: list[str]) -> dict[str, Any]:
        from workers.tasks import request_sync

        try:
            request = actions.sync(self.store, name, revision=revision, prune=prune, resources=resources)
        except (UnknownApplication, actions.ActionRefused) as exc:
            raise ClientError(str(exc)) from None
        request_sync(self.store, request)
        return {"queued": True, "request": request.to_dict()}

    def rollback(self, name: str, history_id: int, prune: bool) -> dict[str, Any]:
        from workers.tasks import request_sync

        try:
            request = actions.rollback(self.store, name, history_id, prune=prune)
        except (UnknownApplication, actions.ActionRefused) as exc:
            raise ClientError(str(exc)) from None
        request_sync(self.store, request)
        return {"queued": True, "request": request.to_dict()}

    def terminate_op(self, name: str) -> dict[str, Any]:
        try:
            return actions.terminate_operation(self.store, name)
        except (UnknownApplication, actions.ActionRefused) as exc:
            raise ClientError(str(exc)) from None

    def confirm_prune(self, name: str) -> dict[str, Any]:
        try:
            return actions.confirm_prune(self.store, name)
        except UnknownApplication as exc:
            raise ClientError(str(exc)) from None

    def delete(self, name: str, cascade: bool) -> dict[str, Any]:
        """Deregister now; with cascade a worker deletes (as through the API) and this waits for it."""
        from reconciler.control import teardown
        from reconciler.control.sync.operation import Teardown
        from workers.tasks import enqueue_delete

        if not cascade:
            if not teardown.deregister(self.store, name, self.settings):
                raise ClientError(str(UnknownApplication(name)))
            return teardown.deleted_body(name, Teardown())
        try:
            reply = teardown.delete_and_wait(self.store, name, enqueue_delete, DELETE_WAIT_SECONDS)
        except UnknownApplication as exc:
            raise ClientError(str(exc)) from None
        if reply is None:
            raise ClientError(
                f"no worker answered the delete of {name!r} within {DELETE_WAIT_SECONDS:.0f}s: check that workers "
                "run (`reconciler worker`); the delete goes on when one takes it"
            )
        if not reply.found:
            raise ClientError(str(UnknownApplication(name)))
        if reply.deferred:
            return teardown.deferred_body(name, reply.deferred)
        result = reply.teardown or Teardown()
        if result.failed:
            raise ClientError(
                f"application {name!r} kept: some resources could not be deleted or a PreDelete or PostDelete "
                "hook failed: " + "; ".join(result.failed)
            )
        return teardown.deleted_body(name, result)

    def create_token(self, project: str, role: str, expires_in: str) -> dict[str, Any]:
        from reconciler.control.access import project_tokens as tokens
        from reconciler.control.access.registered import registered_project

        found = registered_project(self.store, project)
        if found is None:
            raise ClientError(f"project {project!r} is not registered: register its AppProject with `app create -f`")
        try:
            seconds = tokens.parse_expires_in(expires_in)
            return tokens.create_token(self.store, tokens.signing_secret(self.settings), found, role, seconds)
        except (tokens.ProjectTokenError, ValueError) as exc:
            raise ClientError(str(exc)) from None

    def delete_token(self, project: str, role: str, id_or_iat: str) -> dict[str, Any]:
        from reconciler.control.access import project_tokens as tokens

        try:
            return {"revoked": tokens.delete_token(self.store, project, role, id_or_iat)}
        except tokens.ProjectTokenError as exc:
            raise ClientError(str(exc)) from None

    def list_tokens(self, project: str, role: str) -> list[dict[str, Any]]:
        return self.store.project_tokens(project).get(role, [])
