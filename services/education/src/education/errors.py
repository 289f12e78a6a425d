"""The education service's problems (ARCHITECTURE §2.5): each code once, with its status,
title, the field it is about where there is one, and what it means; ``docs/errors.md`` is
generated from it. Raise one with its detail: ``raise errors.SOME_CODE("why, for this
case")``. Kit's shared problems (``kit.problems``: NOT_FOUND, OUTSIDE_REGION, ...) are not
declared again here. An entry::

    from kit.problems import ProblemType

    CASE_EXISTS = ProblemType(
        409,
        "CASE_EXISTS",
        "Case already open",
        "The person has an open case already.",
        field="body.person_id",
    )
"""

from kit.problems import ProblemType

STUDENT_EXISTS = ProblemType(
    409,
    "STUDENT_EXISTS",
    "Student already registered",
    "The person has a 学籍 record already: change it (PATCH /students/{id}) instead.",
    field="body.person_id",
)
STATUS_DATE_REQUIRED = ProblemType(
    422,
    "STATUS_DATE_REQUIRED",
    "Date of the status change missing",
    "A new enrolment status needs the date it took effect (body.status_since).",
    field="body.status_since",
)
# Aid grants (DOMAIN §3.2): "不随意提标扩面", the rule is in each detail.
GRANT_ABOVE_STANDARD = ProblemType(
    422,
    "GRANT_ABOVE_STANDARD",
    "Grant above the standard",
    "The grant, with what the student received from the programme already this school year "
    "(ever, for a one-off), is above the programme's standard (不随意提标).",
    field="body.amount",
)
GRANTS_DO_NOT_STACK = ProblemType(
    422,
    "GRANTS_DO_NOT_STACK",
    "Programmes do not stack",
    "The student received a programme this school year that the policy says does not stack "
    "with this one (叠加).",
    field="body.programme",
)
NOT_ELIGIBLE = ProblemType(
    422,
    "NOT_ELIGIBLE",
    "Student not eligible",
    "The programme is not for this student: not registered poor, another stage, not a "
    "boarder, or not 特困生/孤儿 (不随意扩面).",
    field="body.programme",
)
EVIDENCE_REQUIRED = ProblemType(
    422,
    "EVIDENCE_REQUIRED",
    "Evidence of the alternative mode missing",
    "送教上门, 远程教育 and 特殊学校 count as schooling only with their evidence (佐证资料): "
    "give body.evidence with such a status.",
    field="body.evidence",
)
# 劝返 cases (控辍保学, DOMAIN §3.1).
CASE_EXISTS = ProblemType(
    409,
    "CASE_EXISTS",
    "Case already open",
    "The student has an open 劝返 case already: record visits on it, or close it first.",
    field="body.student_id",
)
STUDENT_IN_SCHOOL = ProblemType(
    409,
    "STUDENT_IN_SCHOOL",
    "Student in school",
    "The student is enrolled or in an evidenced alternative mode: a 劝返 case is for a "
    "student out of school.",
    field="body.student_id",
)
CASE_CLOSED = ProblemType(
    409,
    "CASE_CLOSED",
    "Case closed",
    "The 劝返 case is closed: it takes no more visits or changes.",
)
OUTCOME_NOT_MET = ProblemType(
    409,
    "OUTCOME_NOT_MET",
    "Outcome not shown by the 学籍",
    "The student's 学籍 does not show the outcome: `returned` needs the student enrolled "
    "again, `alternative_mode` an alternative mode with its evidence (PATCH /students/{id} "
    "first).",
    field="body.outcome",
)
OUTCOME_EVIDENCE_REQUIRED = ProblemType(
    422,
    "OUTCOME_EVIDENCE_REQUIRED",
    "Evidence of the outcome missing",
    "A case closed with `alternative_mode` or `exempt` needs its evidence (佐证资料, e.g. the "
    "exemption's approval): give body.evidence.",
    field="body.evidence",
)
DATE_BEFORE_OPENING = ProblemType(
    422,
    "DATE_BEFORE_OPENING",
    "Date before the case was opened",
    "A visit, a closing or a due date of a 劝返 case must lie on or after the day it was opened.",
)
UNKNOWN_STUDENT = ProblemType(
    422,
    "UNKNOWN_STUDENT",
    "Unknown student",
    "No student (学籍) with this id in the caller's region.",
    field="body.student_id",
)
GRANT_REFERENCE_TAKEN = ProblemType(
    409,
    "GRANT_REFERENCE_TAKEN",
    "Payment reference used already",
    "A grant of the programme was paid with this payment reference (发放凭证号) already: "
    "a payment is recorded once.",
    field="body.payment_reference",
)
# The roster import (学籍花名册) asks the registry to match ID numbers.
REGISTRY_UNAVAILABLE = ProblemType(
    503,
    "REGISTRY_UNAVAILABLE",
    "Registry unavailable",
    "The registry, which matches a roster's ID numbers to persons, did not answer or failed; "
    "nothing was imported: retry.",
)
REGISTRY_REFUSED = ProblemType(
    403,
    "REGISTRY_REFUSED",
    "Registry refused the match",
    "The registry refused the caller's token for matching ID numbers (it needs "
    "`registry:read`); nothing was imported.",
)
