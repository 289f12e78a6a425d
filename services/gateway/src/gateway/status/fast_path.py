"""The hot read, ``GET /households/{id}/status``, answered before the framework when it can
be: a token this process has already verified, holding ``status:read``, a household whose
rendered status is in memory, inside the caller's region and, for a helper, assigned to
them; without names unless the token holds ``pii:read`` (``gateway.status.access``).

Anything else (no such token yet, a query string, a miss, a household outside the region)
goes on to the full endpoint, which is the reference: it authenticates, answers errors as
problem+json and fills the cache. The bytes sent are the same either way, as the tests
check. Such a read is traced when the caller traces it (``traceparent``), not otherwise
(``untraced_when_cached``).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from opentelemetry import trace
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.status.access import NAMES_SCOPE
from gateway.status.cache import HITS, StatusCache
from gateway.status.document import without_names
from kit.auth import HELPER_CLAIM

ROUTE = "/households/{household_id}/status"
SCOPE = "status:read"
_PATH = re.compile(
    r"/households/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/status"
)
_SPAN_NAME = f"GET {ROUTE}"
_ANSWER = "gateway.cached_status"  # scope key: the answer found while deciding on tracing


class CachedStatusRoute:
    def __init__(self, app: ASGIApp, cache: StatusCache) -> None:
        self.app = app
        self.cache = cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = scope.pop(_ANSWER, None) or cached_answer(self.cache, scope)
        if body is None:
            await self.app(scope, receive, send)
            return
        HITS.inc()
        span = trace.get_current_span()
        if span.is_recording():
            span.set_attribute("http.route", ROUTE)
            span.update_name(_SPAN_NAME)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-length", str(len(body)).encode()),
                    (b"content-type", b"application/json"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def untraced_when_cached(cache: StatusCache) -> Callable[[Scope], bool]:
    """For the tracing's ``exclude``: no span for a read answered from memory unless the
    caller traces it (sends ``traceparent``). The span would cost more than the answer
    (60 of 100 µs); those reads are counted in ``jingzhun_gateway_status_cache_lookups_total``.
    The answer found is kept in the scope for the middleware, not looked up twice."""

    def untraced(scope: Scope) -> bool:
        if any(name == b"traceparent" for name, _ in scope["headers"]):
            return False
        body = cached_answer(cache, scope)
        if body is None:
            return False
        scope[_ANSWER] = body
        return True

    return untraced


def cached_answer(cache: StatusCache, scope: Scope) -> bytes | None:
    """The status document to send from memory, or None: the full endpoint answers."""
    # Behind a path prefix (root_path) requests take the full endpoint.
    if (
        scope["type"] != "http"
        or scope["method"] != "GET"
        or scope["query_string"]
        or scope.get("root_path")
    ):
        return None
    match = _PATH.fullmatch(scope["path"])
    if match is None:
        return None
    app = scope["app"]
    principal = app.state.runtime.verifier.remembered(_bearer_token(scope))
    if principal is None or not principal.has(SCOPE):
        return None
    entry = cache.get(match[1], app.state.clock.today())
    if entry is None:
        return None
    region_code, body, _, _, name_start, name_end, helper_ids = entry
    if not principal.can_access(region_code):
        return None
    if principal.is_helper and principal.claims.get(HELPER_CLAIM) not in helper_ids:
        return None  # not theirs, or a claim to read closely: the full endpoint decides
    return body if principal.has(NAMES_SCOPE) else without_names(body, name_start, name_end)


def _bearer_token(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token if scheme.lower() == "bearer" else None
    return None
