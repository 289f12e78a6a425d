"""A school's roster (学籍花名册) imported: each row matched to a registry person through the
registry's keyed hash (the real registry, over HTTP, with the caller's token), registered
or updated through the students' write path; per-row errors, the unmatched listed
(逐步销号), the same file twice registers nothing new."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
from collections import Counter

import pytest_asyncio
from education_testdata import TOWNSHIP
from openpyxl import Workbook
from registry_testdata import OTHER_VILLAGE, household_body, new_id_number, seed_regions
from sqlalchemy import func, select, text

from contracts.resident_id import check_digit, mask
from devstack.project import repo_root
from devstack.servers import free_port
from devstack.testing import eventually, running, serving
from education.config import EducationSettings
from education.main import create_app as create_education
from education.models import Person
from education.roster.columns import COLUMNS, STUDENT_FIELDS, TEMPLATE_CSV, template_markdown
from education.students.schemas import StudentFields
from registry.config import RegistrySettings
from registry.main import create_app as create_registry

HEADERS = [c.header for c in COLUMNS]
#: A row's cells after 姓名 and 身份证号: a primary-school pupil enrolled this term.
PUPIL = ["广河县城关小学", "小学", "4", "否", "在校", "2026-09-01", "", "", "王老师"]
MAX_ROWS = 12


@pytest_asyncio.fixture
async def services(stack):
    """The registry served over HTTP (education calls it) and education, on one bus."""
    port = free_port()
    registry_app = create_registry(RegistrySettings(**await stack.settings_for("registry")))
    education_app = create_education(
        EducationSettings(
            **await stack.settings_for(
                "education",
                registry_url=f"http://127.0.0.1:{port}",
                roster_max_rows=MAX_ROWS,
            )
        )
    )
    async with contextlib.AsyncExitStack() as exits:
        registry = await exits.enter_async_context(serving(registry_app, port=port))
        education = await exits.enter_async_context(running(education_app))
        await seed_regions(registry_app)
        yield registry, education, education_app


async def children(registry, education_app, auth_keys, region_code=None, count=1):
    """A registry household with ``count`` school-age children, once education knows them:
    their (name, ID number, member id)."""
    body = household_body(members=2, **({"region_code": region_code} if region_code else {}))
    for i in range(count):
        body["members"].append(
            {
                "name": f"马小{'军红兰'[i]}",
                "id_number": new_id_number(dt.date(2016, 5, 1)),
                "relation": "child",
                "labour_capacity": "none",
            }
        )
    created = await registry.post("/households", json=body, headers=auth_keys.headers())
    assert created.status_code == 201, created.text
    members = created.json()["members"][2:]
    ids = [m["id"] for m in members]

    async def known() -> int:
        async with education_app.state.runtime.sessionmaker() as session:
            return await session.scalar(
                select(func.count()).select_from(Person).where(Person.id.in_(ids))
            )

    await eventually(known, until=lambda n: n == len(ids))
    numbers = [m["id_number"] for m in body["members"][2:]]
    return [(m["name"], n, m["id"]) for m, n in zip(members, numbers, strict=True)]


async def student_events(education_app) -> Counter:
    """The student events education has written: {what: how many} (education.student.<what>.…)."""
    async with education_app.state.runtime.sessionmaker() as session:
        subjects = (await session.scalars(text("SELECT subject FROM outbox"))).all()
    return Counter(s.split(".")[2] for s in subjects if s.startswith("education.student."))


def roster_csv(rows: list[list[str]], headers=HEADERS, encoding="utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


async def upload(education, content: bytes, headers, filename="roster.csv"):
    return await education.post("/rosters", files={"file": (filename, content)}, headers=headers)


def wrong_check_digit(number: str) -> str:
    wrong = "0" if check_digit(number[:17]) != "0" else "1"
    return number[:17] + wrong


async def test_a_roster_of_good_bad_unmatched_and_duplicate_rows(services, auth_keys):
    registry, education, education_app = services
    (pupil,), (other,) = (
        await children(registry, education_app, auth_keys),
        await children(registry, education_app, auth_keys, region_code=OTHER_VILLAGE),
    )
    (home_taught, not_projected) = await children(registry, education_app, auth_keys, count=2)
    # A person the registry knows whom education has not learnt yet (its event on the way).
    async with education_app.state.runtime.sessionmaker() as session, session.begin():
        await session.execute(text("DELETE FROM persons WHERE id = :id"), {"id": not_projected[2]})
    nobody = new_id_number(dt.date(2015, 1, 1))
    rows = [
        [pupil[0], pupil[1], *PUPIL],  # 2: registered
        ["马小虎", wrong_check_digit(pupil[1]), *PUPIL],  # 3: invalid ID number
        [pupil[0], pupil[1].lower(), "城关小学", "幼儿园大班", *PUPIL[2:]],  # 4: stage; twice
        ["马小明", nobody, *PUPIL],  # 5: unmatched
        [pupil[0], pupil[1], *PUPIL],  # 6: the same ID number as row 2
        [other[0], other[1], *PUPIL],  # 7: another township's: unmatched for this officer
        [home_taught[0], home_taught[1], *PUPIL[:4], "送教上门", "2026-09-01", "", "", "李老师"],
        [not_projected[0], not_projected[1], *PUPIL],  # 9: not yet known to education
        ["", "", "", "", "", "", "", "", "", "", ""],  # blank: skipped
        ["马小刚", nobody[:17], *PUPIL[:5], "2999-01-01", "", "", ""],  # 11: several cells wrong
    ]
    officer = auth_keys.headers("education_officer", TOWNSHIP)  # 城关镇's officer
    response = await upload(education, roster_csv(rows), officer)
    assert response.status_code == 200, response.text
    report = response.json()
    assert {k: report[k] for k in ("rows", "registered", "updated", "unchanged")} == {
        "rows": 9,
        "registered": 1,
        "updated": 0,
        "unchanged": 0,
    }
    assert (report["errors"], report["unmatched"]) == (6, 2)
    errors = [(e["row"], e["column"]) for e in report["row_errors"]]
    assert errors == [
        (3, "身份证号"),
        (4, "身份证号"),
        (4, "学段"),
        (6, "身份证号"),
        (8, "佐证资料"),
        (9, "身份证号"),
        (11, "身份证号"),
        (11, "状态日期"),
        (11, "责任教师"),
    ]
    reasons = {(e["row"], e["column"]): e["reason"] for e in report["row_errors"]}
    assert "check digit" in reasons[3, "身份证号"]
    assert "幼儿园大班" in reasons[4, "学段"] and "初中" in reasons[4, "学段"]
    assert reasons[6, "身份证号"] == "the same 身份证号 as row 2"
    assert "evidence" in reasons[8, "佐证资料"]
    assert "not yet known to education" in reasons[9, "身份证号"]
    assert reasons[11, "责任教师"] == "required"
    # Without pii:read the unmatched numbers are masked.
    assert report["unmatched_rows"] == [
        {"row": 5, "name": "马小明", "id_number": mask(nobody)},
        {"row": 7, "name": other[0], "id_number": mask(other[1])},
    ]
    assert nobody not in response.text and other[1] not in response.text

    listed = (await education.get("/students", headers=officer)).json()
    assert [(s["person_id"], s["grade"]) for s in listed["items"]] == [(pupil[2], 4)]
    async with education_app.state.runtime.sessionmaker() as session:
        audited = await session.scalar(text("SELECT count(*) FROM audit_log"))
    # The one registration: nothing of the bad rows.
    assert (await student_events(education_app), audited) == ({"registered": 1}, 1)

    # The same file again (as GB18030, as Excel saves it): nothing new, the same report.
    again = await upload(education, roster_csv(rows, encoding="gb18030"), officer)
    assert again.status_code == 200, again.text
    second = again.json()
    assert (second["registered"], second["unchanged"], second["updated"]) == (0, 1, 0)
    assert second["row_errors"] == report["row_errors"]
    assert second["unmatched_rows"] == report["unmatched_rows"]

    # A later roster changes the record: the grade, and a dropout with its date.
    changed = [
        [pupil[0], pupil[1], PUPIL[0], "小学", "5", "", "辍学", "2026-10-08", "", "", "王老师"]
    ]
    third = (await upload(education, roster_csv(changed), officer)).json()
    assert (third["updated"], third["unchanged"], third["errors"]) == (1, 0, 0), third
    student = (await education.get("/students", headers=officer)).json()["items"][0]
    assert (student["grade"], student["enrolment_status"], student["status_since"]) == (
        5,
        "dropped_out",
        "2026-10-08",
    )
    assert await student_events(education_app) == {
        "registered": 1,
        "updated": 1,
        "dropped_out": 1,
    }


async def test_an_xlsx_roster_with_english_headers_shows_numbers_with_pii_read(services, auth_keys):
    registry, education, education_app = services
    (pupil,) = await children(registry, education_app, auth_keys)
    nobody = new_id_number(dt.date(2014, 2, 2))
    book = Workbook()
    sheet = book.active
    sheet.append([c.field for c in COLUMNS])  # the English field names as headers
    # Cells as Excel types them: a number, a date, the stage's code.
    sheet.append(
        [pupil[0], pupil[1], "广河县城关中学", "junior", 1, "是", "", dt.datetime(2026, 9, 1)]
        + ["", "孤儿认定 2026-3", "李老师"]
    )
    sheet.append(["马小明", nobody, *PUPIL])
    buffer = io.BytesIO()
    book.save(buffer)
    content = buffer.getvalue()
    scopes = ("education:read", "education:write", "registry:read", "pii:read")
    with_pii = auth_keys.headers("education_officer", scopes=scopes)
    response = await upload(education, content, with_pii, filename="roster.xlsx")
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["registered"], report["errors"], report["unmatched"]) == (1, 0, 1), report
    assert report["unmatched_rows"] == [{"row": 3, "name": "马小明", "id_number": nobody}]
    student = (await education.get("/students", headers=with_pii)).json()["items"][0]
    assert (student["stage"], student["grade"], student["boarding"]) == ("junior", 1, True)
    assert (student["status_since"], student["hardship_evidence"]) == (
        "2026-09-01",
        "孤儿认定 2026-3",
    )

    again = (await upload(education, content, with_pii, filename="roster.xlsx")).json()
    assert (again["registered"], again["unchanged"]) == (0, 1)


async def test_a_roster_without_a_column_or_with_too_many_rows_imports_nothing(services, auth_keys):
    _, education, _ = services
    officer = auth_keys.headers("education_officer")
    missing = await upload(education, roster_csv([], headers=HEADERS[:-1]), officer)
    assert missing.status_code == 422, missing.text
    assert missing.json()["code"] == "IMPORT_MISSING_COLUMNS"
    assert "责任教师" in missing.json()["detail"]

    rows = [["马小明", new_id_number(dt.date(2015, 1, 1)), *PUPIL] for _ in range(MAX_ROWS + 1)]
    too_many = await upload(education, roster_csv(rows), officer)
    assert too_many.status_code == 413
    assert too_many.json()["code"] == "IMPORT_TOO_MANY_ROWS"
    listed = (await education.get("/students", headers=officer)).json()
    assert listed["total"] == 0

    # The shipped template reads without an error (its examples match nobody here).
    template = await education.get("/rosters/template.csv", headers=officer)
    assert template.status_code == 200 and template.content == TEMPLATE_CSV.read_bytes()
    report = (await upload(education, template.content, officer)).json()
    assert (report["rows"], report["errors"], report["unmatched"]) == (2, 0, 2), report


async def test_without_the_registry_nothing_is_imported(stack, auth_keys):
    settings = await stack.settings_for("education", registry_url=f"http://127.0.0.1:{free_port()}")
    async with running(create_education(EducationSettings(**settings))) as education:
        officer = auth_keys.headers("education_officer")
        rows = [["马小明", new_id_number(dt.date(2015, 1, 1)), *PUPIL]]
        response = await upload(education, roster_csv(rows), officer)
        assert response.status_code == 503
        assert response.json()["code"] == "REGISTRY_UNAVAILABLE"


def test_the_columns_are_a_registrations_fields():
    assert {c.field for c in STUDENT_FIELDS} == set(StudentFields.model_fields)


def test_the_documented_template_is_current():
    documented = (repo_root() / "docs" / "domain" / "education.md").read_text(encoding="utf-8")
    assert template_markdown() in documented, "regenerate the table from template_markdown()"
