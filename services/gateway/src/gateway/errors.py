"""The gateway's problems (ARCHITECTURE §2.5): each code once, with its status, title, the
field it is about where there is one, and what it means; ``docs/errors.md`` is generated
from it."""

from __future__ import annotations

from kit.problems import ProblemType

INVALID_REGION = ProblemType(
    422,
    "INVALID_REGION",
    "Invalid request",
    "The live stream's region is not a region code.",
    field="query.region",
)
INVALID_SUBSCRIPTION = ProblemType(
    422,
    "INVALID_SUBSCRIPTION",
    "Invalid request",
    "The live stream's event types or resume position (`Last-Event-ID`) are not valid.",
)
NATS_UNAVAILABLE = ProblemType(
    503,
    "NATS_UNAVAILABLE",
    "Service unavailable",
    "The gateway is not connected to the event bus; retry after `Retry-After`.",
)
RESUME_BEYOND_END = ProblemType(
    409,
    "RESUME_BEYOND_END",
    "Resume position beyond the end of the stream",
    "The resume position was never sent: the stream ends before it.",
)
RESUME_TOO_OLD = ProblemType(
    409,
    "RESUME_TOO_OLD",
    "Resume position too old",
    "The resume position is older than the stream's replay window.",
)
TOO_MANY_STREAMS = ProblemType(
    429,
    "TOO_MANY_STREAMS",
    "Too many live streams",
    "The caller has as many live streams open as allowed at once.",
)
