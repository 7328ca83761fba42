"""Single sign-on and sessions over HTTP.

    GET  /auth/login             start a sign-on at the OpenID Connect provider (dashboard or CLI)
    GET  /auth/callback          where the provider sends the browser back (RECONCILER_URL/auth/callback)
    POST /auth/token             the CLI collects its session (one-time code + PKCE verifier, or a device
                                 code), or refreshes it
    POST|GET /auth/device        the CLI's sign-in without a browser (RFC 8628): api/access/device.py
    POST /auth/logout            end the caller's session (and the dashboard's cookie)
    GET  /api/v1/session/userinfo   who the caller is (as Argo CD's)
    GET  /api/v1/sessions        live sessions (`accounts, get`)
    DELETE /api/v1/sessions/{id} revoke one (`accounts, update`)

The dashboard's sign-on: /auth/login?return_to=/path redirects to the provider with a state,
a nonce and a PKCE challenge kept in Redis (so any API replica can finish it) and a short
cookie binding the sign-on to this browser; the callback checks all three, exchanges the code,
verifies the ID token, starts a session and sets the `reconciler_session` cookie (HttpOnly,
SameSite=Lax, Secure when RECONCILER_URL is https).

The CLI's (RFC 8252, a loopback redirect): `reconciler login --sso` listens on 127.0.0.1 and
opens /auth/login?cli_redirect=http://127.0.0.1:PORT/callback&cli_challenge=S256(verifier)&
cli_state=...; after the provider, the callback sends the browser to that loopback address with
a one-time code, which the CLI exchanges at /auth/token with its verifier. The session's tokens
thus never pass through the browser, and a code caught on the way is useless without the
verifier. Only loopback addresses are accepted as the CLI's redirect.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from reconciler.api.access import device, sessions
from reconciler.api.access.identity import SESSION_COOKIE, Caller
from reconciler.api.access.oidc import OidcClient, SsoError, SsoIdentity
from reconciler.api.access.permits import permit, permit_each
from reconciler.api.auth import client_address, context, rest_caller
from reconciler.api.errors import ApiError, retry_after

LOGIN_COOKIE = "reconciler_login"
LOGIN_TTL_SECONDS = 600  # time to get through the provider's login page
GRANT_TTL_SECONDS = 120  # time for the CLI to collect its session
# Each sign-in started is a record in Redis until its provider page times out: an anonymous
# caller must not be able to fill a Redis that refuses writes when full (noeviction). A person
# needs one; the limit leaves room for an office behind one address (RECONCILER_TRUSTED_PROXIES
# gives each person their own address behind a proxy).
LOGIN_REQUESTS_PER_MINUTE = 60
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _local_path(value: str) -> str:
    """A path on this site to return to after the sign-on ("/" for anything else)."""
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def _cli_redirect(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "http" or parts.hostname not in _LOOPBACK or not parts.port or parts.query or parts.fragment:
        raise ApiError(400, f"cli_redirect {value!r} must be http://127.0.0.1:PORT/... (loopback, with a port)")
    return value


def _oidc(request: Request) -> OidcClient:
    ctx = context(request)
    if ctx.oidc is None:
        raise ApiError(
            404, "single sign-on is not configured: set RECONCILER_OIDC_ISSUER, RECONCILER_OIDC_CLIENT_ID, "
            "RECONCILER_OIDC_CLIENT_SECRET and RECONCILER_URL"
        )  # fmt: skip
    return ctx.oidc


def _secure(request: Request) -> bool:
    return context(request).settings.external_url.startswith("https://")


def _hold_back_floods(request: Request) -> None:
    source = client_address(request)
    count, wait = context(request).services().store.count_login_request(source)
    if count > LOGIN_REQUESTS_PER_MINUTE:
        raise ApiError(429, f"more than {LOGIN_REQUESTS_PER_MINUTE} sign-ins started from {source} this minute: "
                            f"wait {wait:.0f}s and sign in again",
                       headers=retry_after(wait))  # fmt: skip


def _start(request: Request, return_to: str, cli: dict[str, str] | None, device_hash: str = "") -> RedirectResponse:
    oidc = _oidc(request)
    _hold_back_floods(request)
    state, nonce, verifier, bind = (secrets.token_urlsafe(32) for _ in range(4))
    record: dict[str, Any] = {"verifier": verifier, "nonce": nonce, "bind": _sha256(bind), "returnTo": return_to}
    if cli is not None:
        record["cli"] = cli
    if device_hash:
        record["device"] = device_hash
    url = oidc.authorization_url(state, nonce, verifier)
    store = context(request).services().store
    store.put_oidc_login(state, record, LOGIN_TTL_SECONDS)
    if device_hash:  # a provider's refusal may come back without the state: the browser's cookie finds it
        store.put_oidc_login(f"bind:{_sha256(bind)}", {"device": device_hash}, LOGIN_TTL_SECONDS)
    response = RedirectResponse(url, status_code=302)
    response.set_cookie(LOGIN_COOKIE, bind, max_age=LOGIN_TTL_SECONDS, path="/auth", httponly=True,
                        samesite="lax", secure=_secure(request))  # fmt: skip
    return response


def _failed(request: Request, record: dict[str, Any] | None, reason: str) -> RedirectResponse | HTMLResponse:
    """Back where the sign-on started, saying why: the CLI's loopback, the device page, or the
    dashboard's sign-in form."""
    request.state.audit_reason = reason
    request.state.audit_outcome = "denied"
    device_hash = str((record or {}).get("device") or "")
    if device_hash:
        return device.finish_device_login(request, device_hash, None, reason)
    cli = (record or {}).get("cli")
    if cli:
        query = urlencode({"error": reason, "state": cli["state"]})
        return RedirectResponse(f"{cli['redirect']}?{query}", status_code=302)
    return RedirectResponse("/?" + urlencode({"sso_error": reason}), status_code=302)


