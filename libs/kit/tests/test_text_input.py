"""Control characters are refused once, for every string a service accepts."""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel
from pydantic_settings import SettingsConfigDict

from contracts.text import find_control_characters
from kit.app import ServiceDefinition, create_service_app
from kit.auth import public
from kit.settings import ServiceSettings


class DemoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEMO_")


class Member(BaseModel):
    name: str


class Household(BaseModel):
    members: list[Member]
    notes: str = ""


def demo_client() -> tuple[httpx.AsyncClient, list]:
    router, seen = APIRouter(), []

    @router.post("/households", dependencies=[public("a test route")])
    async def create(body: Household) -> dict:
        seen.append(body)
        return {"ok": True}

    @router.get("/households/{code}", dependencies=[public("a test route")])
    async def one(code: str, name: str = "") -> dict:
        seen.append((code, name))
        return {"code": code}

    definition = ServiceDefinition(
        name="demo", title="t", description="d", settings=DemoSettings(), routers=[router]
    )
    app = create_service_app(definition)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    return client, seen


@pytest.mark.parametrize("bad", ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\ud800"])
def test_control_characters_are_found(bad):
    reason = find_control_characters(f"马{bad}福")
    assert reason and f"U+{ord(bad):04X}" in reason and "position 2" in reason


@pytest.mark.parametrize("good", ["马福财", "因病致贫\n\t第二行\r\n", "", "café ①"])
def test_ordinary_text_passes(good):
    assert find_control_characters(good) is None


async def test_a_nul_in_the_body_names_the_field_and_reaches_nothing():
    client, seen = demo_client()
    async with client:
        response = await client.post(
            "/households", json={"members": [{"name": "马"}, {"name": "a\x00b"}], "notes": "x\x1fy"}
        )
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        errors = {e["field"]: e for e in response.json()["errors"]}
        assert set(errors) == {"body.members.1.name", "body.notes"}
        assert "U+0000" in errors["body.members.1.name"]["reason"]
        assert errors["body.notes"]["type"] == "control_character"
        # a key holding one is named, escaped
        response = await client.post("/households", json={"members": [], "n\x00": 1})
        assert [e["field"] for e in response.json()["errors"]] == ["body.n\\x00"]
        # free text keeps its lines; the app gets the body intact
        ok = await client.post("/households", json={"members": [{"name": "马"}], "notes": "a\nb"})
        assert ok.status_code == 200 and seen == [
            Household(members=[Member(name="马")], notes="a\nb")
        ]


async def test_query_and_path_parameters_are_checked():
    client, seen = demo_client()
    async with client:
        response = await client.get("/households/622924?name=a%00b")
        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == ["query.name"]
        response = await client.get("/households/62%0029")
        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == ["path.code"]
        assert (await client.get("/households/622924?name=%E9%A9%AC")).status_code == 200
        assert seen == [("622924", "马")]


async def test_a_raw_control_byte_is_malformed_json_and_other_bodies_pass():
    client, seen = demo_client()
    async with client:
        raw = b'{"members": [{"name": "a\x00b"}]}'  # a raw control byte is not JSON
        response = await client.post(
            "/households", content=raw, headers={"content-type": "application/json"}
        )
        assert response.status_code == 422 and seen == []
        # bodies of other types are the route's own business (an upload checks its cells)
        response = await client.post(
            "/households", content=b"\x00", headers={"content-type": "text/csv"}
        )
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "body"


@pytest.mark.parametrize("depth", [900, 5000])
async def test_a_deeply_nested_body_is_a_4xx(depth):
    client, seen = demo_client()
    raw = '{"members": [], "notes": "\\u0000", "deep": ' + "[" * depth + "]" * depth + "}"
    async with client:
        response = await client.post(
            "/households", content=raw.encode(), headers={"content-type": "application/json"}
        )
    assert 400 <= response.status_code < 500 and seen == [], response.text
