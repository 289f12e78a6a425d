"""Request bodies for registry tests."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import re

from contracts.resident_id import compose

VILLAGE = "622924100201"  # 城关镇 first village of the test regions
OTHER_VILLAGE = "622924101201"
_sequence = itertools.count(1)
#: Outbox rows other than the seeded regions' own events (SQL condition).
NOT_REGION_EVENTS = "event_type <> 'cn.jingzhun.registry.region.updated.v1'"
EXISTING_FILE = {
    "name": "建档立卡档案",
    "sha256": "0" * 64,
    "location": "archive://622924/households",
}


def new_id_number(born: dt.date = dt.date(1975, 3, 8), male: bool = True) -> str:
    """A valid, never-before-used ID number (address 622924 广河县)."""
    n = next(_sequence)
    day = born + dt.timedelta(days=n // 400)
    seq = (n % 400) * 2 + (1 if male else 2)
    return compose("622924", day, seq)


def household_body(region_code: str = VILLAGE, members: int = 3, **overrides) -> dict:
    relations = ["head", "spouse", "child", "child", "parent"]
    body = {
        "region_code": region_code,
        "group_no": 2,
        "poverty_state": "registered",
        "assistance_type": "general",
        "monitoring_category": "none",
        "causes": ["illness", "lack_funds"],
        "primary_cause": "illness",
        "identified_year": 2016,
        "survey": {"survey_year": 2025, "per_capita_net_income": "2800.50"},
        "evidence": [EXISTING_FILE],
        "members": [
            {
                "name": name,
                "id_number": new_id_number(dt.date(1970 + 12 * (i == 2), 5, 1), male=i != 1),
                "relation": relations[i],
                "labour_capacity": "able",
            }
            for i, name in enumerate(["马建国", "王秀英", "马小龙", "马小红", "马老汉"][:members])
        ],
    }
    body.update(overrides)
    return body


def member_without_id_number(born: dt.date | None = None, name: str = "马小宝") -> dict:
    """A member with no ID number yet (a newborn, 户口 pending): normal, and every consumer
    of the registry's events must take it. Born a month ago unless said."""
    born = born or dt.date.today() - dt.timedelta(days=30)
    return {"name": name, "gender": "female", "birth_date": born.isoformat(), "relation": "child"}


async def households_with_a_member_without_id_number(client, headers) -> list[dict]:
    """Two households of two members, one of them without an ID number: one registered so,
    one given a newborn by a birth adjustment (the README's example: ``change: join``,
    ``cause: birth``, no ``id_number``). Returns both as the registry answers them last."""
    with_newborn = household_body(members=2)
    with_newborn["members"][1] = member_without_id_number(name="马小花")
    created = await client.post("/households", json=with_newborn, headers=headers)
    assert created.status_code == 201, created.text
    born = await client.post("/households", json=household_body(members=1), headers=headers)
    assert born.status_code == 201, born.text
    birth = await client.post(
        f"/households/{born.json()['id']}/adjustments",
        json={
            "change": "join",
            "cause": "birth",
            "member": member_without_id_number(),
            "reason_text": "新生儿",
            "evidence": [EXISTING_FILE],
        },
        headers=headers,
    )
    assert birth.status_code == 200, birth.text
    households = [created.json(), birth.json()]
    for household in households:
        assert len(household["members"]) == 2
        assert [m["id_pending"] for m in household["members"]].count(True) == 1
    return households


REGIONS = [
    ("620000000000", "甘肃省", "province", None),
    ("622900000000", "临夏回族自治州", "city", "620000000000"),
    ("622924000000", "广河县", "county", "622900000000"),
    ("622924100000", "城关镇", "township", "622924000000"),
    ("622924101000", "三甲集镇", "township", "622924000000"),
    (VILLAGE, "城关村", "village", "622924100000"),
    ("622924100202", "南关村", "village", "622924100000"),
    (OTHER_VILLAGE, "三甲集村", "village", "622924101000"),
]


def region_payloads() -> list:
    from contracts.events.registry import RegionUpdated

    return [RegionUpdated(code=c, name=n, level=lv, parent_code=p) for c, n, lv, p in REGIONS]


async def seed_regions(app) -> None:
    """Write the test region tree into a running registry app's database, as the registry
    writes regions (with their ``registry.region.updated`` events)."""
    from registry.regions.service import upsert_regions

    async with app.state.runtime.sessionmaker() as session:
        await upsert_regions(session, region_payloads())
        await session.commit()