def _finish(request: Request, record: dict[str, Any], who: SsoIdentity) -> RedirectResponse | HTMLResponse:
    ctx = context(request)
    store = ctx.services().store
    if record.get("device"):
        return device.finish_device_login(request, str(record["device"]), who)
    cli = record.get("cli")
    if cli:
        code = secrets.token_urlsafe(32)
        grant = {"subject": who.subject, "name": who.name, "groups": list(who.groups), "challenge": cli["challenge"]}
        store.put_login_grant(_sha256(code), grant, GRANT_TTL_SECONDS)
        query = urlencode({"code": code, "state": cli["state"]})
        return RedirectResponse(f"{cli['redirect']}?{query}", status_code=302)
    issued = sessions.start_session(store, who, "dashboard", ctx.settings.session_duration)
    response = RedirectResponse(_local_path(record.get("returnTo", "/")), status_code=302)
    response.set_cookie(SESSION_COOKIE, issued.access_token, max_age=int(ctx.settings.session_duration), path="/",
                        httponly=True, samesite="lax", secure=_secure(request))  # fmt: skip
    response.delete_cookie(LOGIN_COOKIE, path="/auth")
    return response


def _callback(request: Request) -> RedirectResponse | HTMLResponse:
    params = request.query_params
    request.state.audit_action = "login"
    record = context(request).services().store.take_oidc_login(params.get("state", ""))
    if record is None and params.get("error"):  # some providers leave the state out of a refusal
        started = context(request).services().store.take_oidc_login(
            f"bind:{_sha256(request.cookies.get(LOGIN_COOKIE, ''))}"
        )
        return _failed(request, started, f"the provider refused the sign-in: {params.get('error')}")
    if record is None:
        raise ApiError(400, "this sign-in expired or was already used: start again at /auth/login")
    bind = request.cookies.get(LOGIN_COOKIE, "")
    if not hmac.compare_digest(record["bind"], _sha256(bind)):
        raise ApiError(400, "this sign-in was started in another browser: start again at /auth/login")
    if params.get("error"):
        reason = f"the provider refused the sign-in: {params.get('error')} {params.get('error_description', '')}"
        return _failed(request, record, reason.strip())
    try:
        who = _oidc(request).identity(
            params.get("code", ""), record["verifier"], record["nonce"], context(request).access.scopes()
        )
    except SsoError as exc:
        return _failed(request, record, str(exc))
    request.state.caller = Caller("user", who.subject, who.name, who.groups, "sso")
    return _finish(request, record, who)


def _token_answer(issued: sessions.IssuedSession) -> dict[str, Any]:
    session = issued.session
    return {
        "access_token": issued.access_token, "refresh_token": issued.refresh_token, "token_type": "Bearer",
        "expires_in": max(0, int(issued.access_expires_at - time.time())), "expires_at": issued.access_expires_at,
        "session_expires_at": session.expires_at, "subject": session.subject, "name": session.name,
        "groups": list(session.groups),
    }  # fmt: skip


