"""One-stop inpatient settlement rules (一站式结算, DOMAIN §4.2): pure functions.

At discharge every payer settles at one counter and the patient pays only the personal share
(先诊疗后付费). The money of a claim is attributed in a fixed order: 基本医疗保险 → 大病保险 →
医疗救助 on the compliant (合规) cost, then 补充保险 and the county 兜底 fund take what is above
the personal cap; out-of-catalogue (目录外) cost is always personal.

Everything is ``Decimal`` (never float). Each payer's share is rounded half-up to the fen
(DOMAIN §1.4) and the personal share is found by subtraction, so the parts always sum to the
total exactly. No database, clock or I/O here: the service wires these rules to the policy
parameters, the year-to-date amounts and the API.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from enum import StrEnum

from contracts.money import CENT, MAX_AMOUNT, quantize

ZERO = Decimal("0.00")
ONE = Decimal(1)
HUNDRED = Decimal(100)
# Products of a 14-digit amount and a policy ratio stay exact below this precision, so the
# only rounding is the half-up to the fen (the default 28 digits could round first).
_PRECISION = 60


class Payer(StrEnum):
    """Who pays a part of a claim, in the order the money is attributed."""

    bmi = "bmi"  # 基本医疗保险
    cii = "cii"  # 大病保险
    ma = "ma"  # 医疗救助
    supplementary = "supplementary"  # 补充保险 (扶贫补充医疗保险)
    county_fund = "county_fund"  # 县级兜底资金: the last resort that keeps the personal cap
    personal = "personal"  # 个人自付


PAYER_LABELS: Mapping[Payer, str] = {
    Payer.bmi: "基本医疗保险",
    Payer.cii: "大病保险",
    Payer.ma: "医疗救助",
    Payer.supplementary: "补充保险",
    Payer.county_fund: "县级兜底资金",
    Payer.personal: "个人自付",
}


class InvalidClaim(ValueError):
    """Input the rules cannot settle; ``field`` names the offending value (``lines[2].amount``)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ConsentMissing(InvalidClaim):
    """Out-of-catalogue lines (目录外) without a signed informed consent (知情同意)."""

    def __init__(self, indexes: Sequence[int]) -> None:
        self.indexes = tuple(indexes)
        listed = ", ".join(str(i) for i in self.indexes)
        super().__init__(
            f"out-of-catalogue line(s) {listed} have no signed informed consent (知情同意)",
            field=f"lines[{self.indexes[0]}].consent_signed",
        )


def _money(value: object, name: str) -> Decimal:
    """A non-negative amount in yuan with at most 2 decimals, normalised to 2 places."""
    if not isinstance(value, Decimal):
        raise InvalidClaim(f"{name} must be a Decimal, not {type(value).__name__}", name)
    if not value.is_finite():
        raise InvalidClaim(f"{name} must be a finite amount", name)
    if value < 0:
        raise InvalidClaim(f"{name} must not be negative (got {value})", name)
    if value > MAX_AMOUNT:
        raise InvalidClaim(f"{name} must not exceed {MAX_AMOUNT}", name)
    if value != value.quantize(CENT):
        raise InvalidClaim(f"{name} must have at most 2 decimal places (got {value})", name)
    return value.quantize(CENT) + ZERO  # + ZERO turns -0.00 into 0.00


def _ratio(value: object, name: str) -> Decimal:
    if not isinstance(value, Decimal):
        raise InvalidClaim(f"{name} must be a Decimal, not {type(value).__name__}", name)
    if not value.is_finite() or not ZERO <= value <= ONE:
        raise InvalidClaim(f"{name} must be within [0, 1] (got {value})", name)
    return value


@dataclass(frozen=True)
class CostLine:
    """One line of the bill: compliant (合规, in the catalogue) or out-of-catalogue (目录外)."""

    amount: Decimal
    in_catalogue: bool
    consent_signed: bool = False  # 知情同意: required for every out-of-catalogue line


@dataclass(frozen=True)
class PayerRule:
    """起付线 / 报销比例 / 封顶线 of one payer for the person's year, facility level and group."""

    deductible: Decimal
    ratio: Decimal
    annual_cap: Decimal | None  # None: no cap

    def __post_init__(self) -> None:
        _money(self.deductible, "deductible")
        _ratio(self.ratio, "ratio")
        if self.annual_cap is not None:
            _money(self.annual_cap, "annual_cap")


@dataclass(frozen=True)
class SettlementRules:
    """The policy parameters that apply to one claim (region, year, facility level, group)."""

    bmi: PayerRule | None  # None: not insured this year, pays nothing
    cii: PayerRule | None  # None: not insured, pays nothing
    ma: PayerRule | None  # None: not a 医疗救助 recipient (not one of 四类人员), pays nothing
    supplementary_cap: Decimal | None  # annual cap of 补充保险; None: no cap
    # 合规费用自付比 cap, e.g. 0.10 county, 0.05 township; None: not capped (non-poor, outpatient)
    personal_cap_ratio: Decimal | None
    # 实际自付比 target: exceeding it warns, never blocks
    actual_share_target: Decimal | None = None

    def __post_init__(self) -> None:
        for name in ("bmi", "cii", "ma"):
            rule = getattr(self, name)
            if rule is not None and not isinstance(rule, PayerRule):
                raise InvalidClaim(f"{name} must be a PayerRule or None", name)
        if self.supplementary_cap is not None:
            _money(self.supplementary_cap, "supplementary_cap")
        if self.personal_cap_ratio is not None:
            _ratio(self.personal_cap_ratio, "personal_cap_ratio")
        if self.actual_share_target is not None:
            _ratio(self.actual_share_target, "actual_share_target")


