"""How `reconciler app ...` reaches the system: Redis directly, or the HTTP API when
RECONCILER_SERVER is set. Both return the same plain data (the dicts of reconciler.control.user_actions)."""

from __future__ import annotations

from typing import Any, Protocol

from reconciler.control import user_actions as actions
from reconciler.control.catalog import UnknownApplication
from reconciler.model import SpecError, parse_manifests
from reconciler.settings import Settings


class ClientError(Exception):
    """The request was refused or failed; the message is for the person at the terminal."""


class Backend(Protocol):
    def create(self, text: str, filename: str) -> list[str]: ...
    def list(self) -> list[dict[str, Any]]: ...
    def get(self, name: str) -> dict[str, Any]: ...
    def diff(self, name: str) -> dict[str, Any]: ...
    def sync(self, name: str, revision: str, prune: bool, resources: list[str]) -> dict[str, Any]: ...
    def rollback(self, name: str, history_id: int, prune: bool) -> dict[str, Any]: ...
    def delete(self, name: str, cascade: bool) -> dict[str, Any]: ...
    def terminate_op(self, name: str) -> dict[str, Any]: ...
    def confirm_prune(self, name: str) -> dict[str, Any]: ...


class LocalBackend:
    """Talks to Redis (REDIS_URL, else the embedded Redis of the data dir) and enqueues Celery tasks."""

    def __init__(self, settings: Settings) -> None:
        from workers.celery_app import broker_url

        self.settings = settings
        self.redis_url = broker_url(settings)
        from reconciler.state import Store

        self.store = Store.from_url(self.redis_url)

    def create(self, text: str, filename: str) -> list[str]:
        try:
            documents = parse_manifests(text, source_file=filename)
        except SpecError as exc:
            raise ClientError(str(exc)) from None
        if not documents:
            raise ClientError(f"{filename}: no Application or AppProject in the file")
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

        services = Services.create(self.settings, self.redis_url)
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
        from reconciler.control.teardown import delete_application
        from reconciler.services import Services

        services = Services.create(self.settings, self.redis_url)
        try:
            result = delete_application(services, name, cascade=cascade)
        except UnknownApplication as exc:
            raise ClientError(str(exc)) from None
        finally:
            services.close()
        if result.failed:
            raise ClientError(
                f"application {name!r} kept: some resources could not be deleted or a PreDelete or PostDelete "
                "hook failed: "
                + "; ".join(result.failed)
            )
        return {"deleted": name, "resources": result.deleted, "skipped": result.skipped, "children": result.children,
                "postDeleteHooks": result.post_delete_hooks, "preDeleteHooks": result.pre_delete_hooks}


class RemoteBackend:
    """The same operations over the HTTP API at RECONCILER_SERVER (token: RECONCILER_API_TOKEN)."""

    def __init__(self, base_url: str, token: str = "") -> None:
        import httpx

        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=60.0)
        self.base_url = base_url

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        import httpx

        try:
            resp = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ClientError(f"cannot reach the API at {self.base_url}: {exc}; check RECONCILER_SERVER") from None
        if resp.status_code >= 400:
            try:
                body = resp.json()
                message = body.get("error") or body.get("detail") or resp.text
                problems = body.get("problems") or []
            except ValueError:
                message, problems = resp.text, []
            detail = "\n".join([str(message), *[str(p) for p in problems]])
            raise ClientError(f"{method} {path}: {resp.status_code}: {detail}")
        return resp.json() if resp.content else {}

    def create(self, text: str, filename: str) -> list[str]:
        body = self._call(
            "POST", "/api/v1/applications", content=text.encode(), headers={"Content-Type": "application/yaml"}
        )
        return list(body.get("applications") or body.get("names") or [])

    def list(self) -> list[dict[str, Any]]:
        body = self._call("GET", "/api/v1/applications")
        return list(body["items"] if isinstance(body, dict) and "items" in body else body)

    def get(self, name: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/api/v1/applications/{name}"))

    def diff(self, name: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/api/v1/applications/{name}/diff", params={"refresh": "true"}))

    def sync(self, name: str, revision: str, prune: bool, resources: list[str]) -> dict[str, Any]:
        payload = {"revision": revision, "prune": prune, "resources": resources}
        return dict(self._call("POST", f"/api/v1/applications/{name}/sync", json=payload))

    def rollback(self, name: str, history_id: int, prune: bool) -> dict[str, Any]:
        payload = {"id": history_id, "prune": prune}
        return dict(self._call("POST", f"/api/v1/applications/{name}/rollback", json=payload))

    def terminate_op(self, name: str) -> dict[str, Any]:
        return dict(self._call("POST", f"/api/v1/applications/{name}/terminate-op"))

    def confirm_prune(self, name: str) -> dict[str, Any]:
        return dict(self._call("POST", f"/api/v1/applications/{name}/confirm-prune"))

    def delete(self, name: str, cascade: bool) -> dict[str, Any]:
        return dict(self._call("DELETE", f"/api/v1/applications/{name}", params={"cascade": str(cascade).lower()}))


def backend(settings: Settings) -> Backend:
    if settings.server:
        return RemoteBackend(settings.server, settings.api_token)
    return LocalBackend(settings)
