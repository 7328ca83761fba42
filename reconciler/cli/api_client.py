"""How `reconciler app ...` reaches the system: Redis directly, or the HTTP API when
RECONCILER_SERVER is set. Both return the same plain data (the dicts of reconciler.control.user_actions)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from reconciler.settings import Settings

if TYPE_CHECKING:
    from reconciler.cli.local_backend import LocalBackend

DELETE_WAIT_SECONDS = 60.0  # as the API waits for a worker's answer


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
    def create_token(self, project: str, role: str, expires_in: str) -> dict[str, Any]: ...
    def delete_token(self, project: str, role: str, id_or_iat: str) -> dict[str, Any]: ...
    def list_tokens(self, project: str, role: str) -> list[dict[str, Any]]: ...


class RemoteBackend:
    """The same operations over the HTTP API at RECONCILER_SERVER, as RECONCILER_API_TOKEN, else as
    the login `reconciler login [--sso]` kept (renewed when it is about to end)."""

    def __init__(self, base_url: str, token: str = "") -> None:
        import httpx

        from reconciler.cli.credentials import Credentials

        self.http = httpx.Client(base_url=base_url.rstrip("/"), timeout=60.0)
        self.base_url = base_url
        self.credentials = Credentials(base_url, token)

    def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        import httpx

        from reconciler.cli.credentials import LoginRequired

        try:
            headers = {**kwargs.pop("headers", {}), **self.credentials.header(self.http)}
            resp = self.http.request(method, path, headers=headers, **kwargs)
            if resp.status_code == 401 and self.credentials.refresh(self.http):
                headers.update(self.credentials.header(self.http))
                resp = self.http.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise ClientError(f"cannot reach the API at {self.base_url}: {exc}; check RECONCILER_SERVER") from None
        except LoginRequired as exc:
            raise ClientError(str(exc)) from None
        return resp

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        resp = self._send(method, path, **kwargs)
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

    def create_token(self, project: str, role: str, expires_in: str) -> dict[str, Any]:
        path = f"/api/v1/projects/{project}/roles/{role}/token"
        return dict(self._call("POST", path, json={"expiresIn": expires_in}))

    def delete_token(self, project: str, role: str, id_or_iat: str) -> dict[str, Any]:
        return dict(self._call("DELETE", f"/api/v1/projects/{project}/roles/{role}/token/{id_or_iat}"))

    def list_tokens(self, project: str, role: str) -> list[dict[str, Any]]:
        return list(self._call("GET", f"/api/v1/projects/{project}/roles/{role}/token"))


def backend(settings: Settings) -> Backend:
    if settings.server:
        return RemoteBackend(settings.server, settings.api_token)
    # Imported only here: it loads the store and the control layer, which a command that talks
    # to the API never needs (a second and a half of imports at every start).
    from reconciler.cli.local_backend import LocalBackend

    return LocalBackend(settings)


def __getattr__(name: str) -> type[LocalBackend]:
    if name == "LocalBackend":  # `from reconciler.cli.api_client import LocalBackend` still works
        from reconciler.cli.local_backend import LocalBackend

        return LocalBackend
    raise AttributeError(name)
