"""No exception escapes the app: a 500 is answered as a problem and the connection lives on."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import uvicorn
from fastapi import APIRouter, FastAPI
from pydantic_settings import SettingsConfigDict

from devstack.servers import free_port
from kit.app import ServiceDefinition, create_service_app
from kit.auth import public
from kit.settings import ServiceSettings


class DemoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEMO_")


def demo_app() -> FastAPI:
    router = APIRouter()

    @router.get("/boom", dependencies=[public("a test route")])
    async def boom() -> dict:
        raise KeyError("county")  # what stdnum raised for a crafted ID number

    @router.get("/fine", dependencies=[public("a test route")])
    async def fine() -> dict:
        return {"ok": True}

    definition = ServiceDefinition(
        name="demo", title="t", description="d", settings=DemoSettings(), routers=[router]
    )
    return create_service_app(definition)


@contextlib.asynccontextmanager
async def uvicorn_serving(app: FastAPI) -> AsyncIterator[int]:
    """The app under a real uvicorn server, without its lifespan (no database needed)."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not task.done(), "uvicorn did not start"
            await asyncio.sleep(0.05)
        yield port
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)


async def _exchange(reader, writer, path: str) -> tuple[int, dict[str, str], bytes]:
    writer.write(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:-2])}
    body = await reader.readexactly(int(headers["content-length"]))
    return status, headers, body


async def test_an_unexpected_error_leaves_the_keep_alive_connection_usable(caplog):
    app = demo_app()
    async with uvicorn_serving(app) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            with caplog.at_level(logging.ERROR):
                status, headers, body = await _exchange(reader, writer, "/boom")
            assert status == 500 and headers["content-type"] == "application/problem+json"
            assert b"county" not in body  # no internals
            # the same connection answers the next request
            status, _, body = await _exchange(reader, writer, "/fine")
            assert (status, body) == (200, b'{"ok":true}')
        finally:
            writer.close()
    traces = [r for r in caplog.records if r.exc_info]
    assert len(traces) == 1 and "/boom" in traces[0].getMessage()  # logged once, with its trace
    assert not [r for r in caplog.records if "Exception in ASGI application" in r.getMessage()]
