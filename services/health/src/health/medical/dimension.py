"""基本医疗有保障 (the ``medical`` dimension, DOMAIN §1.5, §8.1): a pure rule over counts.

Ok when every member is insured this year and no critical or chronic condition lacks
treatment or a family doctor. The reason names the first thing missing; the detail counts
each (never names: the status travels to phones and dashboards).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from contracts.status import DimensionFact, DimensionState, Reason


@dataclass(frozen=True)
class MedicalCounts:
    year: int
    members: int  # in the household now
    uninsured: int  # of them, without an active enrolment for ``year``
    critical_untreated: int = 0  # critical-illness cases identified, not (yet) treated
    chronic_without_doctor: int = 0  # persons with a chronic certificate and no contract


def medical_fact(counts: MedicalCounts, as_of: dt.datetime) -> DimensionFact:
    if counts.members == 0:
        return DimensionFact(status=DimensionState.unknown, reason=Reason.NO_DATA_YET, as_of=as_of)
    missing: list[tuple[Reason, str]] = []
    if counts.uninsured:
        missing.append(
            (
                Reason.NOT_INSURED,
                f"{counts.uninsured} of {counts.members} members not insured for {counts.year}",
            )
        )
    if counts.critical_untreated:
        missing.append(
            (
                Reason.CRITICAL_ILLNESS_UNTREATED,
                f"{counts.critical_untreated} critical illness case(s) not under treatment",
            )
        )
    if counts.chronic_without_doctor:
        missing.append(
            (
                Reason.CHRONIC_WITHOUT_FAMILY_DOCTOR,
                f"{counts.chronic_without_doctor} chronic patient(s) without a family doctor",
            )
        )
    if not missing:
        return DimensionFact(status=DimensionState.ok, as_of=as_of)
    return DimensionFact(
        status=DimensionState.not_ok,
        reason=missing[0][0],
        detail="; ".join(text for _, text in missing),
        as_of=as_of,
    )
