"""Request bodies for registry tests."""

from __future__ import annotations

import datetime as dt
import itertools

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
