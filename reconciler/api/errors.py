"""Errors of the HTTP API: one JSON shape, `{"error": "...", "problems": [...]}`, for every
refusal, so the CLI and scripts read failures the same way whatever went wrong."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from reconciler.core.urls import redact_urls_in


class ApiError(Exception):
    """A request refused with `status`; `message` says what was wrong and what to do."""

    def __init__(
        self,
        status: int,
        message: str,
        problems: Sequence[str] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.problems = list(problems)
        self.headers = dict(headers or {})


def retry_after(wait_seconds: float) -> dict[str, str]:
    """The Retry-After header of a 429 whose rate-limit window ends in `wait_seconds` (whole
    seconds, at least 1, so a client never retries inside the window)."""
    return {"Retry-After": str(max(1, int(wait_seconds + 0.999)))}


def error_response(
    status: int, message: str, problems: Sequence[str] = (), headers: Mapping[str, str] | None = None
) -> JSONResponse:
    body = redact_urls_in({"error": message, "problems": list(problems)})
    return JSONResponse(body, status_code=status, headers=headers)


def _location(loc: Sequence[object]) -> str:
    return ".".join(str(part) for part in loc if part != "body") or "body"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        if exc.status in (401, 403):
            request.state.audit_reason = exc.message  # the audit log says why (access/audit.py)
        return error_response(exc.status, exc.message, exc.problems, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [f"{_location(e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in exc.errors()]
        return error_response(
            400, f"{request.method} {request.url.path}: the request is invalid; fix the fields listed", problems
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"{request.method} {request.url.path}: no such endpoint; see /docs for the API"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}; see /docs for the API"
        return error_response(exc.status_code, message, headers=getattr(exc, "headers", None))
