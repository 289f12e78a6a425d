"""Errors as RFC 9457 problem details (``application/problem+json``).

- Validation errors: 422, one entry per bad field with its location and a reason.
- Domain rule violations: a catalogued :class:`~kit.problems.Problem` (``kit.problems``, each
  service's ``errors.py``) with its status, machine-readable ``code``, title and field.
- Anything unexpected: 500 with no internals leaked (and a log line with the trace).
"""

from __future__ import annotations

import logging
import re
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from kit import problems
from kit.db import is_transient
from kit.problems import Problem, ProblemType

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


#: ``<ObjectionStatus.upheld: 'upheld'>``, as pydantic shows an enum member in a message.
_ENUM_REPR = re.compile(r"<\w+\.\w+: ('[^']*'|\d+)>")


def _reason(err: dict[str, Any]) -> str:
    message = str(err.get("msg", "invalid"))
    message = _ENUM_REPR.sub(r"\1", message)  # the value a caller writes, not Python's repr
    return message.removeprefix("Value error, ")  # pydantic's prefix for our own ValueErrors


def _field_errors(err: dict[str, Any]) -> list[FieldError]:
    """One validation error as the fields it is about."""
    loc, kind, ctx = err.get("loc", ()), err.get("type", "invalid"), err.get("ctx") or {}
    if kind == "json_invalid":  # loc is ("body", position): the position is no field
        where = f" at character {loc[1] + 1}" if len(loc) > 1 and isinstance(loc[1], int) else ""
        reason = f"the body is not valid JSON: {ctx.get('error', 'malformed')}{where}"
        return [FieldError(field="body", reason=reason, type=kind)]
    fields = getattr(ctx.get("error"), "fields", None)  # contracts.validation.FieldsError
    if fields:
        return [
            FieldError(field=_field_name((*loc, name)), reason=_reason(err), type=kind)
            for name in fields
        ]
    return [FieldError(field=_field_name(loc), reason=_reason(err), type=kind)]


def problem_detail(
    kind: ProblemType, detail: str | None, errors: list[FieldError] | None = None
) -> ProblemDetail:
    """The problem+json body of a catalogued problem: the one place a code becomes a body."""
    return ProblemDetail(
        type=TYPE_BASE + kind.code.lower().replace("_", "-"),
        title=kind.title,
        status=kind.status,
        detail=detail,
        code=kind.code,
        errors=errors,
    )


async def _on_problem(request: Request, exc: Problem) -> JSONResponse:
    errors = (
        [FieldError(field=exc.field, reason=exc.detail or exc.title, type=exc.code)]
        if exc.field
        else None
    )
    return _response(request, problem_detail(exc.kind, exc.detail, errors), exc.headers)


def validation_problem(errors: list[FieldError]) -> ProblemDetail:
    """The one 422 of refused input: every bad field with its reason."""
    detail = f"{len(errors)} invalid field(s): {', '.join(e.field for e in errors)}"
    return problem_detail(problems.VALIDATION_ERROR, detail, errors)


async def _on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [error for err in exc.errors() for error in _field_errors(err)]
    return _response(request, validation_problem(errors))


async def _on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    if exc.status_code == 400:  # only the framework raises it: our code raises Problem
        return _unparseable_body(request, exc)
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


