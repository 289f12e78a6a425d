"""Education's reports (DOMAIN §3.3) through the API: 资助全覆盖, the summary of a region and
term equal to a recount of the records, both limited to the caller's region, and the check
of a reported aid total (fixture #1, DOMAIN §11)."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from education_testdata import COUNTY, TOWNSHIP
from test_grants import a_student, grant_body
from test_students import OTHER_TOWNSHIP

from devstack.registry_payloads import VILLAGE

OTHER_VILLAGE = OTHER_TOWNSHIP[:9] + "201"


async def a_term_of_grants(client, app, auth_keys) -> dict[str, dict]:
    """Students of two townships, some paid, by a letter each:

    - A, a primary boarder paid both programmes owed this autumn; B, a junior day pupil
      paid nothing; C of a household not registered poor; D dropped out; E, a 中职 student
      paid the one-off a year ago and this year's fee waiver and grant; G in 送教上门 with
      its evidence, paid nothing: all in VILLAGE;
    - F, a primary pupil of OTHER_VILLAGE (another township), paid nothing.
    """
    officer = auth_keys.headers("education_officer", VILLAGE)
    other = auth_keys.headers("education_officer", OTHER_VILLAGE)
    s = {
        "A": await a_student(client, app, officer, boarding=True),
        "B": await a_student(client, app, officer, stage="junior", grade=1),
        "C": await a_student(client, app, officer, household={"poverty_state": "rejected"}),
        "D": await a_student(client, app, officer),
        "E": await a_student(client, app, officer, stage="secondary_vocational", grade=2),
        "G": await a_student(
            client, app, officer, enrolment_status="home_teaching", evidence="送教上门 2026-3"
        ),
        "F": await a_student(client, app, other, household={"region_code": OTHER_VILLAGE}),
    }
    for letter, programme, amount, fields in (
        ("A", "boarding_allowance", "500.00", {}),
        ("A", "nutrition", "400.00", {}),
        ("E", "vocational_one_off", "3000.00", {"school_year": 2025, "paid_on": "2025-10-15"}),
        ("E", "vocational_fee_waiver", "1500.00", {}),
        ("E", "vocational_grant", "1000.00", {}),
        ("E", "vocational_grant", "1000.00", {"term": "spring", "paid_on": "2026-11-30"}),
        ("D", "nutrition", "200.00", {}),  # paid before the dropout
    ):
        body = grant_body(s[letter]["id"], programme, amount, **fields)
        paid = await client.post("/grants", json=body, headers=officer)
        assert paid.status_code == 201, paid.text
    dropped = {"enrolment_status": "dropped_out", "status_since": "2026-11-02"}
    changed = await client.patch(f"/students/{s['D']['id']}", json=dropped, headers=officer)
    assert changed.status_code == 200, changed.text
    return s


async def test_coverage_lists_who_was_not_paid_every_programme_owed(
    client, education_app, auth_keys
):
    s = await a_term_of_grants(client, education_app, auth_keys)
    county = auth_keys.headers("education_officer", COUNTY)
    report = await client.get("/reports/coverage", params={"school_year": 2026}, headers=county)
    assert report.status_code == 200, report.text
    body = report.json()
    # Owed: A, B, E, G and F (C is not registered poor, D is not at school any more).
    assert body["counts"] == {"entitled": 5, "fully_covered": 2, "not_covered": 3}
    missing = {g["student_id"]: g["missing"] for g in body["students"]["items"]}
    assert missing == {
        s["B"]["id"]: ["nutrition"],
        s["G"]["id"]: ["nutrition"],
        s["F"]["id"]: ["nutrition"],
    }
    assert body["students"]["total"] == 3

    # A page at a time.
    paged = await client.get(
        "/reports/coverage", params={"school_year": 2026, "size": 2, "page": 2}, headers=county
    )
    assert len(paged.json()["students"]["items"]) == 1

    # The spring term: A was paid in autumn only; E's one-off counts whenever it was paid.
    spring = await client.get(
        "/reports/coverage", params={"school_year": 2026, "term": "spring"}, headers=county
    )
    by_student = {g["student_id"]: g["missing"] for g in spring.json()["students"]["items"]}
    assert by_student[s["A"]["id"]] == ["boarding_allowance", "nutrition"]
    assert by_student[s["E"]["id"]] == ["vocational_fee_waiver"]

    # A township's officer sees the township only, and may not ask for the county.
    township = auth_keys.headers("education_officer", TOWNSHIP)
    own = await client.get("/reports/coverage", params={"school_year": 2026}, headers=township)
    assert own.json()["counts"] == {"entitled": 4, "fully_covered": 2, "not_covered": 2}
    assert s["F"]["id"] not in {g["student_id"] for g in own.json()["students"]["items"]}
    above = await client.get(
        "/reports/coverage", params={"school_year": 2026, "region": COUNTY}, headers=township
    )
    assert above.status_code == 403


async def _all(client, url, headers, **params) -> list[dict]:
    items, page = [], 1
    while True:
        found = (
            await client.get(url, params={**params, "page": page, "size": 200}, headers=headers)
        ).json()
        items += found["items"]
        if len(items) >= found["total"]:
            return items
        page += 1


async def test_the_summary_equals_a_recount(client, education_app, auth_keys):
    await a_term_of_grants(client, education_app, auth_keys)
    for region, token_region in ((COUNTY, COUNTY), (TOWNSHIP, TOWNSHIP)):
        headers = auth_keys.headers("education_officer", token_region)
        for term in (None, "autumn", "spring"):
            params = {"school_year": 2026, "region": region}
            if term:
                params["term"] = term
            report = await client.get("/reports/summary", params=params, headers=headers)
            assert report.status_code == 200, report.text
            summary = report.json()

            students = await _all(client, "/students", headers, region=region)
            by_stage = Counter((s["stage"], s["enrolment_status"]) for s in students)
            assert {
                (row["stage"], row["enrolment_status"]): row["students"]
                for row in summary["students"]
            } == by_stage
            assert summary["students_total"] == len(students)
            assert summary["dropouts"] == sum(
                s["enrolment_status"] == "dropped_out" for s in students
            )
            cases = await _all(client, "/cases", headers, region=region)
            by_outcome = Counter(c["outcome"] or c["status"] for c in cases)
            assert summary["cases"] == {
                "open": by_outcome["open"],
                "overdue": sum(c["overdue"] for c in cases),
                "returned": by_outcome["returned"],
                "alternative_mode": by_outcome["alternative_mode"],
                "exempt": by_outcome["exempt"],
            }

            grant_filter = {"school_year": 2026, **({"term": term} if term else {})}
            paid = await _all(client, "/grants", headers, region=region, **grant_filter)
            recount: dict[str, dict] = {}
            for g in paid:
                line = recount.setdefault(
                    g["programme"], {"grants": 0, "students": set(), "amount": Decimal(0)}
                )
                line["grants"] += 1
                line["students"].add(g["student_id"])
                line["amount"] += Decimal(g["amount"])
            assert {
                row["programme"]: (row["grants"], row["students"], Decimal(row["amount"]))
                for row in summary["aid"]
            } == {p: (r["grants"], len(r["students"]), r["amount"]) for p, r in recount.items()}
            total = summary["aid_total"]
            amount = sum((Decimal(g["amount"]) for g in paid), Decimal(0))
            assert (total["grants"], Decimal(total["amount"])) == (len(paid), amount)
            assert total["students"] == len({g["student_id"] for g in paid})
            assert Decimal(total["amount_wan"]) == amount / 10_000

            coverage = await client.get("/reports/coverage", params=params, headers=headers)
            assert summary["coverage"] == coverage.json()["counts"]

    # The figures themselves, for the county's school year: A 900, E 3500 (the one-off was
    # the year before), D 200.
    county = auth_keys.headers("education_officer", COUNTY)
    summary = (
        await client.get("/reports/summary", params={"school_year": 2026}, headers=county)
    ).json()
    assert (summary["students_total"], summary["dropouts"]) == (7, 1)
    assert (summary["cases"]["open"], summary["cases"]["returned"]) == (1, 0)  # D's 劝返 case
    assert summary["aid_total"]["grants"] == 6
    assert Decimal(summary["aid_total"]["amount"]) == Decimal("4600.00")
    assert Decimal(summary["aid_total"]["amount_wan"]) == Decimal("0.46")
    vocational = next(r for r in summary["aid"] if r["programme"] == "vocational_grant")
    assert (vocational["grants"], vocational["students"]) == (2, 1)  # 2 人次, 1 student

    township = auth_keys.headers("education_officer", TOWNSHIP)
    above = await client.get(
        "/reports/summary", params={"school_year": 2026, "region": COUNTY}, headers=township
    )
    assert above.status_code == 403


FIXTURE_1 = {  # DOMAIN §11 #1: a township's aid report [001]
    "stated_students": 111,
    "stated_amount": "115477.5",
    "lines": [
        {"label": "学前教育", "students": 9, "parts": [{"amount": "4500"}]},
        {"label": "小学 (寄宿生 21)", "students": 51, "parts": [{"amount": "29742.5"}]},
        {"label": "初中 (寄宿生 12)", "students": 26, "parts": [{"amount": "21085"}]},
        {"label": "普通高中", "students": 12, "parts": [{"amount": "28050"}]},
        {
            "label": "中职",
            "students": 13,
            "parts": [{"count": 13, "rate": "1500"}, {"count": 9, "rate": "1400"}],
        },
    ],
}


async def test_fixture_1_adds_up_and_a_changed_total_does_not(client, auth_keys):
    headers = auth_keys.headers("education_officer", TOWNSHIP)
    url = "/reports/reconciliations"
    answer = await client.post(url, json=FIXTURE_1, headers=headers)
    assert answer.status_code == 200, answer.text
    check = answer.json()
    assert check["adds_up"] and check["computed_students"] == 111
    assert Decimal(check["amount"]["computed"]) == Decimal("115477.5")
    assert Decimal(check["amount"]["difference"]) == 0

    changed = (
        await client.post(url, json={**FIXTURE_1, "stated_amount": "115477"}, headers=headers)
    ).json()
    assert not changed["adds_up"] and not changed["amount"]["adds_up"]
    assert Decimal(changed["amount"]["difference"]) == Decimal("0.5")
    more = (
        await client.post(url, json={**FIXTURE_1, "stated_students": 112}, headers=headers)
    ).json()
    assert not more["adds_up"] and more["amount"]["adds_up"]
    assert more["students_difference"] == -1
    in_wan = {**FIXTURE_1, "stated_amount": "11.54775", "unit": "wan"}
    assert (await client.post(url, json=in_wan, headers=headers)).json()["adds_up"]

    bad = {**FIXTURE_1, "lines": [{"label": "x", "students": 1, "parts": [{"count": 1}]}]}
    refused = await client.post(url, json=bad, headers=headers)
    assert refused.status_code == 422
