"""The compulsory-education check (义务教育 排查, DOMAIN §3.1): household members of
compulsory age today who are neither enrolled nor in an evidenced alternative mode, per
village and school, at the age and stage boundaries, within the caller's region."""

from __future__ import annotations

import datetime as dt

from education_testdata import COUNTY, TOWNSHIP
from test_students import OTHER_TOWNSHIP, a_household, student_body

from contracts.enums import EnrolmentStatus, SchoolStage
from devstack.registry_payloads import VILLAGE
from education.compulsory import finished_stage
from kit.clock import FixedClock

#: In the autumn term (from 1 September).
TODAY = dt.date(2026, 11, 20)
OTHER_VILLAGE = OTHER_TOWNSHIP[:9] + "201"


async def a_child(app, name: str, born: str, region_code: str = VILLAGE) -> str:
    _, child = await a_household(app, "家长", name, child_born=born, region_code=region_code)
    return child


async def test_the_check_lists_the_compulsory_age_members_out_of_school(
    client, education_app, auth_keys
):
    education_app.state.clock = FixedClock(TODAY)
    officer = auth_keys.headers("education_officer", VILLAGE)

    async def student(name: str, born: str, **fields) -> dict:
        body = student_body(await a_child(education_app, name, born), **fields)
        created = await client.post("/students", json=body, headers=officer)
        assert created.status_code == 201, created.text
        return created.json()

    # Turned 16 on 1 October, mid-term: still owed the rest of the term; no 学籍 matched.
    await a_child(education_app, "马十六", "2010-10-01")
    # Turned 16 the day before the autumn term started: past compulsory age.
    await a_child(education_app, "马已过", "2010-08-31")
    # Six today, and six tomorrow.
    await a_child(education_app, "马六岁", "2020-11-20")
    await a_child(education_app, "马五岁", "2020-11-21")
    # Finished junior high at 14: done with compulsory education.
    junior = dict(school_name="广河县第二中学", stage="junior", grade=3)
    await student("马初毕", "2012-03-01", enrolment_status="graduated", **junior)
    # Left after primary school at 14: out of school.
    left = await student("马小毕", "2012-03-01", enrolment_status="graduated", grade=6)
    # Enrolled, or at home with its evidence: schooled.
    await student("马在校", "2016-05-01")
    home = dict(enrolment_status="home_teaching", evidence="送教上门 登记表 2026-017")
    await student("马送教", "2016-05-01", **home)
    # Dropped out: listed, with the case it opened.
    dropout = await student("马辍学", "2013-05-01", **junior | {"grade": 1})
    dropped = {"enrolment_status": "dropped_out", "status_since": "2026-11-02"}
    changed = await client.patch(f"/students/{dropout['id']}", json=dropped, headers=officer)
    assert changed.status_code == 200, changed.text
    # In another township: the county sees them, the township does not.
    await a_child(education_app, "马外乡", "2016-05-01", region_code=OTHER_VILLAGE)

    township = auth_keys.headers("education_officer", TOWNSHIP)
    response = await client.get("/compulsory-check", headers=township)
    assert response.status_code == 200, response.text
    check = response.json()
    listed = {c["person_name"]: c for c in check["items"]}
    assert {name: c["reason"] for name, c in listed.items()} == {
        "马十六": "NO_STUDENT_RECORD",
        "马六岁": "NO_STUDENT_RECORD",
        "马小毕": "OUT_OF_SCHOOL",
        "马辍学": "DROPOUT",
    }
    assert check["total"] == 4 and check["on"] == "2026-11-20"
    assert (listed["马十六"]["age"], listed["马六岁"]["age"]) == (16, 6)
    assert (listed["马小毕"]["student_id"], listed["马小毕"]["school_name"]) == (
        left["id"],
        "广河县城关小学",
    )
    assert listed["马辍学"]["open_case_id"] is not None  # the dropout opened a 劝返 case
    assert listed["马十六"]["student_id"] is None
    # Names and ages, never ID numbers or birth dates.
    assert not {"id_number", "birth_date"} & set(check["items"][0])
    assert check["by_village"] == [
        {
            "region_code": VILLAGE,
            "dropped_out": 1,
            "out_of_school": 1,
            "no_student_record": 2,
            "total": 4,
        }
    ]
    assert check["by_school"] == [
        {"school_name": "广河县城关小学", "dropped_out": 0, "out_of_school": 1, "total": 1},
        {"school_name": "广河县第二中学", "dropped_out": 1, "out_of_school": 0, "total": 1},
    ]

    # Paginated: the counts are the whole region's, the items one page.
    paged = await client.get("/compulsory-check", params={"size": 3, "page": 2}, headers=township)
    assert (paged.json()["total"], len(paged.json()["items"])) == (4, 1)

    county = await client.get(
        "/compulsory-check", headers=auth_keys.headers("education_officer", COUNTY)
    )
    assert county.json()["total"] == 5
    assert [v["region_code"] for v in county.json()["by_village"]] == [VILLAGE, OTHER_VILLAGE]
    outside = await client.get(
        "/compulsory-check", params={"region": OTHER_TOWNSHIP}, headers=township
    )
    assert outside.status_code == 403


async def test_the_ages_are_the_policys_of_each_village(client, education_app, auth_keys):
    education_app.state.clock = FixedClock(TODAY)
    # Compulsory until 17 in the other township from 2026: its 16-year-old is listed there,
    # the same child here is not.
    admin = auth_keys.headers("county_admin", COUNTY)
    override = {"region_code": OTHER_TOWNSHIP, "year": 2026, "value": 16, "reason": "试点"}
    changed = await client.put("/policy/compulsory.max_age", json=override, headers=admin)
    assert changed.status_code == 200, changed.text
    await a_child(education_app, "马本乡", "2010-08-31")
    await a_child(education_app, "马外乡", "2010-08-31", region_code=OTHER_VILLAGE)
    county = auth_keys.headers("education_officer", COUNTY)
    check = (await client.get("/compulsory-check", headers=county)).json()
    assert [(c["person_name"], c["region_code"]) for c in check["items"]] == [
        ("马外乡", OTHER_VILLAGE)
    ]


def test_the_stage_a_student_record_shows_finished():
    graduated, dropped_out = EnrolmentStatus.graduated, EnrolmentStatus.dropped_out
    assert finished_stage(SchoolStage.junior, graduated) is SchoolStage.junior
    assert finished_stage(SchoolStage.primary, graduated) is SchoolStage.primary  # not enough
    assert finished_stage(SchoolStage.junior, dropped_out) is None
    # Past junior high, it was finished whatever the status now.
    assert finished_stage(SchoolStage.senior_high, dropped_out) is SchoolStage.junior
