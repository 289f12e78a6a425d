"""The health service's problems (ARCHITECTURE §2.5): each code once, with its status, title, the
field it is about where there is one, and what it means; ``docs/errors.md`` is generated
from it."""

from __future__ import annotations

from kit.problems import ProblemType

ALREADY_ENROLLED = ProblemType(
    409,
    "ALREADY_ENROLLED",
    "Already enrolled",
    "The person (or every member of the household) is insured for the year already.",
)
ALREADY_SETTLED = ProblemType(
    409,
    "ALREADY_SETTLED",
    "Already settled",
    "The claim is settled: reverse the settlement before settling again.",
)
CANCELLED = ProblemType(
    409, "CANCELLED", "Already cancelled", "The enrolment is cancelled already."
)
CASE_EXISTS = ProblemType(
    409,
    "CASE_EXISTS",
    "Case already open",
    "The patient has an open case of the disease.",
    field="body.disease_code",
)
CERTIFICATE_EXISTS = ProblemType(
    409,
    "CERTIFICATE_EXISTS",
    "Certificate already held",
    "The person holds a certificate of the chronic disease in force.",
    field="body.disease_code",
)
CONDITION_NOT_CONTRACTED = ProblemType(
    422,
    "CONDITION_NOT_CONTRACTED",
    "Condition not contracted",
    "The follow-up's condition is not among the contract's.",
    field="body.condition",
)
CONSENT_MISSING = ProblemType(
    422,
    "CONSENT_MISSING",
    "Consent missing",
    "A line beyond the catalogue needs the patient's consent (知情同意).",
)
CONTRACT_ENDED = ProblemType(
    409, "CONTRACT_ENDED", "Already ended", "The family-doctor contract has ended."
)
CONTRACT_EXISTS = ProblemType(
    409,
    "CONTRACT_EXISTS",
    "Contract in force",
    "The person has a family-doctor contract in force.",
    field="body.person_id",
)
DATE_OUT_OF_ORDER = ProblemType(
    422,
    "DATE_OUT_OF_ORDER",
    "Date out of order",
    "A case's change is dated before its last change, or after today.",
    field="body.on",
)
DEPOSIT_NOT_ALLOWED = ProblemType(
    422,
    "DEPOSIT_NOT_ALLOWED",
    "No deposit for 建档立卡 patients",
    "A registered poor patient (建档立卡) is admitted without a deposit (先诊疗后付费).",
    field="body.deposit",
)
DIALYSIS_ENDED = ProblemType(
    409, "DIALYSIS_ENDED", "Already ended", "The dialysis course has ended."
)
DIALYSIS_OPEN = ProblemType(
    409,
    "DIALYSIS_OPEN",
    "Already on dialysis",
    "The person has an open dialysis course.",
    field="body.person_id",
)
DUPLICATE_CLAIM = ProblemType(
    409,
    "DUPLICATE_CLAIM",
    "Duplicate claim",
    "The claim number was submitted before.",
    field="body.claim_no",
)
DUPLICATE_CODE = ProblemType(
    422, "DUPLICATE_CODE", "Duplicate code", "A disease code is listed twice in the list version."
)
DUPLICATE_SESSION = ProblemType(
    409,
    "DUPLICATE_SESSION",
    "Session already recorded",
    "A dialysis session on that day is recorded already.",
    field="body.on",
)
END_TOO_EARLY = ProblemType(
    422,
    "END_TOO_EARLY",
    "End before the last session",
    "The dialysis course would end before its start or last session.",
    field="body.on",
)
FOLLOW_UPS_AFTER_END = ProblemType(
    422,
    "FOLLOW_UPS_AFTER_END",
    "Follow-ups after the end",
    "The contract would end before follow-ups recorded under it.",
    field="body.on",
)
INVALID_CLAIM = ProblemType(
    422, "INVALID_CLAIM", "Invalid claim", "The claim's lines contradict each other or the claim."
)
INVALID_PERIOD = ProblemType(
    422,
    "INVALID_PERIOD",
    "Empty period",
    "The report's period ends before it starts.",
    field="query.date_to",
)
NOT_ACTIVE = ProblemType(
    409, "NOT_ACTIVE", "Already revoked", "The chronic-disease certificate was revoked before."
)
NOT_IN_HOUSEHOLD = ProblemType(
    422,
    "NOT_IN_HOUSEHOLD",
    "Not in a household",
    "The registry no longer lists the person in a household.",
    field="body.person_id",
)
NOT_ON_CRITICAL_LIST = ProblemType(
    422,
    "NOT_ON_CRITICAL_LIST",
    "Not on the critical-disease list",
    "The disease is not on the 大病专项救治 list in force for the region and day.",
    field="body.disease_code",
)
NOT_SETTLED = ProblemType(
    409, "NOT_SETTLED", "Not settled", "Only a settled claim can be reversed."
)
OUTSIDE_CONTRACT = ProblemType(
    422,
    "OUTSIDE_CONTRACT",
    "Outside the contract",
    "The date lies outside the family-doctor contract.",
)
OUTSIDE_COURSE = ProblemType(
    422,
    "OUTSIDE_COURSE",
    "Outside the dialysis course",
    "The session's date lies outside the dialysis course.",
    field="body.on",
)
TRANSITION_NOT_ALLOWED = ProblemType(
    409,
    "TRANSITION_NOT_ALLOWED",
    "Transition not allowed",
    "The critical-illness case cannot move to that status from its current one.",
    field="body.to",
)
UNKNOWN_CONDITION = ProblemType(
    422,
    "UNKNOWN_CONDITION",
    "Unknown condition",
    "The condition is on neither 慢病 list of the region and year.",
)
VERSION_OVERLAP = ProblemType(
    409,
    "VERSION_OVERLAP",
    "Overlapping version",
    "Another version of the critical-disease list of the region is in force on those dates.",
    field="body.valid_from",
)
YEAR_TOTAL_TOO_LARGE = ProblemType(
    422,
    "YEAR_TOTAL_TOO_LARGE",
    "Year total too large",
    "The person's total of the year would exceed what can be stored.",
    field="body.lines",
)
