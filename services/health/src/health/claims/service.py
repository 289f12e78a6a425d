"""Claims and one-stop settlement (一站式结算, 先诊疗后付费, DOMAIN §4.2).

A claim is settled in the call that submits it, in one transaction: the claim, its
settlement, the person's year-to-date ledger (locked, so two claims cannot both use the
last of a cap), the event and the audit entry. A reversal gives back what the settlement
used of each cap; the claim can then be settled again.
"""

from __future__ import annotations

import dataclasses
import uuid
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.enums import HospitalLevel
from contracts.events import health as health_events
from contracts.money import TotalTooLarge, checked_total
from health import errors
from health.chronic.service import ChronicService
from health.claims import schemas
from health.critical.service import CriticalService
from health.enrolment.eligibility import categories
from health.events import changes
from health.models import BenefitLedger, Claim, Enrolment, Person, Settlement
from health.policy import (
    ACTUAL_SHARE_TARGET,
    CRITICAL_CII_DEDUCTIBLE_WAIVED,
    INPATIENT_AIDED,
    INPATIENT_GENERAL,
    OUTPATIENT_AIDED,
    OUTPATIENT_GENERAL,
    PERSONAL_CAP_RATIO,
    SUBSIDISED_CATEGORIES,
    SUPPLEMENTARY_CAP,
    PayerTerms,
    SubsidyCategory,
    policy,
)
from health.records import registry_persons
from health.settlement import rules
from kit.auth import Principal
from kit.clock import Clock
from kit.problems import Problem
from kit.records import getter
from persons import event_refs, of_person

SETTLED = "settled"
REVERSED = "reversed"
_SCHEDULES = {
    (schemas.ClaimKind.inpatient, True): INPATIENT_AIDED,
    (schemas.ClaimKind.inpatient, False): INPATIENT_GENERAL,
    (schemas.ClaimKind.outpatient, True): OUTPATIENT_AIDED,
    (schemas.ClaimKind.outpatient, False): OUTPATIENT_GENERAL,
}
_LEDGER = BenefitLedger.__table__


