"""Settlement reports (人次 and amounts by payer) computed from the settlements in force,
never from a stored total, and checked against their own parts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.reconcile import Part, ReconciliationOut, Unit, reconcile
from contracts.region import child_prefix_length, region_prefix
from health.models import Claim, CriticalCase, Settlement
from health.reports import schemas

PAYERS = ("bmi", "cii", "ma", "supplementary", "county_fund", "personal")
_WAN = Decimal(10_000)
_SHARE = Decimal("0.0001")


async def settlement_report(
    session: AsyncSession, region: str, date_from: dt.date, date_to: dt.date
) -> schemas.SettlementReport:
    """Settlements in force of claims discharged in the period, by region one level down;
    the total is a second aggregation over the same records, and the checks compare the
    two."""
    group = func.substr(Claim.region_code, 1, child_prefix_length(region)).label("code")
    figures = [
        func.count(Settlement.id).label("settlements"),
        func.count(func.distinct(Settlement.person_id)).label("patients"),
        func.coalesce(func.sum(Claim.total), 0).label("total"),
        func.coalesce(func.sum(Claim.compliant), 0).label("compliant"),
        func.coalesce(func.sum(Settlement.compliant_personal), 0).label("compliant_personal"),
        *[func.coalesce(func.sum(getattr(Settlement, p)), 0).label(p) for p in PAYERS],
    ]
    in_force = (
        select(*figures)
        .join(Claim, Claim.id == Settlement.claim_id)
        .where(
            Settlement.reversed_at.is_(None),
            Claim.region_code.startswith(region_prefix(region)),
            Claim.discharged_on.between(date_from, date_to),
        )
    )
    by_region = await session.execute(in_force.add_columns(group).group_by(group).order_by(group))
    regions = [_row(r.code.ljust(12, "0"), r._mapping) for r in by_region]
    total = _row(region, (await session.execute(in_force)).one()._mapping)
    special = await session.scalar(
        select(func.count(func.distinct(CriticalCase.person_id))).where(
            CriticalCase.region_code.startswith(region_prefix(region)),
            CriticalCase.treatment_started_on.between(date_from, date_to),
        )
    )
    return schemas.SettlementReport(
        region_code=region,
        date_from=date_from,
        date_to=date_to,
        total=total,
        regions=regions,
        special_treatment_patients=special,
        checks=_checks(total, regions),
    )


def _row(code: str, values) -> schemas.SettlementRow:
    money = {p: Decimal(values[p]).quantize(Decimal("0.01")) for p in PAYERS}
    compliant = Decimal(values["compliant"]).quantize(Decimal("0.01"))
    total = Decimal(values["total"]).quantize(Decimal("0.01"))
    share = Decimal(values["compliant_personal"]) / compliant if compliant else None
    return schemas.SettlementRow(
        region_code=code,
        settlements=values["settlements"],
        patients=values["patients"],
        total=total,
        total_wan=total / _WAN,
        compliant=compliant,
        payers=schemas.PayerTotals(**money),
        payers_wan={p: amount / _WAN for p, amount in money.items()},
        compliant_personal_share=share.quantize(_SHARE) if share is not None else None,
    )


def _checks(
    total: schemas.SettlementRow, regions: list[schemas.SettlementRow]
) -> list[schemas.Check]:
    """Each figure of the total against its parts (computed the same way a reported one
    would be, ``contracts.reconcile``)."""
    checks = []
    payers = total.payers.model_dump()
    by_payer = reconcile(total.total, Unit.yuan, [Part(amount=a) for a in payers.values()])
    checks.append(
        schemas.Check(
            name="payers = total cost",
            adds_up=by_payer.adds_up,
            detail=f"Σ payers {by_payer.computed} 元 against {total.total} 元",
        )
    )
    if regions:
        for name in ("total", *PAYERS):
            stated = total.total if name == "total" else payers[name]
            parts = [r.total if name == "total" else getattr(r.payers, name) for r in regions]
            result = reconcile(stated, Unit.yuan, [Part(amount=p) for p in parts])
            checks.append(
                schemas.Check(
                    name=f"regions = total ({name})",
                    adds_up=result.adds_up,
                    detail=f"Σ regions {result.computed} 元 against {stated} 元",
                )
            )
    return checks


def check_reported(body: schemas.ReportedTotal) -> ReconciliationOut:
    return ReconciliationOut.of(reconcile(body.stated, body.unit, [p.part() for p in body.parts]))
