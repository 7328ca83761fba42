"""The CLI's sign-in on a machine without a browser: the device authorization grant (RFC 8628),
with this API as the authorization server and the OpenID Connect provider behind it.

    POST /auth/device      `reconciler login --sso --device` asks for a device code and a user code
    GET  /auth/device      the page a person opens on any device: it shows the user code and asks
                           them to confirm it is the one their terminal shows, then signs them in
                           through the provider (/auth/login, as the dashboard does)
    POST /auth/token       grant_type urn:ietf:params:oauth:grant-type:device_code: the CLI polls
                           with its device code until the person is through (authorization_pending,
                           slow_down, access_denied, expired_token as RFC 8628 names them)

A link to the page with the code filled in does not sign anyone in by itself (RFC 8628 §5.4,
remote phishing): the page's button carries a nonce bound to a SameSite=Strict cookie the page
set, so only a click on this site's page starts the sign-in, and a user code is used once.
Only hashes of device codes are stored; the device code is never shown in a page or a log.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import secrets
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from reconciler.api.access.oidc import SsoIdentity
from reconciler.api.auth import client_address, context
from reconciler.api.errors import ApiError, retry_after

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEVICE_TTL_SECONDS = 600  # time for the person to find a browser and sign in
POLL_INTERVAL_SECONDS = 5  # RFC 8628's default interval
# Device sign-ins one client address may ask for per minute: anyone may ask (the route is open, as
# a sign-in must be), and each pending one is a Redis record for 10 minutes.
DEVICE_REQUESTS_PER_MINUTE = 10
CONFIRM_COOKIE = "reconciler_device"
# Consonants only: no vowels (no words), no look-alikes (0/O, 1/I/L); 19^8 codes (RFC 8628 §6.1).
USER_CODE_ALPHABET = "BCDFGHJKMNPQRSTVWXZ"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def new_user_code() -> str:
    code = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(8))
    return f"{code[:4]}-{code[4:]}"


def normalise_user_code(value: str) -> str:
    """What a person typed, as the code was issued: case and separators do not matter."""
    letters = "".join(c for c in value.upper() if c.isalnum())
    return f"{letters[:4]}-{letters[4:]}" if len(letters) == 8 else letters


def start_device_login(request: Request) -> JSONResponse:
    ctx = context(request)
    if ctx.oidc is None:
        raise ApiError(404, "single sign-on is not configured: set RECONCILER_OIDC_ISSUER, RECONCILER_OIDC_CLIENT_ID, "
                            "RECONCILER_OIDC_CLIENT_SECRET and RECONCILER_URL")  # fmt: skip
    if not ctx.settings.external_url:
        raise ApiError(404, "set RECONCILER_URL: the device sign-in page is shown at <RECONCILER_URL>/auth/device")
    request.state.audit_action = "device-code"  # who asked for codes, from where (the line's client)
    store = ctx.services().store
    source = client_address(request)
    count, wait = store.count_device_request(source)
    if count > DEVICE_REQUESTS_PER_MINUTE:
        raise ApiError(429, f"more than {DEVICE_REQUESTS_PER_MINUTE} device sign-ins from {source} this minute: "
                            f"wait {wait:.0f}s and run `reconciler login --sso --device` again",
                       headers=retry_after(wait))  # fmt: skip
    device_code = secrets.token_urlsafe(32)
    record = {"status": "pending", "interval": POLL_INTERVAL_SECONDS, "polledAt": 0.0}
    for _ in range(5):
        user_code = new_user_code()
        if store.put_device_login(_sha256(device_code), user_code, record, DEVICE_TTL_SECONDS):
            break
    else:  # five collisions among 19^8 codes: something is wrong with the store, not bad luck
        raise ApiError(503, "could not issue a unique user code: try `reconciler login --sso --device` again")
    page = f"{ctx.settings.external_url.rstrip('/')}/auth/device"
    return JSONResponse({
        "device_code": device_code, "user_code": user_code, "verification_uri": page,
        "verification_uri_complete": f"{page}?user_code={user_code}", "expires_in": DEVICE_TTL_SECONDS,
        "interval": POLL_INTERVAL_SECONDS,
    }, headers={"Cache-Control": "no-store"})  # fmt: skip


_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>reconciler: sign in a terminal</title>
<style>body{{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem}}
code{{font-size:1.4rem;letter-spacing:.1rem}}input{{font-size:1.2rem;text-transform:uppercase}}</style></head>
<body><h1>Sign in a terminal</h1>{body}</body></html>"""


