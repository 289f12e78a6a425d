"""The baseline of the gateway benchmark: a bare Starlette app on uvicorn answering
``GET /households/{id}/status`` with a fixed JSON document read once at start-up (a real
status document, so the bytes sent are the same). No auth, no database, no validation:
what the same uvicorn process costs when the endpoint does nothing.

    uvicorn bare_app:create_app --factory --app-dir tests/benchmarks   (BARE_DOCUMENT=<file>)
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def create_app() -> Starlette:
    document = Path(os.environ["BARE_DOCUMENT"]).read_bytes()

    async def status(request: Request) -> Response:
        return Response(document, media_type="application/json")

    return Starlette(routes=[Route("/households/{household_id}/status", status)])