class ClaimService:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def submit(
        self, session: AsyncSession, body: schemas.ClaimCreate, actor: Principal
    ) -> Claim:
        person = await registry_persons.named(session, body.person_id, actor)
        if await self._claim_no_taken(session, body.claim_no):
            raise duplicate_claim(body.claim_no)
        claim = Claim(
            claim_no=body.claim_no,
            **of_person(person),
            year=body.discharged_on.year,
            kind=body.kind.value,
            hospital_name=body.hospital_name,
            hospital_level=body.hospital_level.value,
            diagnosis_code=body.diagnosis_code,
            diagnosis_name=body.diagnosis_name,
            admitted_on=body.admitted_on,
            discharged_on=body.discharged_on,
            lines=[line.model_dump(mode="json") for line in body.lines],
        )
        # The same number submitted twice at once: the unique violation is DUPLICATE_CLAIM too
        # (health.conflicts).
        await self._settle(session, claim, person, number=1, actor=actor, deposit=body.deposit)
        return claim

    async def reverse(
        self, session: AsyncSession, claim_id: uuid.UUID, reason: str, actor: Principal
    ) -> Claim:
        claim = await self.get(session, claim_id, actor, for_update=True)
        if claim.status != SETTLED:
            raise errors.NOT_SETTLED("only a settled claim can be reversed")
        current = await self._current(session, claim.id)
        await self._book(session, claim, current, sign=-1)
        current.reversed_at = self.clock.now()
        current.reversal_reason = reason
        claim.status = REVERSED
        await changes.record(
            session,
            claim,
            health_events.CLAIM_REVERSED,
            health_events.ClaimReversed(
                claim_id=claim.id,
                **event_refs(claim, claim.year),
                reversed_on=self.clock.today(),
                reason=reason,
                total=claim.total,
                out_of_pocket=current.personal,
                settlement_number=current.number,
            ),
            actor=actor,
            before={"status": SETTLED, "settlement": current.number},
            after={"status": REVERSED, "reason": reason},
        )
        return claim

    async def resettle(self, session: AsyncSession, claim_id: uuid.UUID, actor: Principal) -> Claim:
        claim = await self.get(session, claim_id, actor, for_update=True)
        if claim.status != REVERSED:
            raise errors.ALREADY_SETTLED(
                "reverse the settlement (with a reason) before settling again"
            )
        person = await session.get(Person, claim.person_id)
        last = await self._current(session, claim.id)
        await self._settle(session, claim, person, number=last.number + 1, actor=actor)
        return claim

    get = getter(Claim, what="claim")

    async def history(self, session: AsyncSession, claim_id: uuid.UUID) -> list[Settlement]:
        rows = await session.execute(
            select(Settlement).where(Settlement.claim_id == claim_id).order_by(Settlement.number)
        )
        return list(rows.scalars())

    # --- inside a transaction ---------------------------------------------------------

    async def _settle(
        self,
        session: AsyncSession,
        claim: Claim,
        person: Person,
        *,
        number: int,
        actor: Principal,
        deposit: Decimal = Decimal("0.00"),
    ) -> Settlement:
        held = categories(
            person,
            claim.discharged_on,
            await policy.value(
                session, SUBSIDISED_CATEGORIES, region_code=claim.region_code, year=claim.year
            ),
        )
        poor = SubsidyCategory.registered_poor in held
        if poor and deposit > 0:
            raise errors.DEPOSIT_NOT_ALLOWED(
                "先诊疗后付费: a registered poor patient is admitted without a deposit (押金)"
            )
        insured = await self._insured(session, person.id, claim.year)
        settlement_rules, terms = await self._rules(session, claim, aided=bool(held), poor=poor)
        if not insured:
            settlement_rules = dataclasses.replace(settlement_rules, bmi=None, cii=None)
        terms.update(insured=insured, categories=[c.value for c in held])
        ledger = await self._ledger(session, person.id, claim.year)
        used = rules.YearToDate(
            bmi=ledger.bmi, cii=ledger.cii, ma=ledger.ma, supplementary=ledger.supplementary
        )
        lines = [
            rules.CostLine(
                amount=Decimal(line["amount"]),
                in_catalogue=line["in_catalogue"],
                consent_signed=line["consent_signed"],
            )
            for line in claim.lines
        ]
        try:
            result = rules.settle(lines, settlement_rules, used)
        except rules.ConsentMissing as exc:
            raise errors.CONSENT_MISSING(str(exc), field=f"body.{exc.field}") from None
        except rules.InvalidClaim as exc:
            raise errors.INVALID_CLAIM(str(exc), field=f"body.{exc.field}") from None
        warnings = list(result.warnings)
        if not insured:
            warnings.insert(
                0, f"not insured for {claim.year}: basic insurance and 大病保险 paid nothing"
            )
        claim.total = result.total
        claim.compliant = result.compliant
        claim.out_of_catalogue = result.out_of_catalogue
        claim.status = SETTLED
        if number == 1:
            session.add(claim)
            await session.flush()
        parts = result.parts
        settlement = Settlement(
            claim_id=claim.id,
            number=number,
            person_id=person.id,
            year=claim.year,
            bmi=parts[rules.Payer.bmi],
            cii=parts[rules.Payer.cii],
            ma=parts[rules.Payer.ma],
            supplementary=parts[rules.Payer.supplementary],
            county_fund=parts[rules.Payer.county_fund],
            personal=parts[rules.Payer.personal],
            compliant_personal=result.compliant_personal,
            terms={**terms, "personal_cap": _text(result.personal_cap)},
            warnings=warnings,
            settled_at=self.clock.now(),
        )
        session.add(settlement)
        await self._book(session, claim, settlement, sign=1)
        await changes.record(
            session,
            claim,
            health_events.CLAIM_SETTLED,
            health_events.ClaimSettled(
                claim_id=claim.id,
                **event_refs(claim, claim.year),
                settled_on=claim.discharged_on,
                total=claim.total,
                out_of_pocket=settlement.personal,
                hospital_level=HospitalLevel(claim.hospital_level),
                kind=claim.kind,
                compliant=claim.compliant,
                payers={payer.value: amount for payer, amount in parts.items()},
                settlement_number=number,
            ),
            actor=actor,
            new=number == 1,
            after={"settlement": number, **{p.value: str(a) for p, a in parts.items()}},
        )
        return settlement

    async def _rules(
        self, session: AsyncSession, claim: Claim, *, aided: bool, poor: bool
    ) -> tuple[rules.SettlementRules, dict]:
        """The terms of the claim's region, year, kind, hospital level and patient group."""
        where = dict(region_code=claim.region_code, year=claim.year)
        level = HospitalLevel(claim.hospital_level)
        kind = schemas.ClaimKind(claim.kind)
        schedule = await policy.value(session, _SCHEDULES[kind, aided], **where)
        capped = poor and kind == schemas.ClaimKind.inpatient
        cap_ratio = target = supplementary_cap = None
        if capped:
            cap_ratio = (await policy.value(session, PERSONAL_CAP_RATIO, **where)).get(level)
            target = (await policy.value(session, ACTUAL_SHARE_TARGET, **where)).get(level)
            supplementary_cap = await policy.value(session, SUPPLEMENTARY_CAP, **where)
        payers = {name: _payer(getattr(schedule, name), level) for name in ("bmi", "cii", "ma")}
        # 大病专项救治: the disease of an open case, treated where the case is, pays no CII
        # deductible even for the general group.
        case = await CriticalService(self.clock).open_case_for_claim(
            session, claim.person_id, claim.diagnosis_code, claim.hospital_name, claim.discharged_on
        )
        if (
            case is not None
            and payers["cii"] is not None
            and await policy.value(session, CRITICAL_CII_DEDUCTIBLE_WAIVED, **where)
        ):
            payers["cii"] = dataclasses.replace(payers["cii"], deductible=Decimal("0.00"))
        certificate = await ChronicService.valid_for(
            session, claim.person_id, claim.diagnosis_code, claim.discharged_on
        )
        terms = {
            "group": "aided" if aided else "general",
            "schedule": _SCHEDULES[kind, aided],
            "hospital_level": level.value,
            **{
                name: None
                if rule is None
                else {
                    "deductible": str(rule.deductible),
                    "ratio": str(rule.ratio),
                    "annual_cap": _text(rule.annual_cap),
                }
                for name, rule in payers.items()
            },
            "personal_cap_ratio": _text(cap_ratio),
            "actual_share_target": _text(target),
            "supplementary_cap": _text(supplementary_cap),
            "critical_case": None if case is None else str(case.id),
            "has_certificate": certificate is not None,
        }
        return (
            rules.SettlementRules(
                **payers,
                supplementary_cap=supplementary_cap,
                personal_cap_ratio=cap_ratio,
                actual_share_target=target,
            ),
            terms,
        )

    async def _ledger(
        self, session: AsyncSession, person_id: uuid.UUID, year: int
    ) -> BenefitLedger:
        """The person's year-to-date row, locked until the transaction ends."""
        await session.execute(
            insert(_LEDGER)
            .values(person_id=person_id, year=year)
            .on_conflict_do_nothing(index_elements=["person_id", "year"])
        )
        return (
            await session.execute(
                select(BenefitLedger)
                .where(BenefitLedger.person_id == person_id, BenefitLedger.year == year)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).scalar_one()

    async def _book(
        self, session: AsyncSession, claim: Claim, settlement: Settlement, *, sign: int
    ) -> None:
        """Add (or, reversing, take back) a settlement's amounts in the ledger."""
        row = await self._ledger(session, claim.person_id, claim.year)
        if sign > 0:  # the year's running totals are NUMERIC(14,2) too
            try:
                for payer in ("bmi", "cii", "ma", "supplementary", "personal"):
                    checked_total(
                        (getattr(row, payer), getattr(settlement, payer)),
                        f"the patient's {payer} total for {claim.year}",
                    )
            except TotalTooLarge as exc:
                raise errors.YEAR_TOTAL_TOO_LARGE(str(exc)) from None
        ledger = _LEDGER.c
        await session.execute(
            update(_LEDGER)
            .where(ledger.person_id == claim.person_id, ledger.year == claim.year)
            .values(
                bmi=ledger.bmi + sign * settlement.bmi,
                cii=ledger.cii + sign * settlement.cii,
                ma=ledger.ma + sign * settlement.ma,
                supplementary=ledger.supplementary + sign * settlement.supplementary,
                personal=ledger.personal + sign * settlement.personal,
                settlements=ledger.settlements + sign,
            )
        )

    async def _current(self, session: AsyncSession, claim_id: uuid.UUID) -> Settlement:
        return (
            await session.execute(
                select(Settlement)
                .where(Settlement.claim_id == claim_id)
                .order_by(Settlement.number.desc())
                .limit(1)
                .with_for_update()
            )
        ).scalar_one()

    async def _insured(self, session: AsyncSession, person_id: uuid.UUID, year: int) -> bool:
        found = await session.execute(
            select(Enrolment.id).where(
                Enrolment.person_id == person_id,
                Enrolment.year == year,
                Enrolment.status == "active",
            )
        )
        return found.first() is not None

    async def _claim_no_taken(self, session: AsyncSession, claim_no: str) -> bool:
        found = await session.execute(select(Claim.id).where(Claim.claim_no == claim_no))
        return found.first() is not None


def _payer(terms: PayerTerms | None, level: HospitalLevel) -> rules.PayerRule | None:
    if terms is None:
        return None
    return rules.PayerRule(
        deductible=terms.deductible[level], ratio=terms.ratio[level], annual_cap=terms.annual_cap
    )


def duplicate_claim(claim_no: str | None = None) -> Problem:
    return errors.DUPLICATE_CLAIM(
        f"claim number {claim_no or 'of this claim'} was submitted before"
    )


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
