"""Validation errors say which field and why, in the caller's terms."""

from __future__ import annotations

from typing import Literal

import httpx
from fastapi import FastAPI, UploadFile
from pydantic import BaseModel, model_validator

from contracts.enums import ObjectionStatus
from contracts.validation import FieldsError
from kit.errors import install_error_handlers


class Stay(BaseModel):
    admitted_on: str
    discharged_on: str
    outcome: Literal[ObjectionStatus.upheld, ObjectionStatus.dismissed] = ObjectionStatus.upheld

    @model_validator(mode="after")
    def _in_order(self) -> Stay:
        if self.discharged_on < self.admitted_on:
            raise FieldsError("discharged before admitted", "admitted_on", "discharged_on")
        return self


def client() -> httpx.AsyncClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/stays")
    async def stays(body: Stay) -> dict:
        return {}

    @app.post("/uploads")
    async def uploads(file: UploadFile) -> dict:
        return {}

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_malformed_json_names_the_body_with_the_position():
    async with client() as c:
        response = await c.post(
            "/stays",
            content=b'{"admitted_on": "2026-01-01",',
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "body" and error["type"] == "json_invalid"
    assert error["reason"].startswith("the body is not valid JSON: ")
    assert "at character 30" in error["reason"]


async def test_a_body_that_cannot_be_read_is_a_422_naming_the_body():
    """FastAPI's bare 400 for bytes that are not UTF-8 or a broken multipart form."""
    async with client() as c:
        not_utf8 = await c.post(
            "/stays", content=b"\xff\xfe{", headers={"content-type": "application/json"}
        )
        broken = await c.post(
            "/uploads",
            content=b"--x\r\n-garbage--x--\r\n",
            headers={"content-type": "multipart/form-data; boundary=x"},
        )
    assert not_utf8.status_code == 422, not_utf8.text
    (error,) = not_utf8.json()["errors"]
    assert error["field"] == "body" and "not UTF-8" in error["reason"]
    assert broken.status_code == 422, broken.text
    (error,) = broken.json()["errors"]
    assert error["field"] == "body" and "multipart/form-data" in error["reason"]


async def test_a_rule_about_two_fields_names_both():
    async with client() as c:
        response = await c.post(
            "/stays", json={"admitted_on": "2026-02-01", "discharged_on": "2026-01-01"}
        )
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == ["body.admitted_on", "body.discharged_on"]
    assert {e["reason"] for e in errors} == {"discharged before admitted"}


async def test_enum_members_are_shown_as_their_values():
    async with client() as c:
        response = await c.post(
            "/stays", json={"admitted_on": "a", "discharged_on": "b", "outcome": "open"}
        )
    (error,) = response.json()["errors"]
    assert error["field"] == "body.outcome"
    assert error["reason"] == "Input should be 'upheld' or 'dismissed'", error["reason"]
