"""What the events other departments publish about a registry household have in common.

Health, housing, education and low-income services key their records to the registry's
household and member ids (learnt from ``registry.*`` events), so every payload names the
household, the person where the fact is about one, the village and the policy year.

Envelope conventions for these events (the registry's consumer relies on them): the
CloudEvents ``subject`` is the id of the producer's record the fact is about (claim,
diagnosis, appraisal …) and ``sequence`` is that record's version, 1 for a one-off fact.
A later version of the same record is a new event; a redelivery keeps the event id.
"""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

from contracts.catalogue import EventSpec
from contracts.dates import PolicyYear
from contracts.region import RegionCode


class Payload(BaseModel):
    # Consumers must tolerate fields added later (a non-breaking change), so ignore extras.
    model_config = ConfigDict(extra="ignore", frozen=True)


class HouseholdRef(Payload):
    """The registry household (and member) a department's fact is about."""

    household_id: uuid.UUID = Field(description="Registry household id (户)")
    person_id: uuid.UUID | None = Field(
        None, description="Registry member id (户成员); absent for a household-level fact"
    )
    region_code: RegionCode = Field(description="12-digit code of the household's village")
    policy_year: PolicyYear = Field(description="政策年度 the fact counts in")


class PersonRef(HouseholdRef):
    """A fact about one person: ``person_id`` is required."""

    person_id: uuid.UUID = Field(description="Registry member id (户成员)")


def department_event(
    name: str,
    payload: type[BaseModel],
    aggregate: str,
    description: str,
    consumers: tuple[str, ...] = ("registry",),
) -> EventSpec:
    """A department's event about a registry household; the registry monitors it (防返贫)."""
    return EventSpec(
        name=name,
        version=1,
        payload=payload,
        aggregate=aggregate,
        description=description,
        consumers=consumers,
    )