@dataclass(frozen=True)
class YearToDate:
    """What each capped payer has already paid for the person this year."""

    bmi: Decimal = ZERO
    cii: Decimal = ZERO
    ma: Decimal = ZERO
    supplementary: Decimal = ZERO

    def __post_init__(self) -> None:
        for name in ("bmi", "cii", "ma", "supplementary"):
            _money(getattr(self, name), f"used.{name}")

    def after(self, settlement: Settlement) -> YearToDate:
        """The year-to-date amounts once ``settlement`` is booked."""
        parts = settlement.parts
        return YearToDate(
            bmi=self.bmi + parts[Payer.bmi],
            cii=self.cii + parts[Payer.cii],
            ma=self.ma + parts[Payer.ma],
            supplementary=self.supplementary + parts[Payer.supplementary],
        )


@dataclass(frozen=True)
class Settlement:
    """The parts of one claim; ``parts`` has all six payers in order and sums to ``total``."""

    total: Decimal  # T = C + N
    compliant: Decimal  # C, 合规费用
    out_of_catalogue: Decimal  # N, 目录外费用 (always personal)
    parts: dict[Payer, Decimal]
    personal_cap: Decimal | None  # quantize(personal_cap_ratio × C); None when not capped
    compliant_personal: Decimal  # R4, the personal share of the compliant cost
    # R4 / C (合规费用自付比) and PERSONAL / T (实际自付比): not rounded for display (exact
    # when the quotient terminates, else 28 significant digits); None when the base is 0
    compliant_personal_ratio: Decimal | None
    actual_personal_ratio: Decimal | None
    warnings: tuple[str, ...] = ()

    @property
    def personal(self) -> Decimal:
        return self.parts[Payer.personal]

    @property
    def other(self) -> Decimal:
        """补充保险 + 县级兜底: what the personal cap moved off the patient."""
        return self.parts[Payer.supplementary] + self.parts[Payer.county_fund]


def cap_left(cap: Decimal | None, used: Decimal) -> Decimal | None:
    """What an annual cap still allows (never negative); None: no cap."""
    return None if cap is None else max(ZERO, cap - used)


def _pays(base: Decimal, rule: PayerRule | None, used: Decimal) -> Decimal:
    """``min(quantize(max(0, base − d) × r), cap_left)``; nothing without a rule."""
    if rule is None:
        return ZERO
    due = quantize(max(ZERO, base - rule.deductible) * rule.ratio)
    left = cap_left(rule.annual_cap, used)
    return due if left is None else min(due, left)


def _percent(ratio: Decimal) -> str:
    return f"{quantize(ratio * HUNDRED)}%"


def _check_lines(lines: Sequence[CostLine]) -> list[Decimal]:
    if not lines:
        raise InvalidClaim("a claim needs at least one cost line", "lines")
    amounts = []
    for index, line in enumerate(lines):
        if not isinstance(line, CostLine):
            raise InvalidClaim(f"line {index} is not a cost line", f"lines[{index}]")
        amounts.append(_money(line.amount, f"lines[{index}].amount"))
    missing = [
        i for i, line in enumerate(lines) if not line.in_catalogue and not line.consent_signed
    ]
    if missing:
        raise ConsentMissing(missing)
    return amounts


def settle(lines: Sequence[CostLine], rules: SettlementRules, used: YearToDate) -> Settlement:
    """Attribute a claim to its payers (DOMAIN §4.2).

    Raises ``InvalidClaim`` (a ``ValueError``) for no lines, a negative, non-finite or sub-fen
    amount, and ``ConsentMissing`` naming every out-of-catalogue line without consent.
    """
    amounts = _check_lines(lines)
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        compliant = sum(
            (a for a, line in zip(amounts, lines, strict=True) if line.in_catalogue), ZERO
        )
        out_of_catalogue = sum(
            (a for a, line in zip(amounts, lines, strict=True) if not line.in_catalogue), ZERO
        )
        total = compliant + out_of_catalogue

        # 三重保障, each on what the previous payer left of the compliant cost
        bmi = _pays(compliant, rules.bmi, used.bmi)
        cii = _pays(compliant - bmi, rules.cii, used.cii)
        ma = _pays(compliant - bmi - cii, rules.ma, used.ma)
        left = compliant - bmi - cii - ma  # R3

        supplementary = county_fund = ZERO
        personal_cap = None
        if rules.personal_cap_ratio is not None:
            # the cap is money: rounded to the fen so R4 ≤ personal_cap holds exactly
            personal_cap = quantize(rules.personal_cap_ratio * compliant)
            other = max(ZERO, left - personal_cap)
            room = cap_left(rules.supplementary_cap, used.supplementary)
            supplementary = other if room is None else min(other, room)
            county_fund = other - supplementary
        compliant_personal = left - supplementary - county_fund  # R4
        personal = compliant_personal + out_of_catalogue

        warnings: list[str] = []
        target = rules.actual_share_target
        # compared by multiplication, so no division rounding decides the warning
        if target is not None and total > 0 and personal > target * total:
            warnings.append(
                f"actual personal share {_percent(personal / total)} is above the "
                f"{_percent(target)} target (实际自付比)"
            )

    parts = {
        Payer.bmi: bmi,
        Payer.cii: cii,
        Payer.ma: ma,
        Payer.supplementary: supplementary,
        Payer.county_fund: county_fund,
        Payer.personal: personal,
    }
    return Settlement(
        total=quantize(total),
        compliant=quantize(compliant),
        out_of_catalogue=quantize(out_of_catalogue),
        parts={payer: quantize(amount) for payer, amount in parts.items()},
        personal_cap=personal_cap,
        compliant_personal=quantize(compliant_personal),
        compliant_personal_ratio=compliant_personal / compliant if compliant else None,
        actual_personal_ratio=personal / total if total else None,
        warnings=tuple(warnings),
    )
