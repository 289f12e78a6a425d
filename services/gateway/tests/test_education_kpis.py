"""Education's KPIs in the region statistics: compulsory-age children, in school, 入学率,
dropouts and aid by programme, moved by education's events, equal to a recount, and the
same again after a rebuild."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from gateway_testdata import (
    VILLAGE,
    applied,
    counters,
    envelope,
    projection_state,
    publish_to,
)

from contracts.events import education
from contracts.status import DimensionFact
from gateway.rebuild import rebuild
from kit.clock import FixedClock

COUNTY = "622924000000"
OTHER_VILLAGE = "622924100202"


def assessed(hid, sequence, *, compulsory_age, in_school, dropped_out=0, region=VILLAGE):
    unmatched = compulsory_age - in_school - dropped_out
    status, reason = (
        ("not_ok", "DROPOUT")
        if dropped_out
        else ("unknown", "NO_STUDENT_RECORD")
        if unmatched
        else ("ok", None)
    )
    payload = education.EducationAssessed(
        household_id=hid,
        region_code=region,
        policy_year=2026,
        education=DimensionFact(
            status=status,
            reason=reason,
            as_of=f"2026-10-{sequence:02d}T09:00:00+08:00",
        ),
        compulsory_age=compulsory_age,
        in_school=in_school,
        dropped_out=dropped_out,
        unmatched=unmatched,
    )
    spec = education.EDUCATION_ASSESSED
    return envelope(spec, payload, subject=hid, sequence=sequence, region=region)


def paid(programme, amount, school_year=2026, region=VILLAGE):
    payload = education.AidPaid(
        grant_id=uuid.uuid4(),
        student_id=uuid.uuid4(),
        household_id=uuid.uuid4(),
        person_id=uuid.uuid4(),
        region_code=region,
        policy_year=school_year,
        programme=programme,
        stage="primary" if programme == "nutrition" else "university",
        school_year=school_year,
        term="autumn",
        amount=amount,
        paid_on=f"{school_year}-10-15",
    )
    return envelope(
        education.AID_PAID, payload, subject=payload.grant_id, sequence=1, region=region
    )


async def test_education_kpis_follow_its_events_and_equal_a_recount(
    client, gateway_app, js, auth_keys
):
    first, second = uuid.uuid4(), uuid.uuid4()
    published = [
        (
            education.EDUCATION_ASSESSED,
            assessed(first, 1, compulsory_age=2, in_school=1, dropped_out=1),
        ),
        (
            education.EDUCATION_ASSESSED,
            assessed(second, 1, compulsory_age=1, in_school=0, region=OTHER_VILLAGE),
        ),
        (education.AID_PAID, paid("nutrition", "400.00")),
        (education.AID_PAID, paid("nutrition", "400.00", region=OTHER_VILLAGE)),
        (education.AID_PAID, paid("yulu", "1500.00")),
        (education.AID_PAID, paid("nutrition", "800.00", school_year=2025)),
    ]
    for spec, body in published:
        await publish_to(js, spec, body, region=body["data"]["region_code"])
    await applied(gateway_app, len(published))

    async def kpis(year: int | None = 2026, region=COUNTY):
        params = {} if year is None else {"year": year}
        response = await client.get(
            f"/regions/{region}/stats", params=params, headers=auth_keys.headers()
        )
        assert response.status_code == 200, response.text
        kpis = response.json()["kpis"]
        return {k: Decimal(v) for k, v in kpis.items()}

    assert await kpis() == {
        "education.compulsory_age": 3,
        "education.in_school": 1,
        "education.enrolment_rate": Decimal("0.3333"),  # 入学率
        "education.dropped_out": 1,
        "education.unmatched": 1,
        "education.aid.nutrition.grants": 2,  # 人次
        "education.aid.nutrition.amount": Decimal("800.00"),
        "education.aid.yulu.grants": 1,
        "education.aid.yulu.amount": Decimal("1500.00"),
    }
    village = await kpis(region=VILLAGE)
    assert village["education.compulsory_age"] == 2
    assert village["education.aid.nutrition.amount"] == Decimal("400.00")
    earlier = await kpis(year=2025)
    assert earlier["education.aid.nutrition.grants"] == 1
    assert "education.aid.yulu.grants" not in earlier
    # Without ?year=, the school year of today: in spring 2027, the one that began in 2026.
    gateway_app.state.clock = FixedClock(dt.date(2027, 3, 1))
    assert (await kpis(year=None))["education.aid.yulu.grants"] == 1
    gateway_app.state.clock = FixedClock(dt.date(2027, 9, 1))
    assert "education.aid.yulu.grants" not in await kpis(year=None)
    stored, recounted = await counters(gateway_app)
    assert stored == recounted

    # The dropout returns to school, the other child is matched: the counts move.
    await publish_to(
        js, education.EDUCATION_ASSESSED, assessed(first, 2, compulsory_age=2, in_school=2)
    )
    back = assessed(second, 2, compulsory_age=1, in_school=1, region=OTHER_VILLAGE)
    await publish_to(js, education.EDUCATION_ASSESSED, back, region=OTHER_VILLAGE)
    await applied(gateway_app, len(published) + 2)
    now = await kpis()
    assert (now["education.in_school"], now["education.dropped_out"]) == (3, 0)
    assert now["education.enrolment_rate"] == Decimal("1.0000")
    stored, recounted = await counters(gateway_app)
    assert stored == recounted

    # A rebuild replays education's events into the same rows and counters.
    before = await projection_state(gateway_app)
    assert len(before["education_records"]) == 6  # two households, four grants
    report = await rebuild(gateway_app.state.runtime.settings)
    assert not report.failed
    assert await projection_state(gateway_app) == before
    stored, recounted = await counters(gateway_app)
    assert stored == recounted
