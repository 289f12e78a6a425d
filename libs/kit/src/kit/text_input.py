"""Refuse control characters once, for every string a service accepts.

An ASGI middleware installed by ``kit.app.create_service_app``: the query string, the path
and every string (and key) of a JSON body are checked with
:func:`contracts.text.find_control_characters` before the app sees the request; a bad one
is a 422 problem naming each field (``query.name``, ``path.household_id``,
``body.members.0.name``) with the reason. Without it a NUL reached PostgreSQL (``invalid
byte sequence for encoding "UTF8": 0x00``) and became a 500. Bodies that are not JSON
(file uploads) are the route's own (an import checks its cells itself).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from fastapi.routing import iter_route_contexts
from starlette.routing import compile_path

from contracts.text import find_control_characters
from kit.errors import FieldError, problem_response, validation_problem

#: Cheap test on the raw body: could it hold a control character at all? (A raw control
#: byte is invalid JSON, answered as such; an escaped one, a C1 or a surrogate is not.)
_MAYBE = re.compile(
    rb"\\u00[0189][0-9a-fA-F]|\\u007[fF]|\\u[dD][89a-fA-F]|\xc2[\x80-\x9f]|\xed[\xa0-\xbf]"
)


def _escaped(name: str) -> str:
    """A field name fit to show (a key may itself hold the control character)."""
    return name.encode("unicode_escape").decode("ascii") if find_control_characters(name) else name


def _in_json(document: Any, found: list[FieldError]) -> None:
    """Every string and key of a parsed body (a loop, not recursion: a body may nest as
    deep as the parser allows)."""
    stack = [(document, "body")]
    while stack:
        value, location = stack.pop()
        if isinstance(value, str):
            reason = find_control_characters(value)
            if reason:
                found.append(FieldError(field=location, reason=reason, type="control_character"))
        elif isinstance(value, dict):
            for key, item in value.items():
                where = f"{location}.{_escaped(key)}"
                reason = find_control_characters(key)
                if reason:
                    found.append(
                        FieldError(
                            field=where, reason=f"the name {reason}", type="control_character"
                        )
                    )
                stack.append((item, where))
        elif isinstance(value, list):
            stack.extend((item, f"{location}.{index}") for index, item in enumerate(value))
    found.sort(key=lambda error: error.field)


def _in_path(scope: dict) -> list[FieldError]:
    path = scope.get("path", "")
    reason = find_control_characters(path)
    if reason is None:
        return []
    app = scope.get("app")
    for context in iter_route_contexts(app.routes) if app is not None else ():
        regex, _, _ = compile_path(context.path or context.original_route.path)
        matched = regex.match(path)
        if matched:  # name the parameters that hold it
            found = [
                FieldError(field=f"path.{name}", reason=why, type="control_character")
                for name, value in matched.groupdict().items()
                if (why := find_control_characters(value))
            ]
            if found:
                return found
    return [FieldError(field="path", reason=reason, type="control_character")]


def _in_query(scope: dict) -> list[FieldError]:
    raw = scope.get("query_string", b"").decode("latin-1")
    found = []
    for name, value in parse_qsl(raw, keep_blank_values=True):
        where = f"query.{_escaped(name)}"
        for text in (name, value):
            reason = find_control_characters(text)
            if reason:
                found.append(FieldError(field=where, reason=reason, type="control_character"))
                break
    return found


def _is_json(scope: dict) -> bool:
    """What FastAPI would parse as JSON: a JSON media type, or none at all."""
    content_type = dict(scope.get("headers") or []).get(b"content-type", b"").lower()
    media = content_type.split(b";", 1)[0].strip()
    return not media or media == b"application/json" or media.endswith(b"+json")


class RefuseControlCharacters:
    """ASGI middleware: see the module docstring."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        found = _in_path(scope) + _in_query(scope)
        if scope.get("method") in ("POST", "PUT", "PATCH") and _is_json(scope):
            body, receive = await _buffered(receive)
            if _MAYBE.search(body):
                try:
                    document = json.loads(body)
                except (ValueError, RecursionError):
                    document = None  # malformed or too deep: the app answers that
                _in_json(document, found)
        if not found:
            await self.app(scope, receive, send)
            return
        await problem_response(validation_problem(found), scope.get("path"))(scope, receive, send)


async def _buffered(receive: Any) -> tuple[bytes, Any]:
    """The whole body, and a ``receive`` that hands it to the app as if unread."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # the client left: the app sees an empty body and then the disconnect
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replayed = False

    async def replay() -> dict:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay
