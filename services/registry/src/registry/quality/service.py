"""Screening (数据比对, DOMAIN §2.9) and quality reports (§2.7 贫困发生率, §2.10 错评/错退/漏评).

Everything is computed on read from the records (DOMAIN §0: never store a reported total
as truth); thresholds come from the policy book for the region and year."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from contracts.enums import LABELS, AdjustmentKind, PovertyState, RegionLevel
from contracts.region import region_prefix
from kit.auth import Principal
from kit.pagination import PageParams
from registry import policy as p
from registry.enums import Asset, RemovalReason
from registry.models import Adjustment, Household, Member, Region
from registry.policy import policy
from registry.quality import schemas
from registry.quality.schemas import RedFlagKind
from registry.regions.scope import EXITED_STATES, POOR_STATES, head_name_of

FLAGGED_ASSETS = (Asset.car, Asset.urban_house)
#: 清退 reasons that mean the household should never have been registered (错评). Duplicates
#: (a data error) and dissolved households (a natural change) are not identification errors.
WRONG_INCLUSION_REASONS = frozenset(
    {RemovalReason.wrongly_included.value, RemovalReason.unexplained_car_house.value}
)
#: A person also found in a household in one of these states is not a duplicate: that
#: file is closed (or kept only as history after a 并户).
CLOSED_STATES = (PovertyState.removed.value, PovertyState.rejected.value)
KIND_ORDER = {kind: i for i, kind in enumerate(RedFlagKind)}
PLACES = Decimal("0.0001")


def ratio(numerator: int, denominator: int) -> Decimal:
    """Stored exact, shown half-up (DOMAIN §1.4): 12463/24801 → 0.5025."""
    return (Decimal(numerator) / Decimal(denominator)).quantize(PLACES, rounding=ROUND_HALF_UP)


class QualityService:
    # --- screening --------------------------------------------------------------------

    async def red_flags(
        self,
        session: AsyncSession,
        actor: Principal,
        region: Region,
        kinds: list[RedFlagKind],
        page: PageParams,
    ) -> tuple[list[schemas.RedFlag], int]:
        """Poor households (registered, planned_exit, returned) to check, in the region."""
        where = [
            Household.region_code.startswith(region_prefix(region.code)),
            Household.poverty_state.in_([s.value for s in POOR_STATES]),
            Household.merged_into.is_(None),
        ]
        flags: list[schemas.RedFlag] = []
        if RedFlagKind.car_or_urban_house in kinds:
            flags += await self._assets(session, where)
        if RedFlagKind.above_income_line in kinds:
            flags += await self._income(session, where)
        if RedFlagKind.duplicates in kinds:
            flags += await self._duplicates(session, actor, where)
        flags.sort(key=lambda f: (f.region_code, KIND_ORDER[f.kind], str(f.household_id)))
        return flags[page.offset : page.offset + page.size], len(flags)

    def _households(self, *columns):
        return (
            select(Household.id, Household.region_code, Region.name, head_name_of(Household.id))
            .add_columns(*columns)
            .select_from(Household)
            .outerjoin(Region, Region.code == Household.region_code)
        )

    async def _assets(self, session, where) -> list[schemas.RedFlag]:
        owned = [a.value for a in FLAGGED_ASSETS]
        rows = await session.execute(
            self._households(Household.assets).where(*where, Household.assets.overlap(owned))
        )
        flags = []
        for hid, code, village, head, assets in rows.all():
            held = "、".join(f"{LABELS[Asset(a)]} ({a})" for a in owned if a in assets)
            flags.append(
                schemas.RedFlag(
                    household_id=hid,
                    region_code=code,
                    village_name=village,
                    head_name=head,
                    kind=RedFlagKind.car_or_urban_house,
                    reason=f"the household owns {held}: 有车、有房 must be explained with "
                    "evidence, or the household is removed (清退)",
                )
            )
        return flags

    async def _income(self, session, where) -> list[schemas.RedFlag]:
        rows = await session.execute(
            self._households(Household.per_capita_net_income, Household.survey_year).where(
                *where,
                Household.per_capita_net_income.is_not(None),
                Household.survey_year.is_not(None),
            )
        )
        lines: dict[tuple[str, int], Decimal] = {}
        flags = []
        for hid, code, village, head, income, year in rows.all():
            if (code, year) not in lines:
                lines[code, year] = await policy.value(
                    session, p.POVERTY_LINE, region_code=code, year=year
                )
            line = lines[code, year]
            if income > line:  # 一超: above the line, the line itself is not above it
                flags.append(
                    schemas.RedFlag(
                        household_id=hid,
                        region_code=code,
                        village_name=village,
                        head_name=head,
                        kind=RedFlagKind.above_income_line,
                        reason=f"per-capita net income {income}元 in the {year} survey is above "
                        f"the poverty line of {line}元",
                    )
                )
        return flags

    async def _duplicates(self, session, actor: Principal, where) -> list[schemas.RedFlag]:
        """A person (same name and birth date) who is also a member of another open household.

        ID numbers are unique already (keyed hash), so this finds the same person entered
        twice under different numbers, or once without a number (id_pending)."""
        own, other = aliased(Member), aliased(Member)
        other_household, other_village = aliased(Household), aliased(Region)
        rows = await session.execute(
            self._households(
                own.name, own.birth_date, other_household.id, other_household.region_code
            )
            .add_columns(other_village.name)
            .join(own, own.household_id == Household.id)
            .join(
                other,
                and_(
                    other.name == own.name,
                    other.birth_date == own.birth_date,
                    other.household_id != own.household_id,
                ),
            )
            .join(other_household, other_household.id == other.household_id)
            .outerjoin(other_village, other_village.code == other_household.region_code)
            .where(
                *where,
                other_household.merged_into.is_(None),
                other_household.poverty_state.not_in(CLOSED_STATES),
            )
            .order_by(Household.id, own.name, other_household.id)
        )
        found: dict = {}
        reasons: dict = defaultdict(list)
        for hid, code, village, head, name, born, oid, ocode, ovillage in rows.all():
            found[hid] = (code, village, head)
            # the other household is named only if the caller may see it
            where_else = (
                f"household {oid} in {ovillage or ocode}"
                if actor.can_access(ocode)
                else f"a household outside your region ({ovillage or ocode})"
            )
            reasons[hid].append(
                f"{name} (born {born.isoformat()}) is also a member of {where_else}"
            )
        return [
            schemas.RedFlag(
                household_id=hid,
                region_code=code,
                village_name=village,
                head_name=head,
                kind=RedFlagKind.duplicates,
                reason="; ".join(reasons[hid]),
            )
            for hid, (code, village, head) in found.items()
        ]

    # --- 贫困发生率 -------------------------------------------------------------------------

    async def incidence(
        self, session: AsyncSession, region: Region, year: int
    ) -> schemas.IncidenceReport:
        prefix = region_prefix(region.code)
        regions = (
            (
                await session.execute(
                    select(Region)
                    .where(
                        Region.code.startswith(prefix),
                        Region.level.in_([RegionLevel.village, RegionLevel.township]),
                    )
                    .order_by(Region.code)
                )
            )
            .scalars()
            .all()
        )
        poor = await session.execute(
            select(
                Household.region_code,
                func.count(func.distinct(Household.id)),
                func.count(Member.id),
            )
            .select_from(Household)
            .outerjoin(Member, Member.household_id == Household.id)
            .where(
                Household.region_code.startswith(prefix),
                Household.poverty_state.in_([s.value for s in POOR_STATES]),
            )
            .group_by(Household.region_code)
        )
        counts = {code: (households, persons) for code, households, persons in poor.all()}
        villages = [
            await self._village_row(session, v, counts.get(v.code, (0, 0)), year)
            for v in regions
            if v.level == RegionLevel.village
        ]
        townships = []
        for township in (r for r in regions if r.level == RegionLevel.township):
            inside = [v for v in villages if v.region_code.startswith(region_prefix(township.code))]
            townships.append(await self._township_row(session, township, inside, year))
        return schemas.IncidenceReport(
            region_code=region.code, year=year, townships=townships, villages=villages
        )

    async def _village_row(self, session, village: Region, count, year) -> schemas.IncidenceRow:
        code = village.code
        denominator = await policy.value(
            session, p.INCIDENCE_DENOMINATOR, region_code=code, year=year
        )
        quota_key = (
            p.INCIDENCE_QUOTA_KEY_VILLAGE
            if village.key_poor_village
            else p.INCIDENCE_QUOTA_OTHER_VILLAGE
        )
        quota = await policy.value(session, quota_key, region_code=code, year=year)
        population = (
            village.population if denominator == "rural_population" else village.total_population
        )
        households, persons = count
        rate, above, reason = None, None, None
        if population is None:
            reason = f"{denominator} of the village is not recorded"
        elif population == 0:
            reason = f"{denominator} of the village is 0"
        else:
            rate = ratio(persons, population)
            above = persons > quota * population  # exact: no rounding decides a warning
        return schemas.IncidenceRow(
            level=RegionLevel.village,
            region_code=code,
            name=village.name,
            key_poor_village=village.key_poor_village,
            poor_households=households,
            poor_persons=persons,
            denominator=denominator,
            population=population,
            rate=rate,
            quota=quota,
            above_quota=above,
            reason=reason,
        )

    async def _township_row(
        self, session, township: Region, villages: list[schemas.IncidenceRow], year: int
    ) -> schemas.IncidenceRow:
        """Sums over the township's villages; its quota is the villages' quotas weighted by
        population (the seed's quota is an *average* over villages of each type)."""
        denominator = await policy.value(
            session, p.INCIDENCE_DENOMINATOR, region_code=township.code, year=year
        )
        households = sum(v.poor_households for v in villages)
        persons = sum(v.poor_persons for v in villages)
        unknown = [v.name for v in villages if v.rate is None]
        rate, above, reason, population = None, None, None, None
        if not villages:
            quota = await policy.value(
                session, p.INCIDENCE_QUOTA_OTHER_VILLAGE, region_code=township.code, year=year
            )
            reason = "the township has no villages on record"
        elif unknown:
            quota = sum((v.quota for v in villages), Decimal(0)) / len(villages)
            reason = f"population unknown (or 0) for {len(unknown)} village(s): " + ", ".join(
                unknown[:10]
            )
        else:
            population = sum(v.population for v in villages)
            allowed = sum((v.quota * v.population for v in villages), Decimal(0))
            quota = allowed / population
            rate = ratio(persons, population)
            above = persons > allowed
        return schemas.IncidenceRow(
            level=RegionLevel.township,
            region_code=township.code,
            name=township.name,
            key_poor_village=None,
            poor_households=households,
            poor_persons=persons,
            denominator=denominator,
            population=population,
            rate=rate,
            quota=quota.quantize(PLACES, rounding=ROUND_HALF_UP),
            above_quota=above,
            reason=reason,
        )

    # --- 错评, 错退, 漏评 -------------------------------------------------------------------

    async def quality(
        self, session: AsyncSession, region: Region, year: int
    ) -> schemas.QualityReport:
        prefix = region_prefix(region.code)
        rows = await session.execute(
            select(Adjustment.kind, Adjustment.reason, func.count())
            .where(
                Adjustment.region_code.startswith(prefix),
                Adjustment.effective_month.between(dt.date(year, 1, 1), dt.date(year, 12, 31)),
            )
            .group_by(Adjustment.kind, Adjustment.reason)
        )
        wrong_inclusion = wrong_exit = omission = 0
        for kind, reason, count in rows.all():
            if kind == AdjustmentKind.removal and reason in WRONG_INCLUSION_REASONS:
                wrong_inclusion += count
            elif kind == AdjustmentKind.rollback:
                wrong_exit += count
            elif kind == AdjustmentKind.backfill:
                omission += count
        states = await session.execute(
            select(Household.poverty_state, func.count())
            .where(Household.region_code.startswith(prefix), Household.merged_into.is_(None))
            .group_by(Household.poverty_state)
        )
        by_state = dict(states.all())
        registered = sum(by_state.get(s.value, 0) for s in POOR_STATES)
        exited = sum(by_state.get(s.value, 0) for s in EXITED_STATES)
        households = schemas.HouseholdCounts(
            registered=registered,
            exited=exited,
            non_registered=sum(by_state.values()) - registered - exited,
        )
        metrics = []
        for metric, label, found, group, key in (
            (
                "wrong_inclusion",
                "错评率",
                wrong_inclusion,
                registered,
                p.QUALITY_MAX_WRONG_INCLUSION,
            ),
            ("wrong_exit", "错退率", wrong_exit, exited, p.QUALITY_MAX_WRONG_EXIT),
            ("omission", "漏评率", omission, households.non_registered, p.QUALITY_MAX_OMISSION),
        ):
            limit = await policy.value(session, key, region_code=region.code, year=year)
            # a household found in error has left its group (removed, rolled back, backfilled):
            # it was checked as part of the group, so it counts in the base
            base = group + found
            metrics.append(
                schemas.QualityMetric(
                    metric=metric,
                    label=label,
                    found=found,
                    base=base,
                    rate=ratio(found, base) if base else None,
                    limit=limit,
                    within_limit=found < limit * base if base else None,  # "< 2%": strict
                )
            )
        return schemas.QualityReport(
            region_code=region.code, year=year, households=households, metrics=metrics
        )