def _token(request: Request, body: dict[str, Any]) -> dict[str, Any] | JSONResponse:
    ctx = context(request)
    store = ctx.services().store
    grant_type = body.get("grant_type")
    if grant_type == "refresh_token":
        request.state.audit_action = "refresh"
        try:
            issued = sessions.refresh_session(store, str(body.get("refresh_token") or ""))
        except sessions.SessionRefused as exc:
            raise ApiError(401, str(exc)) from None
        s = issued.session
        request.state.caller = Caller("user", s.subject, s.name, s.groups, "sso", session_id=s.session_id)
        return _token_answer(issued)
    if grant_type == device.DEVICE_GRANT:
        request.state.audit_action = "login"
        approved = device.device_token(request, body)
        if isinstance(approved, JSONResponse):
            return approved
        request.state.caller = Caller("user", approved.subject, approved.name, approved.groups, "sso")
        return _token_answer(sessions.start_session(store, approved, "cli", ctx.settings.session_duration))
    if grant_type != "authorization_code":
        raise ApiError(400, f"grant_type must be authorization_code, refresh_token or {device.DEVICE_GRANT}")
    request.state.audit_action = "login"
    grant = store.take_login_grant(_sha256(str(body.get("code") or "")))
    if grant is None:
        raise ApiError(401, "the sign-in code is unknown, expired or used: run `reconciler login --sso` again")
    verifier = str(body.get("code_verifier") or "")
    if not hmac.compare_digest(create_s256_code_challenge(verifier), grant["challenge"]):
        raise ApiError(401, "the code verifier does not match the sign-in's challenge: run `reconciler login --sso`")
    who = SsoIdentity(grant["subject"], grant["name"], tuple(grant["groups"]))
    request.state.caller = Caller("user", who.subject, who.name, who.groups, "sso")
    return _token_answer(sessions.start_session(store, who, "cli", ctx.settings.session_duration))


def auth_router() -> APIRouter:
    router = APIRouter(tags=["sessions"])

    @router.get("/auth/login", summary="Start a single sign-on (the dashboard's button, or `reconciler login --sso`)")
    def login(request: Request, return_to: str = "/", cli_redirect: str = "", cli_challenge: str = "",
              cli_state: str = "", device_user_code: str = "",
              device_confirm: str = "") -> RedirectResponse:  # fmt: skip
        if device_user_code:
            device_hash = device.confirmed_device(request, device_user_code, device_confirm)
            try:
                return _start(request, "/", None, device_hash)
            except SsoError as exc:
                raise ApiError(502, str(exc)) from None
        cli = None
        if cli_redirect:
            if not cli_challenge or not cli_state:
                raise ApiError(400, "a CLI sign-in needs cli_redirect, cli_challenge and cli_state")
            cli = {"redirect": _cli_redirect(cli_redirect), "challenge": cli_challenge, "state": cli_state}
        try:
            return _start(request, _local_path(return_to), cli)
        except SsoError as exc:
            raise ApiError(502, str(exc)) from None

    @router.get("/auth/callback", summary="Where the OpenID Connect provider sends the browser back")
    def callback(request: Request) -> Any:
        return _callback(request)

    @router.post("/auth/token", summary="Collect a CLI sign-in's session, or refresh it")
    def token(request: Request, body: dict[str, Any] = Body(...)) -> JSONResponse:  # noqa: B008
        answer = _token(request, body)
        if isinstance(answer, JSONResponse):
            return answer
        return JSONResponse(answer, headers={"Cache-Control": "no-store"})

    @router.post("/auth/logout", summary="End the caller's session", dependencies=[Depends(permit_each())])
    def logout(request: Request, caller: Caller = Depends(rest_caller)) -> JSONResponse:  # noqa: B008
        request.state.audit_action = "logout"
        store = context(request).services().store
        ended = bool(caller.session_id) and sessions.revoke_session(store, caller.session_id)
        response = JSONResponse({"loggedOut": ended, "session": caller.session_id})
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @router.get("/api/v1/session/userinfo", summary="Who the caller is", dependencies=[Depends(permit_each())])
    def userinfo(caller: Caller = Depends(rest_caller)) -> JSONResponse:  # noqa: B008
        return JSONResponse({
            "loggedIn": caller.via != "none", "subject": caller.subject, "name": caller.name,
            "groups": list(caller.groups), "via": caller.via, "session": caller.session_id,
        })  # fmt: skip

    @router.get("/api/v1/sessions", summary="Live login sessions", dependencies=[Depends(permit("accounts", "get"))])
    def list_sessions(request: Request) -> JSONResponse:
        rows = sessions.list_sessions(context(request).services().store)
        return JSONResponse([{"id": s.session_id, "subject": s.subject, "name": s.name, "groups": list(s.groups),
                              "client": s.client, "expiresAt": s.expires_at} for s in rows])  # fmt: skip

    @router.delete("/api/v1/sessions/{session_id}", summary="Revoke a login session",
                   dependencies=[Depends(permit("accounts", "update"))])  # fmt: skip
    def revoke(request: Request, session_id: str) -> JSONResponse:
        if not sessions.revoke_session(context(request).services().store, session_id):
            raise ApiError(404, f"no live session {session_id!r}: list them at GET /api/v1/sessions")
        return JSONResponse({"revoked": session_id})

    router.include_router(device.device_router())
    return router