def _unparseable_body(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """FastAPI and Starlette answer a body they cannot read at all (bytes that are not
    UTF-8, a broken multipart form) with a bare 400: a 422 naming the body and why, like
    every other refused input."""
    cause = exc.__cause__ or exc.__context__ or exc.detail
    if isinstance(cause, UnicodeDecodeError):
        reason = (
            f"the body is not UTF-8 text (byte 0x{cause.object[cause.start]:02X} at position "
            f"{cause.start}); JSON must be UTF-8 encoded"
        )
    else:
        content_type = request.headers.get("content-type", "none")
        reason = f"the body cannot be read as {content_type.split(';')[0]}: {cause}"
    error = FieldError(field="body", reason=reason[:300], type="body_unreadable")
    return _response(request, validation_problem([error]))


def _allowed_methods(request: Request) -> str:
    """Every method of the path: a path's GET and POST are separate routes, and Starlette
    lists only those of the first one it matched (RFC 9110 §15.5.6: all of them)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


def _internal_error() -> ProblemDetail:
    return ProblemDetail(
        type=TYPE_BASE + "internal",
        title="Internal error",
        status=500,
        detail="an unexpected error occurred",
    )


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return _response(request, _internal_error())


class CatchUnexpected:
    """ASGI middleware answering any exception the app lets out with a 500 problem, and
    keeping it there. Starlette's outermost ``ServerErrorMiddleware`` answers too but then
    re-raises to the server, which drops the keep-alive connection: the client's next,
    unrelated request on it failed. Installed innermost, so the other middlewares see an
    ordinary response. After the response has started nothing can be answered: the error
    is logged and the server ends the incomplete response."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: dict) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if not started:
                await problem_response(_internal_error(), scope.get("path"))(scope, receive, send)


#: What a constraint violation means to a caller who did not break a rule the service knows.
_UNIQUE = ("23505", "23P01")  # unique, exclusion
_VALUE_ERRORS = {
    "22003": "a number is too large for what it is added to or stored in",
    "22001": "a text is longer than can be stored",
    "22021": "a text holds a character that cannot be stored",
    "22P05": "a text holds a character that cannot be stored",
    "22008": "a date or time is out of range",
    "22007": "a date or time is not valid",
}


def _database_error(exc: Exception) -> tuple[str | None, str | None]:
    """(SQLSTATE, constraint name) of a database error, whether SQLAlchemy wrapped it."""
    error = getattr(exc, "orig", exc)
    cause = getattr(error, "__cause__", None) or error  # the asyncpg exception
    sqlstate = getattr(cause, "sqlstate", None) or getattr(error, "sqlstate", None)
    return sqlstate, getattr(cause, "constraint_name", None)


def constraint_problems(app: Any) -> dict[str, Problem]:
    """The service's {constraint name: Problem} (``ServiceDefinition.constraint_problems``)."""
    return getattr(app.state, "constraint_problems", None) or {}


async def _on_integrity(request: Request, exc: Exception) -> JSONResponse:
    """A constraint the database enforced: the problem the service declared for it (two
    requests creating the same thing at once: one wins, the other gets the same 409 as
    when it comes second), else a generic 409 for a uniqueness, never a 500."""
    sqlstate, constraint = _database_error(exc)
    declared = constraint_problems(request.app).get(constraint or "")
    if declared is not None:
        return await _on_problem(request, declared)
    if sqlstate in _UNIQUE:
        log.info("unique violation on %s without a declared problem", constraint)
        conflict = problems.CONFLICT(
            "the same record was created or changed at the same time, or exists already"
        )
        return await _on_problem(request, conflict)
    if sqlstate == "23503":  # foreign key: what it refers to went away meanwhile
        gone = problems.CONFLICT("a record this refers to does not exist (any more)")
        return await _on_problem(request, gone)
    return await _on_unexpected(request, exc)  # not null, check: the service's own bug


async def _on_data_error(request: Request, exc: Exception) -> JSONResponse:
    """A value the database cannot hold (the schemas should have refused it): 422."""
    sqlstate, _ = _database_error(exc)
    reason = _VALUE_ERRORS.get(sqlstate or "")
    if reason is None:
        return await _on_unexpected(request, exc)
    log.warning("database refused a value on %s %s: %s", request.method, request.url.path, exc)
    return await _on_problem(request, problems.INVALID_VALUE(reason))


async def _on_infrastructure(request: Request, exc: Exception) -> JSONResponse:
    """Database or network errors: a constraint or a value the database refused is the
    caller's (409, 422); otherwise 503 with Retry-After when the database is away."""
    sqlstate, _ = _database_error(exc)
    if sqlstate and sqlstate.startswith("23"):
        return await _on_integrity(request, exc)
    if sqlstate in _VALUE_ERRORS:
        return await _on_data_error(request, exc)
    if not is_transient(exc):
        return await _on_unexpected(request, exc)
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
    unavailable = problems.DATABASE_UNAVAILABLE(
        "the service cannot reach its database; nothing was changed, try again shortly",
        headers={"Retry-After": "5"},
    )
    return await _on_problem(request, unavailable)


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
        detail = f"the body has {size}; the limit is {limit} bytes"
        body = problem_detail(problems.BODY_TOO_LARGE, detail)
        await problem_response(body, scope.get("path"))(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    """Problem+json for every error; call before adding other middlewares (the catch-all
    must be the innermost)."""
    app.add_exception_handler(Problem, _on_problem)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _on_validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _on_http)  # type: ignore[arg-type]
    # Database errors wrapped by SQLAlchemy or raw from asyncpg, told apart by SQLSTATE
    for database_error in (DBAPIError, OSError, asyncpg.PostgresError):
        app.add_exception_handler(database_error, _on_infrastructure)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _on_unexpected)  # errors of the middlewares themselves
    app.add_middleware(CatchUnexpected)


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
