"""The kit's mechanisms that need no running service: settings, envelope, auth, errors."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Annotated

import httpx
import jwt
import pytest
from fastapi import APIRouter, Depends, FastAPI
from pydantic import BaseModel, ConfigDict
from pydantic_settings import SettingsConfigDict

from contracts.events import registry as events
from devstack.project import role_token
from kit.app import ServiceDefinition, create_service_app
from kit.auth import Principal, TokenVerifier, requires
from kit.bus import redacted, split_credentials
from kit.envelope import build, encode, parse
from kit.errors import install_error_handlers
from kit.problems import ProblemType
from kit.settings import ServiceSettings


class DemoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEMO_")


def test_prefixed_setting_wins_over_shared(monkeypatch):
    monkeypatch.setenv("NATS_URL", "nats://shared:4222")
    assert DemoSettings().nats_url == "nats://shared:4222"
    monkeypatch.setenv("DEMO_NATS_URL", "nats://own:4222")
    assert DemoSettings().nats_url == "nats://own:4222"
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://x/y")  # not shared: never picked up
    assert "x/y" not in DemoSettings().database_url


def _snapshot():
    hid = uuid.uuid4()
    return hid, events.HouseholdCreated(
        household_id=hid,
        region_code="622924100201",
        group_no=None,
        poverty_state="registered",
        assistance_type="general",
        monitoring_category="none",
        causes=["illness"],
        primary_cause="illness",
        identified_year=None,
        per_capita_net_income=None,
        members=[],
    )


def test_envelope_round_trip_and_subject():
    hid, data = _snapshot()
    event_id, body = build(
        events.HOUSEHOLD_CREATED,
        source="/jingzhun/registry",
        aggregate_id=str(hid),
        region="622924100201",
        sequence=7,
        data=data,
        traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01",
    )
    assert body["specversion"] == "1.0" and body["id"] == str(event_id)
    parsed = parse(encode(body))
    assert (parsed.type, parsed.sequence, parsed.region, parsed.subject) == (
        events.HOUSEHOLD_CREATED.type,
        7,
        "622924100201",
        str(hid),
    )
    assert parsed.traceparent.startswith("00-aaaa")
    assert (
        events.HOUSEHOLD_CREATED.subject("622924100201")
        == "registry.household.created.62.29.24.100.201"
    )


def test_envelope_refuses_wrong_payload_and_malformed_input():
    _, data = _snapshot()
    with pytest.raises(TypeError):
        build(
            events.HOUSEHOLD_UPDATED,
            source="s",
            aggregate_id="a",
            region="622924100201",
            sequence=1,
            data=data,
        )
    for raw in [
        b"",
        b"{}",
        b"[1]",
        b'{"specversion":"1.0","id":"1","source":"s","type":"t"}',
        b"\xff\xfe",
    ]:
        with pytest.raises(ValueError):
            parse(raw)


def test_an_unprotected_route_stops_the_app_from_being_built():
    router = APIRouter()

    @router.get("/open")
    async def open_route() -> dict:
        return {}

    definition = ServiceDefinition(
        name="demo", title="t", description="d", settings=DemoSettings(), routers=[router]
    )
    with pytest.raises(RuntimeError, match="declares no scope"):
        create_service_app(definition)


def page_size(size: int = 20) -> int:  # plain def: FastAPI would call it in its thread pool
    return size


def test_a_sync_dependency_stops_the_app_from_being_built():
    router = APIRouter()

    @router.get("/things")
    async def things(
        actor: Annotated[Principal, requires("registry:read")],
        size: Annotated[int, Depends(page_size)],
    ) -> dict:
        return {}

    definition = ServiceDefinition(
        name="demo", title="t", description="d", settings=DemoSettings(), routers=[router]
    )
    with pytest.raises(RuntimeError, match="page_size is not async def"):
        create_service_app(definition)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n: int


async def test_problem_json_for_domain_errors_and_validation():
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/x")
    async def x(body: Body) -> dict:
        raise ProblemType(409, "TAKEN", "Taken", "The thing is there.", field="body.n")(
            "already there"
        )

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        bad = await client.post("/x", json={"n": "seven", "extra": 1})
        assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
        assert {e["field"] for e in bad.json()["errors"]} == {"body.n", "body.extra"}
        conflict = await client.post("/x", json={"n": 1})
        assert conflict.status_code == 409
        assert (
            conflict.json()["code"] == "TAKEN" and conflict.json()["errors"][0]["field"] == "body.n"
        )


async def test_method_not_allowed_lists_every_method_of_the_path():
    app = FastAPI()
    install_error_handlers(app)
    # Two routes for one path, as two routers declare a list and its create.
    app.add_api_route("/things", lambda: {}, methods=["GET"])
    app.add_api_route("/things", lambda: {}, methods=["POST"])

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        response = await client.delete("/things")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"


class _JwksHandler(BaseHTTPRequestHandler):
    body = b"{}"

    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


async def test_tokens_verify_against_a_jwks_url(auth_keys):
    """The production path (an OIDC provider's JWKS) over real HTTP."""
    from cryptography.hazmat.primitives import serialization

    public = serialization.load_pem_public_key(auth_keys.public.read_bytes())
    jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(public))
    jwk.update(kid="k1", use="sig", alg="EdDSA")
    _JwksHandler.body = json.dumps({"keys": [jwk]}).encode()
    server = HTTPServer(("127.0.0.1", 0), _JwksHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        verifier = TokenVerifier(
            jwks_url=f"http://127.0.0.1:{server.server_port}/jwks.json", issuer="jingzhun-local"
        )
        principal = await verifier.verify(auth_keys.token("village_cadre", "622924100201"))
        assert (
            principal.region == "622924100201"
            and principal.has("pii:read")
            and not principal.has("registry:write")
        )
        assert principal.can_access("622924100201") and not principal.can_access("622924100202")
        expired = role_token(
            auth_keys.private.read_bytes(),
            role="auditor",
            region="622924000000",
            ttl=dt.timedelta(seconds=-1),
        )
        with pytest.raises(jwt.ExpiredSignatureError):
            await verifier.verify(expired)
    finally:
        server.shutdown()


async def test_a_remembered_token_still_expires(auth_keys):
    verifier = TokenVerifier(public_key_file=auth_keys.public)
    token = role_token(
        auth_keys.private.read_bytes(),
        role="county_admin",
        region="622924000000",
        ttl=dt.timedelta(seconds=2),
    )
    first = await verifier.verify(token)
    assert await verifier.verify(token) is first  # remembered, not checked again
    await asyncio.sleep(2.1)
    with pytest.raises(jwt.ExpiredSignatureError):
        await verifier.verify(token)


def test_unknown_role_is_refused(auth_keys):
    with pytest.raises(ValueError, match="unknown role"):
        role_token(auth_keys.private.read_bytes(), role="emperor", region="622924000000")


def test_span_exporter_is_chosen_by_configuration():
    """OTEL_EXPORTER=console prints finished spans; none prints nothing (fresh processes)."""
    import subprocess
    import sys

    program = (
        "import sys\n"
        "from kit.telemetry import setup_tracing, tracer\n"
        "from opentelemetry import trace\n"
        "setup_tracing('demo', sys.argv[1])\n"
        "with tracer('t').start_as_current_span('hello-span'): pass\n"
        "trace.get_tracer_provider().shutdown()\n"
    )
    outputs = {
        exporter: subprocess.run(
            [sys.executable, "-c", program, exporter], capture_output=True, text=True, timeout=60
        )
        for exporter in ("console", "none")
    }
    assert outputs["console"].returncode == 0, outputs["console"].stderr
    assert '"name": "hello-span"' in outputs["console"].stdout
    assert '"service.name": "demo"' in outputs["console"].stdout
    assert outputs["none"].returncode == 0 and "hello-span" not in outputs["none"].stdout


def test_credentials_are_split_from_the_url_and_redacted():
    url = "nats://services:s3cretPassword@nats:4222"
    assert redacted(url) == "nats://services:***@nats:4222"
    assert redacted("nats://tokenOnly@nats:4222") == "nats://***@nats:4222"
    assert redacted("nats://nats:4222") == "nats://nats:4222"
    assert split_credentials(url) == (
        "nats://nats:4222",
        {"user": "services", "password": "s3cretPassword"},
    )
    assert split_credentials("nats://nats:4222") == ("nats://nats:4222", {})
