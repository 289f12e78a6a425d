"""Bulk import (批量导入) of CSV and XLSX spreadsheets, against real PostgreSQL and NATS."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile

import pytest
from openpyxl import Workbook, load_workbook
from registry_testdata import (
    NOT_REGION_EVENTS,
    OTHER_VILLAGE,
    VILLAGE,
    household_body,
    new_id_number,
    seed_regions,
)
from sqlalchemy import text

from contracts.resident_id import compose
from devstack.testing import eventually, running
from registry.config import RegistrySettings
from registry.imports.columns import COLUMNS
from registry.imports.jobs import ImportSlot
from registry.imports.parse import FirstN, RowError, error_order
from registry.main import create_app

HEADERS = [c.header for c in COLUMNS]


def person(no: str, relation: str = "户主", *, village: str = VILLAGE, **cells) -> dict:
    row = {"村代码": village, "户编号": no, "与户主关系": relation, "姓名": "马建国"}
    row["身份证号"] = cells.pop("身份证号", None) or new_id_number()
    if relation == "户主":
        row.update({"贫困状态": "建档立卡", "致贫原因": "因病、缺资金", "主要致贫原因": "因病"})
        row.update({"识别年度": "2016", "调查年度": "2025", "人均纯收入": "2800.50"})
    row.update(cells)
    return row


def family(no: str, size: int = 3, **head) -> list[dict]:
    relations = ["户主", "配偶", "子女", "子女", "父母"]
    rows = [person(no, **head)]
    rows += [
        person(no, relations[i], 姓名=f"成员{i}", 劳动能力="弱劳动能力") for i in range(1, size)
    ]
    return rows


def as_csv(rows: list[dict], headers: list[str] = HEADERS) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=headers, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def as_xlsx(rows: list[dict]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    for row in rows:
        sheet.append([row.get(h) for h in HEADERS])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


SHARED_STRINGS = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml",
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings",
)


def with_padded_shared_strings(xlsx: bytes, padding: int) -> bytes:
    """The workbook with a shared-strings part holding one string of ``padding`` repeated
    characters: what a crafted upload looks like (a few KB that unpack to megabytes)."""
    content_type, relation = SHARED_STRINGS
    parts = {}
    with zipfile.ZipFile(io.BytesIO(xlsx)) as original:
        for name in original.namelist():
            parts[name] = original.read(name)
    parts["xl/sharedStrings.xml"] = (
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" '
        f'uniqueCount="1"><si><t>{"A" * padding}</t></si></sst>'
    ).encode()
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>",
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{content_type}" /></Types>'.encode(),
    )
    rels = "xl/_rels/workbook.xml.rels"
    parts[rels] = parts[rels].replace(
        b"</Relationships>",
        f'<Relationship Type="{relation}" Target="sharedStrings.xml" Id="rId99" />'
        "</Relationships>".encode(),
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as crafted:
        for name, data in parts.items():
            crafted.writestr(name, data)
    return buffer.getvalue()


async def upload(client, content: bytes, headers, name: str = "households.csv", **params):
    return await client.post(
        "/imports", files={"file": (name, content)}, params=params, headers=headers
    )


async def scalar(app, sql: str, **params):
    async with app.state.runtime.sessionmaker() as session:
        return (await session.execute(text(sql), params)).scalar_one()


async def test_csv_imports_households_with_members_events_and_masked_ids(
    client, registry_app, auth_keys
):
    rows = family("0001", 3) + family("0002", 2)
    rows.append(
        person("0002", "子女", 姓名="马小宝", 身份证号="", 性别="男", 出生日期="2025-10-01")
    )
    rows[-1]["身份证号"] = ""
    response = await upload(client, as_csv(rows), auth_keys.headers())
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["persons"], report["households"], report["imported"]) == (6, 2, 2)
    assert (report["persons_imported"], report["failed"], report["skipped"]) == (6, 0, 0)
    assert report["errors"] == []

    listed = (
        await client.get("/households", params={"region": VILLAGE}, headers=auth_keys.headers())
    ).json()
    assert listed["total"] == 2
    sizes = sorted(h["member_count"] for h in listed["items"])
    assert sizes == [3, 3]
    first = next(h for h in listed["items"] if h["member_count"] == 3)
    household = (
        await client.get(f"/households/{first['id']}", headers=auth_keys.headers("auditor"))
    ).json()
    assert household["poverty_state"] == "registered"
    assert household["causes"] == ["illness", "lack_funds"]
    numbers = [m["id_number"] for m in household["members"] if m["id_number"]]
    assert numbers and all("**********" in n for n in numbers)

    found = await client.post(
        "/persons/lookup", json={"id_number": rows[0]["身份证号"]}, headers=auth_keys.headers()
    )
    assert found.status_code == 200
    assert found.json()["member"]["id_number"] == rows[0]["身份证号"]  # pii:read: decrypted

    events = await scalar(
        registry_app,
        "SELECT count(*) FROM outbox WHERE event_type LIKE '%registry.household.created%' "
        "AND (envelope->>'sequence')::int = 1",
    )
    assert events == 2
    newborn = await scalar(
        registry_app, "SELECT count(*) FROM members WHERE id_pending AND birth_date = '2025-10-01'"
    )
    assert newborn == 1
    # the template's newborn is published as a member without an ID number (no fragment)
    published = await scalar(
        registry_app,
        "SELECT count(*) FROM outbox, jsonb_array_elements(envelope->'data'->'members') m "
        "WHERE m->>'has_id_number' = 'false' AND NOT m ? 'id_number_masked'",
    )
    assert published == 1
    history = (
        await client.get(f"/households/{first['id']}/history", headers=auth_keys.headers())
    ).json()
    assert [e["action"] for e in history] == ["household.created"]
    steps = await scalar(
        registry_app, "SELECT count(*) FROM workflow_steps WHERE action = 'enter_existing'"
    )
    assert steps == 2  # 存量档案录入 with the file as evidence
    batch = await scalar(registry_app, "SELECT count(*) FROM audit_log WHERE entity = 'import'")
    assert batch == 1


async def test_bad_rows_are_reported_and_only_their_households_skipped(client, auth_keys):
    good = family("0001", 2)
    bad_checksum = family("0002", 2)
    bad_checksum[1]["身份证号"] = bad_checksum[1]["身份证号"][:-1] + (
        "0" if bad_checksum[1]["身份证号"][-1] != "0" else "1"
    )
    unknown_enum = family("0003", 2)
    unknown_enum[1]["劳动能力"] = "很强"
    two_heads = family("0004", 2)
    two_heads[1]["与户主关系"] = "户主"
    primary_not_in_causes = family("0005", 1, 主要致贫原因="因学")
    outside = family("0006", 1, village=OTHER_VILLAGE)
    no_name = family("0007", 2)
    no_name[1]["姓名"] = ""
    rows = good + bad_checksum + unknown_enum + two_heads + primary_not_in_causes + outside
    rows += no_name
    response = await upload(
        client,
        as_csv(rows),
        auth_keys.headers(),
        region="622924100000",  # 城关镇 only
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["imported"], report["failed"], report["households"]) == (1, 6, 7)
    errors = {(e["row"], e["column"]): e["reason"] for e in report["errors"]}
    # header is row 1: good = rows 2–3, checksum 4–5, enum 6–7, heads 8–9, primary 10, outside 11
    assert "check digit" in errors[(5, "身份证号")]
    assert "很强" in errors[(7, "劳动能力")]
    assert "second 户主" in errors[(9, "与户主关系")]
    assert "致贫原因" in errors[(10, "主要致贫原因")]
    assert "outside your region" in errors[(11, "村代码")]
    assert errors[(13, "姓名")] == "required"

    listed = (await client.get("/households", headers=auth_keys.headers())).json()
    assert listed["total"] == 1
    assert listed["items"][0]["member_count"] == 2


async def test_missing_column_is_refused_naming_it(client, auth_keys):
    headers = [h for h in HEADERS if h != "与户主关系"]
    response = await upload(client, as_csv(family("0001"), headers), auth_keys.headers())
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "IMPORT_MISSING_COLUMNS"
    assert "与户主关系" in problem["detail"]


async def test_duplicate_person_in_the_file_and_in_the_register(client, auth_keys):
    registered = household_body(members=1)
    assert (
        await client.post("/households", json=registered, headers=auth_keys.headers())
    ).status_code == 201
    twice = new_id_number()
    rows = (
        family("0001", 2)
        + [person("0002", 身份证号=twice)]
        + [person("0003", 身份证号=twice)]
        + [person("0004", 身份证号=registered["members"][0]["id_number"])]
    )
    report = (await upload(client, as_csv(rows), auth_keys.headers())).json()
    assert (report["imported"], report["failed"]) == (1, 3)
    errors = {(e["row"], e["column"]): e["reason"] for e in report["errors"]}
    assert "row 4" in errors[(5, "身份证号")]
    assert "also on row 5" in errors[(4, "身份证号")]  # both households fail: both say why
    assert "already registered" in errors[(6, "身份证号")]
    failed = {f["household_no"]: f for f in report["failed_households"]}
    assert sorted(failed) == ["0002", "0003", "0004"]
    assert (failed["0002"]["rows"], failed["0003"]["rows"], failed["0004"]["rows"]) == (
        [4],
        [5],
        [6],
    )
    assert failed["0002"]["reason"].startswith("row 4, 身份证号: the same person is also on row 5")
    assert "already registered" in failed["0004"]["reason"]
    listed = (await client.get("/households", headers=auth_keys.headers())).json()
    assert listed["total"] == 2  # the one from the API and 0001


async def test_rerun_imports_nothing_new_and_reports_changed_households(
    client, registry_app, auth_keys
):
    rows = family("0001", 3) + family("0002", 2)
    first = (await upload(client, as_csv(rows), auth_keys.headers())).json()
    assert (first["imported"], first["skipped"]) == (2, 0)
    again = (await upload(client, as_csv(rows), auth_keys.headers())).json()
    assert (again["imported"], again["skipped"], again["skipped_changed"]) == (0, 2, 0)
    assert again["errors"] == []
    assert await scalar(registry_app, f"SELECT count(*) FROM outbox WHERE {NOT_REGION_EVENTS}") == 2
    assert await scalar(registry_app, "SELECT count(*) FROM members") == 5

    rows[0]["贫困状态"] = "已脱贫"
    changed = (await upload(client, as_csv(rows), auth_keys.headers())).json()
    assert (changed["imported"], changed["skipped"], changed["skipped_changed"]) == (0, 2, 1)
    [error] = changed["errors"]
    assert (error["row"], error["column"]) == (2, "户编号")
    assert "贫困状态" in error["reason"] and "not overwritten" in error["reason"]
    state = await scalar(
        registry_app, "SELECT poverty_state FROM households WHERE external_ref LIKE '%-0001'"
    )
    assert state == "registered"


async def test_xlsx_upload_and_the_template(client, auth_keys):
    rows = family("0009", 2)
    rows[0]["识别年度"] = 2016  # number cells, as Excel stores them
    rows[1]["身份证号"] = None
    rows[1]["性别"] = "女"
    rows[1]["出生日期"] = dt.datetime(2024, 2, 29)
    response = await upload(client, as_xlsx(rows), auth_keys.headers(), name="county.xlsx")
    assert response.status_code == 200, response.text
    assert (response.json()["imported"], response.json()["persons_imported"]) == (1, 2)

    template = await client.get("/imports/template.xlsx", headers=auth_keys.headers())
    assert template.status_code == 200
    book = load_workbook(io.BytesIO(template.content))
    assert [c.value for c in book["导入数据"][1]] == HEADERS
    assert book["填写说明"].max_row == len(HEADERS) + 1
    # the template's example household imports as it is
    example = await upload(client, template.content, auth_keys.headers(), name="t.xlsx")
    assert example.json()["imported"] == 1, example.text
    csv_template = await client.get("/imports/template.csv", headers=auth_keys.headers())
    assert csv_template.text.lstrip("\ufeff").split("\r\n")[0].split(",") == HEADERS


async def test_import_needs_write_scope_and_a_county_account(client, auth_keys):
    content = as_csv(family("0001"))
    cadre = await upload(client, content, auth_keys.headers("village_cadre"))
    assert cadre.status_code == 403
    assert cadre.json()["code"] == "MISSING_SCOPE"
    township = await upload(client, content, auth_keys.headers("registry_clerk", "622924100000"))
    assert township.status_code == 403
    assert township.json()["code"] == "IMPORT_NEEDS_COUNTY"
    listed = (await client.get("/households", headers=auth_keys.headers())).json()
    assert listed["total"] == 0


@pytest.fixture
async def small_chunks(stack):
    settings = RegistrySettings(**await stack.settings_for("registry", import_chunk_households=2))
    app = create_app(settings)
    async with running(app) as client:
        await seed_regions(app)
        yield app, client


async def test_a_failed_chunk_leaves_no_half_household_and_a_rerun_completes(
    small_chunks, auth_keys
):
    app, client = small_chunks
    rows = [r for no in ("0001", "0002", "0003", "0004", "0005") for r in family(no, 2)]
    rows[7]["姓名"] = "坏数据"  # a member of 0004, in the second chunk (0003, 0004)
    async with app.state.runtime.sessionmaker() as session:
        # A real database failure in the middle of the chunk's COPY (members after households).
        await session.execute(
            text(
                "CREATE FUNCTION fail_import() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'disk full'; END $$ LANGUAGE plpgsql"
            )
        )
        await session.execute(
            text(
                "CREATE TRIGGER fail_import BEFORE INSERT ON members FOR EACH ROW "
                "WHEN (NEW.name = '坏数据') EXECUTE FUNCTION fail_import()"
            )
        )
        await session.commit()
    interrupted = await upload(client, as_csv(rows), auth_keys.headers())
    assert interrupted.status_code == 503
    assert interrupted.json()["code"] == "IMPORT_INTERRUPTED"
    refs = await _refs(app)
    assert refs == ["0001", "0002"]  # the first chunk only: 0003 went with 0004
    assert await scalar(app, "SELECT count(*) FROM members") == 4
    assert await scalar(app, f"SELECT count(*) FROM outbox WHERE {NOT_REGION_EVENTS}") == 2

    async with app.state.runtime.sessionmaker() as session:
        await session.execute(text("DROP TRIGGER fail_import ON members"))
        await session.commit()
    rerun = (await upload(client, as_csv(rows), auth_keys.headers())).json()
    assert (rerun["imported"], rerun["skipped"]) == (3, 2)
    assert await _refs(app) == ["0001", "0002", "0003", "0004", "0005"]
    assert await scalar(app, f"SELECT count(*) FROM outbox WHERE {NOT_REGION_EVENTS}") == 5


async def _refs(app) -> list[str]:
    async with app.state.runtime.sessionmaker() as session:
        rows = await session.execute(text("SELECT external_ref FROM households ORDER BY 1"))
        return [r.split("-", 1)[1] for r in rows.scalars()]


async def test_five_thousand_persons_in_several_chunks(client, registry_app, auth_keys):
    rows = [r for n in range(1250) for r in family(f"{n:05d}", 4)]
    response = await upload(client, as_csv(rows), auth_keys.headers())
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["imported"], report["persons_imported"], report["failed"]) == (1250, 5000, 0)
    assert await scalar(registry_app, "SELECT count(*) FROM members") == 5000
    assert (
        await scalar(
            registry_app,
            f"SELECT count(DISTINCT aggregate_id) FROM outbox WHERE {NOT_REGION_EVENTS}",
        )
        == 1250
    )
    # the relay publishes them all to JetStream (the gateway's way of learning about them)
    await eventually(
        lambda: scalar(registry_app, "SELECT count(*) FROM outbox WHERE published_at IS NULL"),
        until=lambda pending: pending == 0,
        timeout=180,
    )


async def test_cli_imports_a_file_and_writes_the_error_report(stack, tmp_path, monkeypatch):
    from rich.console import Console

    from registry.imports.__main__ import run

    values = await stack.settings_for("registry")
    app = create_app(RegistrySettings(**values))
    async with running(app):
        await seed_regions(app)
        for name in ("database_url", "pii_hash_key", "pii_encryption_key"):
            monkeypatch.setenv(f"REGISTRY_{name.upper()}", str(values[name]))
        rows = family("0001", 2) + family("0002", 1, 主要致贫原因="因学")
        path = tmp_path / "county.csv"
        path.write_bytes(as_csv(rows))
        errors = tmp_path / "errors.csv"
        code = await run(path, "622924000000", errors, Console(file=io.StringIO()))
        assert code == 0
        assert await scalar(app, "SELECT count(*) FROM households") == 1
        report = list(csv.reader(errors.open(encoding="utf-8-sig")))
        assert report[0] == ["行号", "列名", "原因"]
        assert report[1][:2] == ["4", "主要致贫原因"]
        actor = await scalar(app, "SELECT actor FROM audit_log WHERE entity = 'import'")
        assert actor.startswith("import-cli:")


async def test_a_process_pool_prepares_chunks_with_the_same_result(client, registry_app):
    from kit.auth import Principal
    from registry.imports.service import ImportService

    rows = [r for n in range(24) for r in family(f"{n:04d}", 2)]
    service = ImportService(registry_app.state.vault, chunk_households=5, workers=2)
    actor = Principal("pool-test", frozenset({"registry:write"}), "622924000000")
    seen = []
    report = await service.run(
        registry_app.state.runtime.sessionmaker,
        as_csv(rows),
        "pool.csv",
        actor,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert (report.imported, report.persons_imported, report.errors) == (24, 48, [])
    assert seen[-1] == (48, 48) and len(seen) == 6  # start, then one per chunk
    assert await scalar(registry_app, "SELECT count(*) FROM members") == 48
    assert (
        await scalar(registry_app, f"SELECT count(*) FROM outbox WHERE {NOT_REGION_EVENTS}") == 24
    )


def test_the_shipped_column_documentation_is_current():
    from pathlib import Path

    from registry.imports.reader import TEMPLATE_CSV, template_markdown

    documented = Path(TEMPLATE_CSV).with_name("TEMPLATE.md").read_text(encoding="utf-8")
    assert template_markdown() in documented, "regenerate TEMPLATE.md from template_markdown()"


async def test_background_import_reports_progress_and_its_outcome(client, auth_keys):
    rows = family("0001", 2) + family("0002", 2, 主要致贫原因="因学")
    started = await upload(client, as_csv(rows), auth_keys.headers(), background="true")
    assert started.status_code == 202, started.text
    job = started.json()
    assert started.headers["location"] == f"/imports/{job['id']}"
    assert job["status"] == "running"

    done = await eventually(
        lambda: client.get(f"/imports/{job['id']}", headers=auth_keys.headers()),
        until=lambda r: r.json()["status"] != "running",
    )
    outcome = done.json()
    assert outcome["status"] == "completed"
    assert (outcome["persons_done"], outcome["persons_total"]) == (4, 4)
    report = outcome["report"]
    assert (report["imported"], report["failed"], report["errors_total"]) == (1, 1, 1)
    assert report["errors"][0]["column"] == "主要致贫原因"

    elsewhere = await client.get(
        f"/imports/{job['id']}", headers=auth_keys.headers(region="622923000000")
    )
    assert elsewhere.status_code == 404
    missing = await upload(
        client,
        as_csv(rows, [h for h in HEADERS if h != "姓名"]),
        auth_keys.headers(),
        background="true",
    )
    assert missing.status_code == 422  # the columns are checked before a job starts


async def test_failed_households_are_each_listed_with_their_rows_and_reason(client, auth_keys):
    twice = new_id_number()
    rows = family("0001", 2)  # imported
    rows += family("0002", 2)
    rows[3]["身份证号"] = twice  # 0002's second member (row 5) …
    rows += family("0003", 3)
    rows[6]["身份证号"] = twice  # … is also 0003's second member (row 8)
    rows += family("0004", 2, 主要致贫原因="因学")  # a household rule (rows 9–10)
    rows += [person("", 姓名="无户号")]  # no 户编号 (row 11)
    rows += family("0005", 1, village="622924999999")  # no such village (row 12)
    report = (await upload(client, as_csv(rows), auth_keys.headers())).json()
    assert report["imported"] == 1
    failed = report["failed_households"]
    assert report["failed"] == len(failed) == 5
    assert report["households"] == report["imported"] + report["failed"]
    assert report["errors_total"] == len(report["errors"])
    # every failed household has its rows, a reason, and its error rows among the errors
    error_rows = {e["row"] for e in report["errors"]}
    for household in failed:
        assert household["reason"] and household["errors"] >= 1
        assert household["persons"] == len(household["rows"])
        assert error_rows & set(household["rows"]), household
    # and every error row belongs to a failed household: counts agree
    failed_rows = {row for household in failed for row in household["rows"]}
    assert error_rows <= failed_rows
    by_no = {h["household_no"]: h for h in failed}
    assert by_no["0002"]["rows"] == [4, 5] and "also on row 8" in by_no["0002"]["reason"]
    assert by_no["0003"]["rows"] == [6, 7, 8] and "already on row 5" in by_no["0003"]["reason"]
    assert "主要致贫原因" in by_no["0004"]["reason"]
    assert by_no[""]["reason"] == "row 11, 户编号: required"
    assert "no region with code 622924999999" in by_no["0005"]["reason"]


async def test_control_characters_in_a_cell_are_row_errors_and_the_rest_imports(
    client, registry_app, auth_keys
):
    rows = family("0001", 2) + family("0002", 2) + family("0003", 1) + family("0004", 1)
    rows[1]["姓名"] = "王\x00秀英"  # NUL: PostgreSQL cannot store it
    rows[2]["致贫原因"] = "因病\x07"  # another control character (BEL), a household column
    rows[5]["姓名"] = "马" * 100_000  # kept as a short mark, not as the cell
    response = await upload(client, as_csv(rows), auth_keys.headers())
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["imported"], report["failed"]) == (1, 3)
    errors = {(e["row"], e["column"]): e["reason"] for e in report["errors"]}
    assert errors[(3, "姓名")] == "contains the control character U+0000 (NUL): remove it"
    assert errors[(4, "致贫原因")] == "contains the control character U+0007: remove it"
    assert errors[(7, "姓名")] == "longer than 200 characters"
    assert len(report["errors"]) == 3
    assert await scalar(registry_app, "SELECT count(*) FROM members") == 1


async def test_a_crafted_id_number_fails_its_row_not_the_import(client, registry_app, auth_keys):
    # A prefecture-level address code (6229 02, not a county) with a valid check digit.
    crafted = compose("622902", dt.date(1990, 1, 1), 11)
    rows = family("0001", 2) + family("0002", 2) + family("0003", 2)
    rows[3]["身份证号"] = crafted
    response = await upload(client, as_csv(rows), auth_keys.headers())
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["imported"], report["failed"]) == (2, 1)
    [error] = report["errors"]
    assert (error["row"], error["column"]) == (5, "身份证号")
    assert report["failed_households"][0]["household_no"] == "0002"
    assert await scalar(registry_app, "SELECT count(*) FROM members") == 4


@pytest.fixture
async def small_limits(stack):
    values = await stack.settings_for("registry", import_max_rows=6, import_max_stored_errors=3)
    app = create_app(RegistrySettings(**values))
    async with running(app) as client:
        await seed_regions(app)
        yield app, client


async def test_a_file_over_the_row_limit_is_refused_naming_it_and_nothing_is_stored(
    small_limits, auth_keys
):
    app, client = small_limits
    rows = family("0001", 3) + family("0002", 4)  # 7 rows, the limit is 6
    response = await upload(client, as_csv(rows), auth_keys.headers())
    assert response.status_code == 413
    problem = response.json()
    assert problem["code"] == "IMPORT_TOO_MANY_ROWS"
    assert "more than 6 rows; the limit is 6" in problem["detail"]
    assert "REGISTRY_IMPORT_MAX_ROWS" in problem["detail"]

    started = await upload(client, as_csv(rows), auth_keys.headers(), background="true")
    assert started.status_code == 202
    job = await eventually(
        lambda: client.get(started.headers["location"], headers=auth_keys.headers()),
        until=lambda r: r.json()["status"] != "running",
    )
    assert job.json()["status"] == "refused"
    assert "the limit is 6" in job.json()["report"]["refused"]
    for table in ("households", "members", "workflow_steps"):
        assert await scalar(app, f"SELECT count(*) FROM {table}") == 0
    assert await scalar(app, f"SELECT count(*) FROM outbox WHERE {NOT_REGION_EVENTS}") == 0
    assert await scalar(app, "SELECT count(*) FROM audit_log WHERE entity <> 'region'") == 0

    within = await upload(client, as_csv(rows[:6]), auth_keys.headers())
    assert within.status_code == 200 and within.json()["imported"] == 2  # at the limit: read


async def test_an_xlsx_inflated_absurdly_is_refused_before_it_is_unpacked(
    client, registry_app, auth_keys
):
    rows = family("0001", 2)
    # A real (if odd) workbook: padding under the ratio check's 1 MiB floor imports.
    modest = with_padded_shared_strings(as_xlsx(rows), 900_000)
    assert len(modest) < 10_000
    imported = await upload(client, modest, auth_keys.headers(), name="ok.xlsx")
    assert imported.status_code == 200 and imported.json()["imported"] == 1, imported.text

    crafted = with_padded_shared_strings(as_xlsx(family("0002", 2)), 5_000_000)
    assert len(crafted) < 20_000  # about a thousand to one
    for params in ({}, {"background": "true"}):
        response = await upload(client, crafted, auth_keys.headers(), name="c.xlsx", **params)
        assert response.status_code == 413, response.text
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["code"] == "IMPORT_UNPACKS_TOO_LARGE"
        assert "xl/sharedStrings.xml" in problem["detail"]
        assert "more than 100 to 1" in problem["detail"]
    assert await scalar(registry_app, "SELECT count(*) FROM households") == 1


@pytest.mark.parametrize(
    "content",
    [b"PK\x03\x04 truncated", b"\xef\xbb\xbf\xe6\x88\xb7\xe7\xbc\x96\xe5\x8f\xb7\n"],
    ids=["truncated-zip", "csv-named-xlsx"],
)
async def test_an_xlsx_that_is_not_a_zip_is_unreadable(client, registry_app, auth_keys, content):
    response = await upload(client, content, auth_keys.headers(), name="h.xlsx")
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "IMPORT_UNREADABLE"
    assert "not a valid XLSX file" in response.json()["detail"]


@pytest.fixture
async def small_unpacked_limit(stack):
    values = await stack.settings_for("registry", import_max_unpacked_bytes=1024 * 1024)
    app = create_app(RegistrySettings(**values))
    async with running(app) as client:
        await seed_regions(app)
        yield app, client


async def test_an_xlsx_over_the_unpacked_limit_is_refused_naming_it(
    small_unpacked_limit, auth_keys
):
    app, client = small_unpacked_limit
    # 2 MB in 8 parts of 256 KB: no part reaches the ratio check, the sum is over 1 MiB.
    book = Workbook()
    for i in range(8):
        book.create_sheet(f"s{i}").append(["A" * 32_000] * 8)
    book.remove(book.active)
    book.create_sheet("导入数据", 0).append(HEADERS)
    buffer = io.BytesIO()
    book.save(buffer)
    response = await upload(client, buffer.getvalue(), auth_keys.headers(), name="big.xlsx")
    assert response.status_code == 413, response.text
    problem = response.json()
    assert problem["code"] == "IMPORT_UNPACKS_TOO_LARGE"
    assert "the limit is 1,048,576" in problem["detail"]
    assert "REGISTRY_IMPORT_MAX_UNPACKED_BYTES" in problem["detail"]

    padded = with_padded_shared_strings(as_xlsx(family("0001", 2)), 1_100_000)
    assert (await upload(client, padded, auth_keys.headers(), name="p.xlsx")).status_code == 413
    assert await scalar(app, "SELECT count(*) FROM households") == 0
    within = with_padded_shared_strings(as_xlsx(family("0001", 2)), 500_000)
    accepted = await upload(client, within, auth_keys.headers(), name="w.xlsx")
    assert accepted.status_code == 200 and accepted.json()["imported"] == 1, accepted.text


async def test_the_report_keeps_the_first_errors_and_counts_them_all(small_limits, auth_keys):
    _, client = small_limits
    rows = family("0001", 2) + family("0002", 2) + family("0003", 2)
    for row in rows:
        row["劳动能力"] = "很强"  # one error on each of the 6 rows; 3 are kept
    report = (await upload(client, as_csv(rows), auth_keys.headers())).json()
    assert report["errors_total"] == 6
    assert [e["row"] for e in report["errors"]] == [2, 3, 4]
    assert report["failed"] == 3 and len(report["failed_households"]) == 3


async def test_a_second_import_for_the_county_is_refused_while_one_runs(
    client, registry_app, auth_keys
):
    engine = registry_app.state.runtime.engine
    running_import = await ImportSlot.take(engine, "622924000000", 1)
    try:
        # an import for one township of the county counts as the county's import
        busy = await upload(
            client, as_csv(family("0001")), auth_keys.headers(), region="622924100000"
        )
        assert busy.status_code == 429
        assert busy.json()["code"] == "IMPORT_BUSY"
        assert "the limit is 1 at a time per county" in busy.json()["detail"]
        assert busy.headers["retry-after"] == "60"
        background = await upload(
            client, as_csv(family("0001")), auth_keys.headers(), background="true"
        )
        assert background.status_code == 429
        assert await scalar(registry_app, "SELECT count(*) FROM import_jobs") == 0
        elsewhere = await ImportSlot.take(engine, "622923000000", 1)  # another county: free
        await elsewhere.release()
    finally:
        await running_import.release()
    assert await scalar(registry_app, "SELECT count(*) FROM households") == 0
    done = await upload(client, as_csv(family("0001")), auth_keys.headers(), background="true")
    job = await eventually(
        lambda: client.get(done.headers["location"], headers=auth_keys.headers()),
        until=lambda r: r.json()["status"] != "running",
    )
    assert job.json()["status"] == "completed"
    # the job freed its slot before it said it had ended: the next import may start at once
    again = await upload(client, as_csv(family("0002")), auth_keys.headers())
    assert again.status_code == 200, again.text


def test_first_n_keeps_the_first_errors_by_row_whatever_the_order_they_come_in():
    errors = [RowError(row, "姓名", "x") for row in (9, 3, 7, 1, 8, 2, 5)]
    kept = FirstN(error_order, 3)
    for error in errors[:4]:
        kept.add(error)
    other = FirstN(error_order, 3)
    for error in errors[4:]:
        other.add(error)
    kept.merge(other)
    assert [e.row for e in kept.items()] == [1, 2, 3]
    assert kept.total == 7
    everything = FirstN(error_order, None)
    for error in errors:
        everything.add(error)
    assert [e.row for e in everything.items()] == [1, 2, 3, 5, 7, 8, 9]
