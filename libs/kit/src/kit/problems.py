"""Problems as a catalogue (ARCHITECTURE §2.5): every problem a service answers with is
declared once, as a :class:`ProblemType` (status, code, title, the field it is about where
there is one, and what it means), in ``<service>/errors.py`` or, for those every service
shares, below. Code raises an entry with the detail of the case: ``raise
errors.HEAD_REQUIRED("a household keeps exactly one head")``. ``kit.errors`` turns the
:class:`Problem` into problem+json, in one place.

Pure: this module imports neither the web framework nor the database, so pure rules
(rules.py, machine.py, …) raise catalogued problems too. ``make generate`` writes every
catalogue into ``docs/errors.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class ProblemType:
    """One kind of problem: ``code`` is what clients branch on, ``title`` its short human
    name, ``field`` the request field it is about (where it is always the same one),
    ``meaning`` the sentence of the documentation's table."""

    status: int
    code: str
    title: str
    meaning: str
    field: str | None = None

    def __call__(
        self,
        detail: str | None = None,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Problem:
        """This problem with the case's ``detail``; ``field`` where one code is about
        several fields (by index, or by which request names it)."""
        return Problem(self, detail, field=field, headers=headers)


class Problem(Exception):
    """A catalogued problem, raised: answered with a problem+json response. Domain
    exceptions of pure rules derive from it, so they need no mapping of their own."""

    def __init__(
        self,
        kind: ProblemType,
        detail: str | None = None,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or kind.title)
        self.kind = kind
        self.detail = detail
        self.field = field or kind.field
        self.headers = headers

    @property
    def status(self) -> int:
        return self.kind.status

    @property
    def code(self) -> str:
        return self.kind.code

    @property
    def title(self) -> str:
        return self.kind.title


def catalogue(module: ModuleType) -> list[ProblemType]:
    """The problem types a catalogue module declares, in their order there."""
    return [value for value in vars(module).values() if isinstance(value, ProblemType)]


# --- Problems every service shares (kit's catalogue) ----------------------------------------

NOT_FOUND = ProblemType(
    404,
    "NOT_FOUND",
    "Not found",
    "The thing does not exist, or lies outside the caller's region (which is not told apart).",
)
OUTSIDE_REGION = ProblemType(
    403,
    "OUTSIDE_REGION",
    "Outside your region",
    "The request names a region (or a thing of one) outside the caller's region subtree.",
)
VALIDATION_ERROR = ProblemType(
    422,
    "VALIDATION_ERROR",
    "Invalid request",
    "The request's input is refused: `errors` lists every bad field with its reason.",
)
INVALID_VALUE = ProblemType(
    422,
    "INVALID_VALUE",
    "Invalid value",
    "A value the database cannot hold, or not of the policy parameter's type.",
)
FUTURE_DATE = ProblemType(
    422,
    "FUTURE_DATE",
    "Date in the future",
    "The date of something that has happened lies after today.",
)
CONFLICT = ProblemType(
    409,
    "CONFLICT",
    "Conflict",
    "The same record was created or changed at the same time, or what it refers to went "
    "away meanwhile (a database constraint the service declares no problem of its own for).",
)
BODY_TOO_LARGE = ProblemType(
    413,
    "BODY_TOO_LARGE",
    "Request body too large",
    "The body is over the service's limit (1 MiB; uploads have their own).",
)
DATABASE_UNAVAILABLE = ProblemType(
    503,
    "DATABASE_UNAVAILABLE",
    "Service unavailable",
    "The service cannot reach its database; nothing was changed. Retry after `Retry-After`.",
)
UNAUTHENTICATED = ProblemType(
    401,
    "UNAUTHENTICATED",
    "Authentication required",
    "No `Authorization: Bearer` token was sent.",
)
TOKEN_EXPIRED = ProblemType(401, "TOKEN_EXPIRED", "Token expired", "The bearer token has expired.")
INVALID_TOKEN = ProblemType(
    401,
    "INVALID_TOKEN",
    "Invalid token",
    "The bearer token does not verify (signature, issuer, audience, form).",
)
IDENTITY_PROVIDER_UNAVAILABLE = ProblemType(
    503,
    "IDENTITY_PROVIDER_UNAVAILABLE",
    "Identity provider unavailable",
    "The issuer's keys cannot be fetched, so the token cannot be checked now; retry.",
)
MISSING_SCOPE = ProblemType(
    403,
    "MISSING_SCOPE",
    "Forbidden",
    "The token lacks a scope the operation needs.",
)
NOT_A_HELPER = ProblemType(
    403,
    "NOT_A_HELPER",
    "Not a helper",
    "The operation is for helpers (帮扶责任人); the token carries no valid `helper_id`.",
)

# Reading an uploaded spreadsheet (kit.spreadsheet): the registry's import, education's roster.
IMPORT_EMPTY = ProblemType(422, "IMPORT_EMPTY", "Empty file", "The import file has no header row.")
IMPORT_ENCODING = ProblemType(
    422, "IMPORT_ENCODING", "Unreadable file", "The CSV file is neither UTF-8 nor GB18030 text."
)
IMPORT_MISSING_COLUMNS = ProblemType(
    422,
    "IMPORT_MISSING_COLUMNS",
    "Missing columns",
    "The import file lacks columns of the template.",
)
IMPORT_TOO_MANY_ROWS = ProblemType(
    413,
    "IMPORT_TOO_MANY_ROWS",
    "Too many rows",
    "The import file has more rows than the import allows (the service's setting, e.g. "
    "`REGISTRY_IMPORT_MAX_ROWS`, or Excel's limit).",
)
IMPORT_UNPACKS_TOO_LARGE = ProblemType(
    413,
    "IMPORT_UNPACKS_TOO_LARGE",
    "Unpacks too large",
    "The XLSX file unpacks to more than allowed, or a part of it is padded.",
)
IMPORT_UNREADABLE = ProblemType(
    422,
    "IMPORT_UNREADABLE",
    "Unreadable file",
    "The import file is not a readable CSV or XLSX file.",
)


def not_found(what: str) -> Problem:
    """The 404 of ``what`` (absent, or outside the caller's region: not told apart)."""
    return NOT_FOUND(f"{what} not found")
