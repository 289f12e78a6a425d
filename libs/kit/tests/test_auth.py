"""Token verification: audience and lifetime, what a refused token is told, and the key set
of an identity provider (a real HTTP server here, counting what it is asked)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Annotated, Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from fastapi import FastAPI

from devstack.project import role_token
from kit.auth import DEFAULT_AUDIENCE, Principal, TokenVerifier, requires
from kit.errors import install_error_handlers

REGION = "622924000000"


class IdentityProvider:
    """A JWKS endpoint in a thread: its keys, how it fails, and how often it was asked."""

    def __init__(self) -> None:
        self.keys: dict[str, ed25519.Ed25519PrivateKey] = {}
        self.fetches = 0
        self.mode = "ok"  # ok | 500 | garbage | not-an-object
        self.delay = 0.0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                provider.fetches += 1
                time.sleep(provider.delay)
                status, body = provider.answer()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/certs"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self) -> tuple[int, bytes]:
        if self.mode == "500":
            return 500, b'{"error": "down for maintenance"}'
        if self.mode == "garbage":
            return 200, b"<html>login</html>"
        if self.mode == "not-an-object":
            return 200, b"[]"
        keys = []
        for kid, key in self.keys.items():
            jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(key.public_key()))
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": "EdDSA"})
        return 200, json.dumps({"keys": keys}).encode()

    def add_key(self, kid: str) -> None:
        self.keys[kid] = ed25519.Ed25519PrivateKey.generate()

    def token(self, kid: str, key: Any = None, **overrides: Any) -> str:
        """A token naming ``kid``, signed with that key of the provider or ``key``."""
        now = int(time.time())
        claims = {
            "iss": "jingzhun-local",
            "aud": DEFAULT_AUDIENCE,
            "sub": "someone",
            "iat": now,
            "exp": now + 600,
            "scope": "status:read",
            "region": REGION,
            **overrides,
        }
        claims = {name: value for name, value in claims.items() if value is not None}
        key = key or self.keys[kid]
        return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def provider():
    idp = IdentityProvider()
    idp.add_key("k1")
    yield idp
    idp.close()


def app_for(verifier: TokenVerifier) -> FastAPI:
    """The smallest service: one route needing a token, the kit's error handlers."""
    app = FastAPI()
    install_error_handlers(app)
    app.state.runtime = SimpleNamespace(verifier=verifier)

    @app.get("/whoami")
    async def whoami(actor: Annotated[Principal, requires("status:read")]) -> dict:
        return {"subject": actor.subject}

    return app


