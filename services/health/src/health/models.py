"""Health tables (storage). API schemas live beside the endpoints, never here.

``persons`` is a read model of the registry's households and members (learnt from its
events, never from its database): who is registered poor, 低保 or 特困, or severely
disabled, which decides the premium subsidy and the settlement terms. Everything else is
the health service's own record: enrolments, claims and their settlements, and the
per-person, per-year ledger the annual caps are counted against.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, DateTime, Index, Numeric, String, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, ExcludeConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from kit.audit import define_audit_table
from kit.consumer import define_inbox_tables
from kit.outbox import define_outbox_table
from kit.policy import define_policy_table
from persons import PERSONS_TABLE, RegistryPerson


class HealthModel(SQLModel, registry=registry()):
    """Base of the health service's tables: its own metadata, so migrations see only these."""


metadata = HealthModel.metadata


def _money() -> Any:
    """元, exact to the fen; 0 unless set."""
    return Field(
        default=Decimal("0.00"),
        sa_column=Column(Numeric(14, 2), nullable=False, server_default=text("0")),
    )


def _timestamp() -> Any:
    return Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class Person(HealthModel, RegistryPerson, table=True):
    """A registry household member as the health service knows them (from registry events;
    the columns are the persons library's, the table is health's)."""

    __tablename__ = PERSONS_TABLE


class Enrolment(HealthModel, table=True):
    """参保: one person insured for one year, with the premium and who pays it."""

    __tablename__ = "enrolments"
    #: One active enrolment a person and year (a cancelled one may be followed by another).
    __table_args__ = (
        Index(
            "uq_enrolment_active_person_year",
            "person_id",
            "year",
            unique=True,
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    person_id: uuid.UUID = Field(foreign_key="persons.id", index=True)
    household_id: uuid.UUID = Field(index=True)
    region_code: str = Field(max_length=12, index=True)
    year: int = Field(index=True)
    premium: Decimal = _money()
    #: 资助参保: the part of the premium paid for the person (all of it for 四类人员).
    subsidy: Decimal = _money()
    personal_premium: Decimal = _money()
    #: Why subsidised (registered_poor, dibao, tekun, severe_disability); empty: pays itself.
    subsidy_categories: list[str] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(String(32)), nullable=False, server_default="{}"),
    )
    status: str = Field(default="active", max_length=16)  # active | cancelled
    enrolled_on: dt.date
    cancelled_on: dt.date | None = None
    cancel_reason: str | None = Field(default=None, max_length=200)
    #: Aggregate version: the ``sequence`` of its last event.
    version: int = 1
    created_at: dt.datetime | None = _timestamp()


class Claim(HealthModel, table=True):
    """A hospital's claim (结算申请) for one stay or visit, with its cost lines."""

    __tablename__ = "claims"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    #: The hospital's own claim number: unique, so a resubmission is refused (409).
    claim_no: str = Field(max_length=64, unique=True)
    person_id: uuid.UUID = Field(foreign_key="persons.id", index=True)
    household_id: uuid.UUID = Field(index=True)
    region_code: str = Field(max_length=12, index=True)
    year: int
    kind: str = Field(max_length=16)  # inpatient | outpatient
    hospital_name: str = Field(max_length=100)
    hospital_level: str = Field(max_length=16)
    diagnosis_code: str = Field(max_length=16)
    diagnosis_name: str = Field(max_length=100)
    admitted_on: dt.date
    discharged_on: dt.date
    lines: list[dict[str, Any]] = Field(sa_column=Column(JSONB, nullable=False))
    total: Decimal = _money()
    compliant: Decimal = _money()
    out_of_catalogue: Decimal = _money()
    status: str = Field(default="settled", max_length=16)  # settled | reversed
    version: int = 1
    created_at: dt.datetime | None = _timestamp()


