"""The public event feed (公开事件): every platform event, redacted by the gateway, for
dashboards (大屏) that subscribe to NATS directly.

The region comes first in the subject, so a county reads its whole feed with one
wildcard and per-county credentials can be limited to it:
``public.<p>.<c>.<x>.<t>.<v>.<service>.<aggregate>.<event>``, e.g.
``public.62.29.24.100.201.registry.household.created``; county 622924 reads
``public.62.29.24.>``. Payloads carry no personal data (names, ID numbers even masked,
birth dates, phones, income, health detail, free text) and ``"redacted": true``.
"""

from __future__ import annotations

from contracts.region import region_subject_tokens, subject_tokens

PUBLIC_PREFIX = "public"
#: The JetStream stream the gateway publishes the feed into (kept a week).
PUBLIC_STREAM = "PUBLIC"


def public_subject(region_code: str, event_name: str) -> str:
    """``public.62.29.24.100.201.registry.household.created``."""
    return ".".join([PUBLIC_PREFIX, *subject_tokens(region_code), event_name])


def public_filter(region_code: str) -> str:
    """Every public event of a region's subtree: county 622924000000 → ``public.62.29.24.>``."""
    return ".".join([PUBLIC_PREFIX, *region_subject_tokens(region_code), ">"])