def _renumbered(match: re.Match, batch: int) -> str:
    """The same person's ID number with a sequence no other test data uses (800–999)."""
    address, born, sequence, _ = match.groups()
    day = dt.datetime.strptime(born, "%Y%m%d").date() + dt.timedelta(days=batch // 100)
    return compose(address, day, 800 + (batch % 100) * 2 % 200 + int(sequence) % 2)


async def hostile_seed(app, client, stack):
    """Real rows for the hostile-input suite (tests/test_hostile_input.py): a registered
    household, a helper assigned to it, an alert, a household in its village 公示 with an
    objection, and the import template as a file."""
    from workflow_steps import (
        DOC,
        SURVEY,
        new_candidate,
        ok_step,
        open_publicity,
        to_village_publicity,
    )

    from devstack.hostile import Seed

    await seed_regions(app)
    headers = stack.keys.headers()

    async def created(path: str, body: dict, status: int = 201) -> dict:
        response = await client.post(path, json=body, headers=headers)
        assert response.status_code == status, (path, response.text)
        return response.json()

    household = await created("/households", household_body(members=3))
    hid = household["id"]
    other = await created("/households", household_body(members=2))
    stepping = await created("/households", household_body(members=2))
    helper = await created(
        "/helpers",
        {
            "name": "李科长",
            "rank": "section_level",
            "work_unit": "县农业农村局",
            "region_code": VILLAGE,
        },
    )
    assignment = await created(f"/households/{hid}/helper-assignments", {"helper_id": helper["id"]})
    alert = await created(
        "/alerts", {"household_id": hid, "note": "户主外出务工受伤", "evidence": [DOC]}
    )
    candidate = await new_candidate(client, headers)
    await to_village_publicity(client, candidate, headers)
    publicity = await open_publicity(client, candidate, headers)
    objection = await created(
        f"/publicities/{publicity['id']}/objections",
        {"content": "收入不实", "filed_by": "村民甲"},
    )
    # Households in the state a step needs, one per probe until they run out (a refused
    # probe leaves its household as it was for the next one).
    candidates = [await new_candidate(client, headers) for _ in range(12)]
    applied = [await new_candidate(client, headers) for _ in range(12)]
    for household_id in applied:
        await ok_step(client, household_id, "apply", headers)
    template = (await client.get("/imports/template.csv", headers=headers)).content

    def upload() -> dict:
        """The template with new 户编号 and ID numbers (a household imported before is
        skipped), the probes in the first name."""
        batch = next(_sequence)
        rows = list(csv.reader(io.StringIO(template.decode("utf-8-sig"))))
        for row in rows[1:]:
            row[2] = f"T{batch}-{row[2]}"  # 户编号
            row[6] = re.sub(
                r"^(\d{6})(\d{8})(\d{3})([\dX])$", lambda m: _renumbered(m, batch), row[6]
            )
        rows[1][5] = rows[1][5][:1] + "{probe}" + rows[1][5][1:]  # 姓名 of the first row
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        return {"file": ("households.csv", out.getvalue().encode(), "text/csv")}

    head_id_number = household_body()["members"][0]["id_number"]  # unused number: a 404 lookup
    return Seed(
        values={
            "household_id": hid,
            "member_id": household["members"][2]["id"],
            "helper_id": helper["id"],
            "assignment_id": assignment["id"],
            "alert_id": alert["id"],
            "publicity_id": publicity["id"],
            "objection_id": objection["id"],
            "region": VILLAGE,
            "region_code": VILLAGE,
            "code": VILLAGE,
            "key": "poverty_line",
            "evidence": [DOC],
            "id_number": lambda: new_id_number(),
            "to_household_id": candidate,
        },
        # A refused registration of a number held elsewhere is audited on purpose.
        refusal_audit={"audit_log": "action = 'person.registration_refused'"},
        bodies={
            "POST /households": lambda: household_body(members=2),
            "POST /households/{household_id}/members": lambda: {
                "name": "马小花",
                "id_number": new_id_number(dt.date(2001, 2, 3), male=False),
                "relation": "child",
            },
            "POST /persons/lookup": {"id_number": head_id_number},
            "PATCH /households/{household_id}": {"group_no": 3},
            "PATCH /households/{household_id}/members/{member_id}": {"labour_capacity": "weak"},
            "POST /households/{household_id}/adjustments join": {
                "change": "join",
                "cause": "birth",
                "member": {
                    "name": "马小宝",
                    "gender": "female",
                    "birth_date": "2026-07-01",
                    "relation": "grandchild",
                },
                "effective_month": "2026-07",
                "reason_text": "新生儿",
                "evidence": [DOC],
            },
            "POST /households/{household_id}/adjustments leave": {
                "change": "leave",
                "cause": "death",
                "member_id": household["members"][1]["id"],
                "reason_text": "病故",
                "evidence": [DOC],
            },
            "POST /households/{household_id}/adjustments move": {
                "change": "move",
                "cause": "marriage",
                "member_id": household["members"][1]["id"],
                "to_household_id": other["id"],
                "relation": "child_in_law",
                "reason_text": "出嫁",
                "evidence": [DOC],
            },
            "POST /households/{household_id}/transitions survey": {
                "action": "survey",
                "evidence": [DOC],
                **SURVEY,
            },
            "POST /objections/{objection_id}/resolution": {
                "outcome": "upheld",
                "consequence": "resurvey",
                "finding": "核实属实",
                "evidence": [DOC],
            },
            "POST /alerts/{alert_id}/transitions": {
                "action": "assess",
                "assessment": "unstable_exited",
                "note": "因病支出大",
            },
            "PUT /policy/{key}": {
                "region_code": "622924000000",
                "year": 2027,
                "value": "4000",
                "reason": "县政发〔2027〕1号",
            },
        },
        files={"POST /imports": upload},
        path_params={
            # the other steps (removal among them) on a household of their own
            "POST /households/{household_id}/transitions": {"household_id": stepping["id"]},
            "POST /households/{household_id}/transitions apply": {
                "household_id": itertools.cycle(candidates).__next__
            },
            "POST /households/{household_id}/transitions survey": {
                "household_id": itertools.cycle(applied).__next__
            },
        },
    )