class Settlement(HealthModel, table=True):
    """一站式结算: how one claim's cost was attributed, payer by payer. A reversal keeps the
    row (``reversed_at``) and a re-settlement adds the next one."""

    __tablename__ = "settlements"
    __table_args__ = (
        UniqueConstraint("claim_id", "number", name="uq_settlement_claim_number"),
        Index("ix_settlements_person_year", "person_id", "year"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    claim_id: uuid.UUID = Field(foreign_key="claims.id")
    number: int  # 1 for the first settlement of the claim, then 2 after a reversal …
    person_id: uuid.UUID = Field(foreign_key="persons.id")
    year: int
    bmi: Decimal = _money()
    cii: Decimal = _money()
    ma: Decimal = _money()
    supplementary: Decimal = _money()
    county_fund: Decimal = _money()
    personal: Decimal = _money()
    compliant_personal: Decimal = _money()
    #: The terms applied (group, deductibles, ratios, caps), kept as evidence.
    terms: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    warnings: list[str] = Field(
        default_factory=list, sa_column=Column(ARRAY(String(300)), nullable=False)
    )
    settled_at: dt.datetime | None = _timestamp()
    reversed_at: dt.datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    reversal_reason: str | None = Field(default=None, max_length=300)


class BenefitLedger(HealthModel, table=True):
    """What each payer has paid for a person this year: the annual caps are counted
    against it. Locked row by row (person, year), so two claims cannot both use the last
    of a cap; a reversal gives the amounts back."""

    __tablename__ = "benefit_ledger"

    person_id: uuid.UUID = Field(primary_key=True, foreign_key="persons.id")
    year: int = Field(primary_key=True)
    bmi: Decimal = _money()
    cii: Decimal = _money()
    ma: Decimal = _money()
    supplementary: Decimal = _money()
    personal: Decimal = _money()
    settlements: int = Field(default=0, sa_column_kwargs={"server_default": text("0")})


# --- 大病专项救治 (critical diseases) and 门诊慢性病证明 (chronic-disease certificates) ---


class CriticalDiseaseList(HealthModel, table=True):
    """One version of the 大病专项救治 list (e.g. "25种"), in force from ``valid_from`` to
    ``valid_to`` (open when null). The national list has no region; a province, city or
    county adds kinds with its own version, which applies in its subtree on top of it."""

    __tablename__ = "critical_disease_lists"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=50)
    #: None: the national list; else the region whose subtree the version applies to.
    region_code: str | None = Field(default=None, max_length=12)
    #: Significant digits of ``region_code`` ("" for the national list): a region's lists
    #: are those whose prefix starts its code.
    region_prefix: str = Field(default="", max_length=12, index=True)
    valid_from: dt.date
    valid_to: dt.date | None = None
    created_at: dt.datetime | None = _timestamp()


class CriticalDisease(HealthModel, table=True):
    """A disease of one list version: an ICD-10 code prefix and its name."""

    __tablename__ = "critical_diseases"
    __table_args__ = (UniqueConstraint("list_id", "code", name="uq_critical_disease_code"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    list_id: uuid.UUID = Field(foreign_key="critical_disease_lists.id", index=True)
    code: str = Field(max_length=16)
    name: str = Field(max_length=100)


class CriticalCase(HealthModel, table=True):
    """专项救治台账: one patient's listed disease, where it is treated, and its status."""

    __tablename__ = "critical_cases"
    #: One open case a patient and disease (critical/schemas.py OPEN).
    __table_args__ = (
        Index(
            "uq_critical_cases_open_person_disease",
            "person_id",
            "disease_code",
            unique=True,
            postgresql_where=text("status IN ('identified', 'treating', 'referred')"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    person_id: uuid.UUID = Field(foreign_key="persons.id", index=True)
    household_id: uuid.UUID = Field(index=True)
    region_code: str = Field(max_length=12, index=True)
    #: The patient's ICD-10 code as diagnosed, and the list entry it matched.
    diagnosis_code: str = Field(max_length=16)
    disease_code: str = Field(max_length=16)
    disease_name: str = Field(max_length=100)
    list_id: uuid.UUID = Field(foreign_key="critical_disease_lists.id")
    diagnosed_on: dt.date
    designated_hospital: str = Field(max_length=100)
    referred_to: str | None = Field(default=None, max_length=100)
    status: str = Field(max_length=16, index=True)
    #: The first day of treatment (救治): set on entering treating, referred or treated.
    treatment_started_on: dt.date | None = None
    closed_reason: str | None = Field(default=None, max_length=300)
    #: Every status change: from, to, on, note, by.
    transitions: list[dict[str, Any]] = Field(
        default_factory=list,
        sa_column=Column(JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    )
    version: int = 1
    created_at: dt.datetime | None = _timestamp()


class ChronicCertificate(HealthModel, table=True):
    """门诊慢性病证明: a person's certificate for one chronic disease, valid until a date."""

    __tablename__ = "chronic_certificates"
    #: One active certificate a person and disease on any day (both ends inclusive).
    __table_args__ = (
        ExcludeConstraint(
            ("person_id", "="),
            ("disease_code", "="),
            (text("daterange(issued_on, valid_until, '[]')"), "&&"),
            name="ex_chronic_certificates_active_period",
            using="gist",
            where=text("status = 'active'"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    person_id: uuid.UUID = Field(foreign_key="persons.id", index=True)
    household_id: uuid.UUID = Field(index=True)
    region_code: str = Field(max_length=12, index=True)
    disease_code: str = Field(max_length=16)
    disease_name: str = Field(max_length=100)
    issued_on: dt.date
    valid_until: dt.date
    issuer: str = Field(max_length=100)
    status: str = Field(default="active", max_length=16)  # active | revoked
    revoked_on: dt.date | None = None
    revocation_reason: str | None = Field(default=None, max_length=300)
    version: int = 1
    created_at: dt.datetime | None = _timestamp()


# --- Family doctors (家庭医生签约) and dialysis (血液透析), DOMAIN §4.3 -------------------


class DoctorContract(HealthModel, table=True):
    """家庭医生签约服务: a person's contract with a family-doctor team for a period.

    At most one contract a person is in force on any day (checked under a lock of the
    person's row); a terminated one keeps its row with ``ended_on`` and the reason."""

    __tablename__ = "doctor_contracts"
    __table_args__ = (
        Index("ix_doctor_contracts_person_period", "person_id", "signed_on"),
        #: One contract a person on any day; an ended one counts up to its end.
        ExcludeConstraint(
            ("person_id", "="),
            (text("daterange(signed_on, coalesce(ended_on, valid_until), '[]')"), "&&"),
            name="ex_doctor_contracts_period",
            using="gist",
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    person_id: uuid.UUID = Field(foreign_key="persons.id")
    household_id: uuid.UUID = Field(index=True)
    region_code: str = Field(max_length=12, index=True)
    doctor_name: str = Field(max_length=50)
    team: str = Field(max_length=100)  # 家庭医生团队
    institution: str = Field(max_length=100)  # 签约机构 (乡镇卫生院, 村卫生室 …)
    signed_on: dt.date
    valid_until: dt.date
    paid: bool  # 有偿 (True) / 无偿 (False) 签约
    fee: Decimal = _money()
    #: 慢病 codes from the policy lists (4类 and 6类 慢病); diagnoses stay in health.
    chronic_conditions: list[str] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(String(32)), nullable=False, server_default="{}"),
    )
    status: str = Field(default="active", max_length=16)  # active | ended
    ended_on: dt.date | None = None
    end_reason: str | None = Field(default=None, max_length=200)
    version: int = 1
    created_at: dt.datetime | None = _timestamp()


class FollowUp(HealthModel, table=True):
    """随访: one follow-up of a contracted person, with its disposition (处置)."""

    __tablename__ = "doctor_follow_ups"
    __table_args__ = (Index("ix_doctor_follow_ups_contract_on", "contract_id", "on"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    contract_id: uuid.UUID = Field(foreign_key="doctor_contracts.id")
    person_id: uuid.UUID = Field(foreign_key="persons.id", index=True)
    on: dt.date
    face_to_face: bool  # 面对面随访
    condition: str | None = Field(default=None, max_length=32)
    disposition: str = Field(max_length=1000)  # 具体处置
    created_at: dt.datetime | None = _timestamp()


class DialysisPatient(HealthModel, table=True):
    """血液透析: one course of maintenance haemodialysis of a person (open until ended)."""

    __tablename__ = "dialysis_patients"
    #: One open record a person; an ended one may be followed by another.
    __table_args__ = (
        Index(
            "uq_dialysis_open_person",
            "person_id",
            unique=True,
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    person_id: uuid.UUID = Field(foreign_key="persons.id", index=True)
    household_id: uuid.UUID = Field(index=True)
    region_code: str = Field(max_length=12, index=True)
    started_on: dt.date
    facility: str = Field(max_length=100)  # 透析医院
    status: str = Field(default="open", max_length=16)  # open | ended
    ended_on: dt.date | None = None
    end_reason: str | None = Field(default=None, max_length=200)
    version: int = 1
    created_at: dt.datetime | None = _timestamp()


class DialysisSession(HealthModel, table=True):
    """One dialysis session and the county subsidy it earned (rate of its region and year,
    kept on the row so a later change of the rate leaves it alone)."""

    __tablename__ = "dialysis_sessions"
    #: A person is dialysed at most once a day.
    __table_args__ = (UniqueConstraint("person_id", "on", name="uq_dialysis_session_person_day"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    patient_id: uuid.UUID = Field(foreign_key="dialysis_patients.id", index=True)
    person_id: uuid.UUID = Field(foreign_key="persons.id")
    region_code: str = Field(max_length=12, index=True)
    on: dt.date
    year: int
    facility: str = Field(max_length=100)
    subsidy: Decimal = _money()  # 县级透析补助
    created_at: dt.datetime | None = _timestamp()


# --- the medical dimension (基本医疗有保障) -------------------------------------------


class MedicalAssessment(HealthModel, table=True):
    """The medical dimension last published for a household (published again only when
    it changes; its version is the event's ``sequence``)."""

    __tablename__ = "medical_assessments"

    household_id: uuid.UUID = Field(primary_key=True)
    region_code: str = Field(max_length=12)
    status: str = Field(max_length=16)
    reason: str | None = Field(default=None, max_length=48)
    detail: str | None = Field(default=None, max_length=300)
    version: int
    assessed_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


audit_table = define_audit_table(metadata)
outbox_table = define_outbox_table(metadata)
inbox_table, positions_table = define_inbox_tables(metadata)
policy_table = define_policy_table(metadata)