def device_page(request: Request, user_code: str) -> HTMLResponse:
    """The page behind verification_uri: enter (or check) the code, then confirm with the button."""
    nonce = secrets.token_urlsafe(24)
    code = html.escape(normalise_user_code(user_code))
    body = (
        "<p>Enter the code shown by <code>reconciler login --sso --device</code>. Continue only if you started "
        "that command yourself and the code matches your terminal: the terminal will act as you.</p>"
        '<form method="get" action="/auth/login">'
        f'<p><label>Code <input name="device_user_code" value="{code}" autocomplete="off" required></label></p>'
        f'<input type="hidden" name="device_confirm" value="{nonce}">'
        '<p><button type="submit">Confirm and sign in</button></p></form>'
    )
    response = HTMLResponse(_PAGE.format(body=body), headers={"Cache-Control": "no-store"})
    secure = context(request).settings.external_url.startswith("https://")
    response.set_cookie(CONFIRM_COOKIE, _sha256(nonce), max_age=DEVICE_TTL_SECONDS, path="/auth", httponly=True,
                        samesite="strict", secure=secure)  # fmt: skip
    return response


def confirmed_device(request: Request, user_code: str, confirm: str) -> str:
    """The device sign-in (its device-code hash) a confirmed user code starts; the code is used up."""
    cookie = request.cookies.get(CONFIRM_COOKIE, "")
    if not confirm or not hmac.compare_digest(cookie, _sha256(confirm)):
        raise ApiError(400, "confirm the code on the sign-in page: open /auth/device and press the button there")
    device_hash = context(request).services().store.take_device_user_code(normalise_user_code(user_code))
    if device_hash is None:
        raise ApiError(400, f"the code {normalise_user_code(user_code)!r} is unknown, expired or already used: check "
                            "it against your terminal, or run `reconciler login --sso --device` again")  # fmt: skip
    return device_hash


def finish_device_login(request: Request, device_hash: str, who: SsoIdentity | None, reason: str = "") -> HTMLResponse:
    """After the provider: the waiting CLI's next poll gets a session (or the refusal's reason)."""
    store = context(request).services().store
    record = store.device_login(device_hash)
    if record is None or record.get("status") != "pending":
        return HTMLResponse(_PAGE.format(body="<p>This sign-in expired: run the command again.</p>"), status_code=400)
    if who is None:
        record.update(status="denied", reason=reason)
    else:
        record.update(status="approved", subject=who.subject, name=who.name, groups=list(who.groups))
    store.settle_device_login(device_hash, record)
    text = "You are signed in: go back to your terminal." if who else f"Sign-in refused: {html.escape(reason)}"
    response = HTMLResponse(_PAGE.format(body=f"<p>{text}</p>"), status_code=200 if who else 403)
    response.delete_cookie(CONFIRM_COOKIE, path="/auth")
    return response


def _oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status,
                        headers={"Cache-Control": "no-store"})  # fmt: skip


def device_token(request: Request, body: dict[str, Any]) -> SsoIdentity | JSONResponse:
    """The identity a device code has been approved for (used up), or RFC 8628's answer to wait,
    slow down, or stop."""
    store = context(request).services().store
    device_hash = _sha256(str(body.get("device_code") or ""))
    record = store.device_login(device_hash)
    if record is None:
        return _oauth_error("expired_token", "the device code is unknown or expired: run `reconciler login --sso "
                                             "--device` again")  # fmt: skip
    if record["status"] == "pending":
        now = time.time()
        too_soon = now - float(record.get("polledAt") or 0) < float(record.get("interval") or 0) - 0.5
        record["polledAt"] = now
        if too_soon:
            record["interval"] = int(record.get("interval") or POLL_INTERVAL_SECONDS) + 5
        store.settle_device_login(device_hash, record)
        request.state.audit_skip = True
        if too_soon:
            return _oauth_error("slow_down", f"poll every {record['interval']} seconds")
        return _oauth_error("authorization_pending", "the sign-in in the browser is not finished yet")
    if store.take_device_login(device_hash) is None:  # another poll took it first
        return _oauth_error("expired_token", "this device code was already used: run the command again")
    if record["status"] == "denied":
        return _oauth_error("access_denied", str(record.get("reason") or "the sign-in was refused"))
    return SsoIdentity(record["subject"], record["name"], tuple(record["groups"]))


def device_router() -> APIRouter:
    router = APIRouter(tags=["sessions"])

    @router.post("/auth/device", summary="Start a CLI sign-in without a browser (device authorization, RFC 8628)")
    def device_authorization(request: Request) -> JSONResponse:
        return start_device_login(request)

    @router.get("/auth/device", summary="The page where a person confirms a device sign-in's code",
                response_class=HTMLResponse)  # fmt: skip
    def device_verification(request: Request, user_code: str = "") -> HTMLResponse:
        return device_page(request, user_code)

    return router
