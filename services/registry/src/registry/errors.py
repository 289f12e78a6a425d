"""The registry's problems (ARCHITECTURE §2.5): each code once, with its status, title, the
field it is about where there is one, and what it means; ``docs/errors.md`` is generated
from it."""

from __future__ import annotations

from kit.problems import ProblemType

ALERT_EXISTS = ProblemType(
    409,
    "ALERT_EXISTS",
    "Alert exists",
    "The household has a high-medical-cost alert this year already (one per household and year).",
    field="body.kind",
)
ALERT_TRANSITION_REFUSED = ProblemType(
    409,
    "ALERT_TRANSITION_REFUSED",
    "Illegal alert transition",
    "The alert's status does not allow the action (DOMAIN §2.11).",
    field="body.action",
)
ALREADY_ASSIGNED = ProblemType(
    409,
    "ALREADY_ASSIGNED",
    "Already assigned",
    "The helper helps this household already.",
    field="body.helper_id",
)
ASSIGNMENT_ENDED = ProblemType(
    409, "ASSIGNMENT_ENDED", "Assignment already ended", "The helper assignment has ended before."
)
BIRTH_DATE_CONTRADICTS_ID = ProblemType(
    422,
    "BIRTH_DATE_CONTRADICTS_ID",
    "Birth date contradicts the ID number",
    "The ID number's birth date differs from the recorded one; `confirm_birth_date_from_id` takes "
    "the ID's.",
    field="body.id_number",
)
CONSEQUENCE_REQUIRED = ProblemType(
    422,
    "CONSEQUENCE_REQUIRED",
    "Consequence required",
    "An upheld objection to an inclusion needs its consequence (`resurvey` or `reject`).",
    field="body.consequence",
)
END_BEFORE_START = ProblemType(
    422,
    "END_BEFORE_START",
    "End before start",
    "The assignment would end before it started.",
    field="body.end_date",
)
EXIT_CRITERIA_NOT_MET = ProblemType(
    409,
    "EXIT_CRITERIA_NOT_MET",
    "Exit criteria not met",
    "一超两不愁三保障 does not hold for the household: the exit is not approved.",
)
EXIT_CRITERIA_UNKNOWN = ProblemType(
    409,
    "EXIT_CRITERIA_UNKNOWN",
    "Exit criteria unknown",
    "The gateway has no status of the household yet to check the exit criteria against.",
)
EXIT_NOT_APPROVED = ProblemType(
    409,
    "EXIT_NOT_APPROVED",
    "Exit not approved by the village",
    "The village appraisal did not approve the exit.",
    field="body.votes_for",
)
GATEWAY_UNAVAILABLE = ProblemType(
    503,
    "GATEWAY_UNAVAILABLE",
    "Exit criteria cannot be checked",
    "The exit criteria cannot be checked (the gateway does not answer); retry later.",
)
GENDER_CONTRADICTS_ID = ProblemType(
    422,
    "GENDER_CONTRADICTS_ID",
    "Gender contradicts the ID number",
    "The ID number's gender differs from the recorded one; `confirm_gender_from_id` takes the "
    "ID's.",
    field="body.id_number",
)
HEAD_CHANGE_NOT_ALLOWED = ProblemType(
    409,
    "HEAD_CHANGE_NOT_ALLOWED",
    "Head cannot change here",
    "A member change cannot make or unmake the head (户主): that is a household adjustment.",
    field="body.relation",
)
HEAD_EXISTS = ProblemType(
    409,
    "HEAD_EXISTS",
    "Household already has a head",
    "The household has its head (户主) already: a household has exactly one.",
    field="body.relation",
)
HEAD_NOT_LEAVING = ProblemType(
    422,
    "HEAD_NOT_LEAVING",
    "No head change",
    "`new_head_member_id` is given, but the person leaving is not the head.",
    field="body.new_head_member_id",
)
HEAD_RELATION_REQUIRED = ProblemType(
    422,
    "HEAD_RELATION_REQUIRED",
    "Relation of the head required",
    "A merge needs the relation of the merged household's head to the new head.",
    field="body.relations",
)
HEAD_REQUIRED = ProblemType(
    409,
    "HEAD_REQUIRED",
    "Cannot remove the head",
    "The head (户主) cannot be removed: a household keeps exactly one.",
)
HELPER_HAS_ASSIGNMENTS = ProblemType(
    409,
    "HELPER_HAS_ASSIGNMENTS",
    "Helper still assigned",
    "A helper who still helps households cannot be deactivated.",
    field="body.active",
)
HELPER_INACTIVE = ProblemType(
    409,
    "HELPER_INACTIVE",
    "Helper inactive",
    "The helper is no longer active.",
    field="body.helper_id",
)
HELPER_LOAD_EXCEEDED = ProblemType(
    409,
    "HELPER_LOAD_EXCEEDED",
    "Helper load limit reached",
    "The helper would help more households than the rank allows (科级领导干部2-3户, 一般干部1户).",
)
HELPER_NOT_ASSIGNED = ProblemType(
    409,
    "HELPER_NOT_ASSIGNED",
    "Helper not assigned",
    "The helper was not assigned to the household on the day of the visit.",
    field="body.helper_id",
)
HOUSEHOLD_MERGED = ProblemType(
    409,
    "HOUSEHOLD_MERGED",
    "Household merged",
    "The household was merged (并户) into another and is kept for history only.",
)
HOUSEHOLD_NOT_ELIGIBLE = ProblemType(
    409,
    "HOUSEHOLD_NOT_ELIGIBLE",
    "Household cannot get a helper",
    "The household's poverty state does not take a helper.",
)
ID_NUMBER_FIXED = ProblemType(
    409,
    "ID_NUMBER_FIXED",
    "ID number is fixed",
    "The person's ID number is recorded already; a wrong one is corrected by removing and "
    "re-adding them.",
    field="body.id_number",
)
ID_NUMBER_TAKEN = ProblemType(
    409,
    "ID_NUMBER_TAKEN",
    "ID number already registered",
    "The ID number is registered to a person of a household already (a person is in one household "
    "at a time).",
)
ILLEGAL_TRANSITION = ProblemType(
    409,
    "ILLEGAL_TRANSITION",
    "Illegal transition",
    "The workflow action is not possible from the household's state and stage (DOMAIN §2).",
)
IMPORT_BUSY = ProblemType(
    429,
    "IMPORT_BUSY",
    "Import already running",
    "The county runs as many imports as it may at a time; retry after `Retry-After`.",
)
IMPORT_INTERRUPTED = ProblemType(
    503,
    "IMPORT_INTERRUPTED",
    "Import interrupted",
    "The database failed during an import; what was imported stays, run the same file again.",
)
IMPORT_NEEDS_COUNTY = ProblemType(
    403,
    "IMPORT_NEEDS_COUNTY",
    "County level only",
    "Imports are done by a county (or higher) account.",
)
LAST_MEMBER = ProblemType(
    409,
    "LAST_MEMBER",
    "Last member",
    "The household's last person cannot leave it (remove or merge the household instead).",
)
NEW_HEAD_REQUIRED = ProblemType(
    422,
    "NEW_HEAD_REQUIRED",
    "New head required",
    "The head (户主) leaves: the member who takes over must be named.",
    field="body.new_head_member_id",
)
NOT_A_MEMBER = ProblemType(
    422, "NOT_A_MEMBER", "Not a member", "The person named is not a member of this household."
)
NOT_A_VILLAGE = ProblemType(
    422,
    "NOT_A_VILLAGE",
    "Not a village",
    "A household belongs to a village (村); the region named is not one.",
    field="body.region_code",
)
NO_PUBLICITY = ProblemType(
    409,
    "NO_PUBLICITY",
    "Illegal transition",
    "The workflow step follows a 公示, and none is running for the household.",
)
NULL_NOT_ALLOWED = ProblemType(
    422, "NULL_NOT_ALLOWED", "Value required", "A field that may be left out was sent as null."
)
OBJECTION_PENDING = ProblemType(
    409,
    "OBJECTION_PENDING",
    "Illegal transition",
    "Objections to the 公示 are not resolved yet (公示无异议后方可报送).",
)
OBJECTION_RESOLVED = ProblemType(
    409, "OBJECTION_RESOLVED", "Objection already resolved", "The objection was resolved before."
)
OUTCOME_REQUIRED = ProblemType(
    409,
    "OUTCOME_REQUIRED",
    "Illegal transition",
    "The workflow action has several outcomes and none was given.",
)
OUTSIDE_HELPER_AREA = ProblemType(
    422,
    "OUTSIDE_HELPER_AREA",
    "Household outside the helper's area",
    "The household lies outside the helper's area.",
    field="body.helper_id",
)
PRIMARY_CAUSE_NOT_IN_CAUSES = ProblemType(
    422,
    "PRIMARY_CAUSE_NOT_IN_CAUSES",
    "Invalid causes",
    "The primary cause of poverty is not among the household's causes.",
)
PRIMARY_HELPER_EXISTS = ProblemType(
    409,
    "PRIMARY_HELPER_EXISTS",
    "Household has a primary helper",
    "The household has its primary helper (帮扶责任人); `replace_primary` reassigns.",
    field="body.role",
)
PUBLICITY_CLOSED = ProblemType(
    409,
    "PUBLICITY_CLOSED",
    "Outside the publicity window",
    "The objection is outside the 公示's window, or the 公示 is not open.",
    field="body.received_on",
)
PUBLICITY_OPEN = ProblemType(
    409,
    "PUBLICITY_OPEN",
    "Publicity running",
    "The household is under 公示: finish or withdraw it first.",
)
PUBLICITY_RUNNING = ProblemType(
    409,
    "PUBLICITY_RUNNING",
    "Illegal transition",
    "The 公示 is still running; the next step may follow from the day after it ends.",
)
QUORUM_NOT_MET = ProblemType(
    409,
    "QUORUM_NOT_MET",
    "Quorum not met",
    "Too few village representatives were present for the appraisal (村民代表会议).",
    field="body.attendees",
)
SAME_HOUSEHOLD = ProblemType(
    422,
    "SAME_HOUSEHOLD",
    "Same household",
    "A person moves, or a household merges, into a different household.",
)
START_BEFORE_CURRENT = ProblemType(
    422,
    "START_BEFORE_CURRENT",
    "Start before the current helper's",
    "A new primary helper cannot start before the current one did.",
    field="body.start_date",
)
START_BEFORE_STEP = ProblemType(
    422,
    "START_BEFORE_STEP",
    "Publicity starts too early",
    "A 公示 cannot start before the step that opens it.",
    field="body.start_date",
)
SURVEY_INCONSISTENT = ProblemType(
    422, "SURVEY_INCONSISTENT", "Invalid survey", "The survey's figures contradict each other."
)
TOO_FEW_SURVEYORS = ProblemType(
    422,
    "TOO_FEW_SURVEYORS",
    "Too few surveyors",
    "A survey is signed by more different surveyors (谁排查、谁签字).",
    field="body.surveyors",
)
TOO_MANY_REFUSALS = ProblemType(
    429,
    "TOO_MANY_REFUSALS",
    "Too many refused registrations",
    "The caller had too many registrations refused as registered already in 24 hours.",
)
UNKNOWN_REGION = ProblemType(
    422, "UNKNOWN_REGION", "Unknown region", "No region has this code.", field="body.region_code"
)