async def ask(app: FastAPI, token: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get("/whoami", headers={"Authorization": f"Bearer {token}"})


def signed(private_pem: bytes, **claims: Any) -> str:
    """A token with exactly ``claims`` (None drops one), signed by the local issuer's key."""
    now = int(time.time())
    body = {
        "iss": "jingzhun-local",
        "aud": DEFAULT_AUDIENCE,
        "sub": "someone",
        "iat": now,
        "exp": now + 600,
        "scope": "status:read",
        "region": REGION,
        **claims,
    }
    body = {name: value for name, value in body.items() if value is not None}
    key = serialization.load_pem_private_key(private_pem, password=None)
    return jwt.encode(body, key, algorithm="EdDSA")  # type: ignore[arg-type]


# --- audience and lifetime -----------------------------------------------------------


async def test_audience_is_required_and_must_match(auth_keys):
    app = app_for(TokenVerifier(public_key_file=auth_keys.public, issuer="jingzhun-local"))
    private = auth_keys.private.read_bytes()
    assert (await ask(app, signed(private))).status_code == 200
    other = await ask(app, signed(private, aud="another-application"))
    assert other.status_code == 401 and other.json()["code"] == "INVALID_TOKEN"
    assert "audience must be 'jingzhun'" in other.json()["detail"]
    missing = await ask(app, signed(private, aud=None))
    assert missing.status_code == 401 and "'aud'" in missing.json()["detail"]
    # The local issuer writes the audience the services expect by default.
    assert (await ask(app, auth_keys.token("dashboard"))).status_code == 200


async def test_token_lifetime_is_capped(auth_keys):
    app = app_for(TokenVerifier(public_key_file=auth_keys.public, issuer="jingzhun-local"))
    private = auth_keys.private.read_bytes()
    now = int(time.time())
    assert (await ask(app, signed(private, exp=now + 12 * 3600))).status_code == 200
    long = await ask(app, signed(private, iat=now - 60, exp=now + 12 * 3600))
    assert long.status_code == 401
    assert "longer than the 12 h this service accepts" in long.json()["detail"]
    year = role_token(private, role="dashboard", region=REGION, ttl=dt.timedelta(days=365))
    assert (await ask(app, year)).status_code == 401
    for claim in ("exp", "iat"):
        response = await ask(app, signed(private, **{claim: None}))
        assert response.status_code == 401
        assert response.json()["detail"] == f"the token lacks the {claim!r} claim"
    strict = app_for(
        TokenVerifier(public_key_file=auth_keys.public, max_lifetime=dt.timedelta(minutes=5))
    )
    assert (await ask(strict, signed(private))).status_code == 401  # 10 minutes > 5


def test_a_service_cannot_run_without_an_audience(auth_keys, monkeypatch):
    from pydantic import ValidationError

    from kit.settings import ServiceSettings

    with pytest.raises(ValueError, match="AUTH_AUDIENCE"):
        TokenVerifier(public_key_file=auth_keys.public, audience="")
    monkeypatch.setenv("AUTH_AUDIENCE", "")
    with pytest.raises(ValidationError):
        ServiceSettings()
    monkeypatch.delenv("AUTH_AUDIENCE")
    assert ServiceSettings().auth_audience == DEFAULT_AUDIENCE


async def test_garbage_is_not_a_valid_jwt(auth_keys, provider):
    """Not the decoder's internals (``'utf-8' codec can't decode byte 0xb7``)."""
    garbage = ["not.a.jwt", "abc", "t7e3.t7e3.t7e3", "eyJhbGciOiJFZERTQSJ9.e30", "a.b.c.d"]
    for verifier in (
        TokenVerifier(public_key_file=auth_keys.public),
        TokenVerifier(jwks_url=provider.url),
    ):
        app = app_for(verifier)
        for token in garbage:
            response = await ask(app, token)
            assert response.status_code == 401, token
            assert response.json()["detail"].startswith("the bearer token is not a valid JWT")
    assert provider.fetches == 0  # nothing to ask the provider about
    forged = signed(auth_keys.private.read_bytes())[:-4] + "AAAA"
    response = await ask(app_for(TokenVerifier(public_key_file=auth_keys.public)), forged)
    assert response.status_code == 401 and "signature does not verify" in response.json()["detail"]


# --- the provider's key set ------------------------------------------------------------


async def test_unknown_key_ids_refetch_at_most_once_per_interval(provider):
    verifier = TokenVerifier(jwks_url=provider.url, refetch_seconds=2)
    app = app_for(verifier)
    assert (await ask(app, provider.token("k1"))).status_code == 200
    assert provider.fetches == 1
    intruder = ed25519.Ed25519PrivateKey.generate()
    await asyncio.sleep(2)
    # Fifty tokens naming made-up key ids: one refetch, not fifty; each is refused, as the
    # key is still unknown after it.
    made_up = [provider.token(f"kid-{uuid.uuid4()}", key=intruder) for _ in range(50)]
    answers = await asyncio.gather(*(ask(app, token) for token in made_up))
    assert provider.fetches == 2
    for response in answers:
        assert response.status_code == 401
        assert "is not one of the issuer's keys" in response.json()["detail"]
    assert (await ask(app, made_up[0])).status_code == 401
    assert provider.fetches == 2
    # The provider rotates its keys: after the interval a token with the new key id works.
    provider.add_key("k2")
    await asyncio.sleep(2)
    assert (await ask(app, provider.token("k2"))).status_code == 200
    assert provider.fetches == 3
    assert (await ask(app, provider.token("k2", sub="another"))).status_code == 200
    assert provider.fetches == 3  # known now: no fetch


async def test_concurrent_requests_share_one_fetch(provider):
    provider.delay = 0.3
    verifier = TokenVerifier(jwks_url=provider.url, refetch_seconds=0.2)
    app = app_for(verifier)
    tokens = [provider.token("k1", sub=f"user-{n}") for n in range(20)]
    answers = await asyncio.gather(*(ask(app, token) for token in tokens))
    assert [a.status_code for a in answers] == [200] * 20
    assert provider.fetches == 1
    provider.add_key("k2")  # a rotation seen by twenty requests at once: one fetch too
    await asyncio.sleep(0.2)
    tokens = [provider.token("k2", sub=f"user-{n}") for n in range(20)]
    answers = await asyncio.gather(*(ask(app, token) for token in tokens))
    assert [a.status_code for a in answers] == [200] * 20
    assert provider.fetches == 2


@pytest.mark.parametrize("mode", ["500", "garbage", "not-an-object"])
async def test_a_failing_provider_is_503_with_retry_after(provider, mode):
    provider.mode = mode
    app = app_for(TokenVerifier(jwks_url=provider.url, refetch_seconds=2))
    token = provider.token("k1")
    for _ in range(5):
        response = await ask(app, token)
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "IDENTITY_PROVIDER_UNAVAILABLE"
        assert 1 <= int(response.headers["retry-after"]) <= 2
    assert provider.fetches == 1  # failures are not retried on every request
    provider.mode = "ok"
    await asyncio.sleep(2)
    assert (await ask(app, token)).status_code == 200
    assert provider.fetches == 2


async def test_an_unreachable_provider_is_503():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = app_for(TokenVerifier(jwks_url=f"http://127.0.0.1:{port}/certs"))
    response = await ask(app, issue_token_for_nobody())
    assert response.status_code == 503 and int(response.headers["retry-after"]) == 30
    assert "unreachable" in response.json()["detail"]


def issue_token_for_nobody() -> str:
    key = ed25519.Ed25519PrivateKey.generate()
    now = int(time.time())
    claims = {"sub": "x", "iat": now, "exp": now + 60, "aud": DEFAULT_AUDIENCE, "region": REGION}
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": "k1"})


async def test_held_keys_outlive_a_provider_outage(provider):
    """Keys expire from the cache, the provider is down: a known key still verifies, an
    unknown one cannot be decided (503, not 401)."""
    verifier = TokenVerifier(jwks_url=provider.url, cache_seconds=0.2, refetch_seconds=0.2)
    app = app_for(verifier)
    assert (await ask(app, provider.token("k1"))).status_code == 200
    provider.mode = "500"
    await asyncio.sleep(0.3)
    assert (await ask(app, provider.token("k1", sub="b"))).status_code == 200
    provider.add_key("k2")
    assert (await ask(app, provider.token("k2"))).status_code == 503


async def test_the_local_issuer_writes_what_the_services_require(auth_keys, monkeypatch):
    """`make token` and `make run` read the same settings as the services."""
    from devstack.project import token_terms
    from kit.settings import ServiceSettings

    monkeypatch.setenv("AUTH_AUDIENCE", "county-622924")
    monkeypatch.setenv("AUTH_MAX_TOKEN_LIFETIME_HOURS", "2")
    settings = ServiceSettings()
    verifier = TokenVerifier(
        public_key_file=auth_keys.public,
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
        max_lifetime=dt.timedelta(hours=settings.auth_max_token_lifetime_hours),
    )
    token = role_token(
        auth_keys.private.read_bytes(), role="dashboard", region=REGION, **token_terms()
    )
    assert (await verifier.verify(token)).claims["aud"] == "county-622924"
    with pytest.raises(jwt.InvalidTokenError):  # the default terms: another audience, 12 h
        await verifier.verify(auth_keys.token("dashboard"))
