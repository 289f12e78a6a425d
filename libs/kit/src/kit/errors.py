"""Errors as RFC 9457 problem details (``application/problem+json``).

- Validation errors: 422, one entry per bad field with its location and a reason.
- Domain rule violations: :class:`Problem` with a status (409/422) and a machine-readable ``code``.
- Anything unexpected: 500 with no internals leaked (and a log line with the trace).
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from kit.db import is_transient

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://jingzhun.cn/problems/"


class FieldError(BaseModel):
    field: str = Field(description="Location of the bad value, e.g. body.members.0.id_number")
    reason: str
    type: str = Field(description="Machine-readable error kind, e.g. string_too_long")


class ProblemDetail(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    code: str | None = Field(default=None, description="Machine-readable code of a domain rule")
    errors: list[FieldError] | None = None


class Problem(Exception):
    """Raise anywhere to answer with a problem+json response."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        code: str | None = None,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.code = code
        self.field = field
        self.headers = headers


def not_found(what: str) -> Problem:
    return Problem(404, "Not found", f"{what} not found", code="NOT_FOUND")


def problem_response(
    problem: ProblemDetail, instance: str | None, headers: dict[str, str] | None = None
) -> JSONResponse:
    problem.instance = instance
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _response(
    request: Request, problem: ProblemDetail, headers: dict[str, str] | None = None
) -> JSONResponse:
    return problem_response(problem, str(request.url.path), headers)


def _field_name(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


def _reason(err: dict[str, Any]) -> str:
    message = str(err.get("msg", "invalid"))
    return message.removeprefix("Value error, ")  # pydantic's prefix for our own ValueErrors


async def _on_problem(request: Request, exc: Problem) -> JSONResponse:
    errors = (
        [FieldError(field=exc.field, reason=exc.detail or exc.title, type=exc.code or "invalid")]
        if exc.field
        else None
    )
    slug = (exc.code or exc.title).lower().replace("_", "-").replace(" ", "-")
    body = ProblemDetail(
        type=TYPE_BASE + slug,
        title=exc.title,
        status=exc.status,
        detail=exc.detail,
        code=exc.code,
        errors=errors,
    )
    return _response(request, body, exc.headers)


async def _on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [
        FieldError(
            field=_field_name(err.get("loc", ())),
            reason=_reason(err),
            type=err.get("type", "invalid"),
        )
        for err in exc.errors()
    ]
    fields = ", ".join(e.field for e in errors)
    body = ProblemDetail(
        type=TYPE_BASE + "validation-error",
        title="Invalid request",
        status=422,
        detail=f"{len(errors)} invalid field(s): {fields}",
        code="VALIDATION_ERROR",
        errors=errors,
    )
    return _response(request, body)


async def _on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    title = {404: "Not found", 405: "Method not allowed", 401: "Authentication required"}.get(
        exc.status_code, "Error"
    )
    body = ProblemDetail(
        type=TYPE_BASE + str(exc.status_code),
        title=title,
        status=exc.status_code,
        detail=str(exc.detail),
    )
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": _allowed_methods(request)}
    return _response(request, body, headers)


def _allowed_methods(request: Request) -> str:
    """Every method of the path: a path's GET and POST are separate routes, and Starlette
    lists only those of the first one it matched (RFC 9110 §15.5.6: all of them)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    body = ProblemDetail(
        type=TYPE_BASE + "internal",
        title="Internal error",
        status=500,
        detail="an unexpected error occurred",
    )
    return _response(request, body)


async def _on_infrastructure(request: Request, exc: Exception) -> JSONResponse:
    """Database or network errors: 503 with Retry-After when the database is away."""
    if not is_transient(exc):
        return await _on_unexpected(request, exc)
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
    body = ProblemDetail(
        type=TYPE_BASE + "unavailable",
        title="Service unavailable",
        status=503,
        detail="the service cannot reach its database; nothing was changed, try again shortly",
        code="DATABASE_UNAVAILABLE",
    )
    return _response(request, body, {"Retry-After": "5"})


class BodyLimit:
    """ASGI middleware refusing bodies over ``max_body_bytes`` with a 413 problem: at once
    when Content-Length says so, otherwise as soon as the streamed body passes the limit
    (the app then sees an end of body, and its answer is replaced by the 413).
    ``path_limits`` gives a few exact paths (file uploads) a limit of their own."""

    def __init__(
        self, app: Any, max_body_bytes: int, path_limits: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.default_limit = max_body_bytes
        self.path_limits = path_limits or {}

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.path_limits.get(scope.get("path", ""), self.default_limit)
        declared = dict(scope.get("headers") or []).get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, f"{int(declared)} bytes", limit)
            return
        received, overflow, answered = 0, False, False

        async def limited_receive() -> dict:
            nonlocal received, overflow
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    overflow = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            return message

        async def guarded_send(message: dict) -> None:
            nonlocal answered
            if overflow and not answered:
                return  # the app's answer to a truncated body is dropped
            answered = True
            await send(message)

        await self.app(scope, limited_receive, guarded_send)
        if overflow and not answered:
            await self._refuse(scope, receive, send, f"more than {limit} bytes", limit)

    async def _refuse(self, scope: dict, receive: Any, send: Any, size: str, limit: int) -> None:
        body = ProblemDetail(
            type=TYPE_BASE + "body-too-large",
            title="Request body too large",
            status=413,
            detail=f"the body has {size}; the limit is {limit} bytes",
            code="BODY_TOO_LARGE",
        )
        await problem_response(body, scope.get("path"))(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _on_problem)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _on_validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _on_http)  # type: ignore[arg-type]
    for infrastructure_error in (DBAPIError, OSError, asyncpg.PostgresConnectionError):
        app.add_exception_handler(infrastructure_error, _on_infrastructure)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _on_unexpected)


#: For ``responses=`` in route declarations, so the OpenAPI spec shows problem bodies.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ProblemDetail, "description": text, "content": {PROBLEM_JSON: {}}}
    for status, text in {
        401: "Missing, invalid or expired bearer token",
        403: "The token lacks a required scope",
        404: "Not found, or outside the caller's region",
        409: "Conflicts with the current state (machine-readable code)",
        422: "Invalid input: each bad field with a reason",
    }.items()
}
