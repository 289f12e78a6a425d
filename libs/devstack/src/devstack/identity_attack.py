"""The ID-number recovery attack, for tests: how many full resident ID numbers (公民身份号码)
fit what a caller without ``pii:read`` can read about a person.

A number is 6 address digits, 8 birth-date digits, 3 sequence digits (odd = male) and a
GB 11643 check character. An attacker who sees a masked number next to a birth date fills
in the hidden digits: the address from the household's county, the date from the birth
date, and the sequence from the visible check character (one sequence in eleven fits). The
tests collect every output a service gives without ``pii:read`` (API responses, events,
the SSE stream, public notices), attribute what they find to each person, and fail when
fewer than :data:`MIN_CANDIDATES` numbers fit a person of whom some part of the number
is shown.

The attacker is assumed strong: the person's gender and county are known (any member view
shows them), and every output is linked to the person by member id or name. Counting is
arithmetic, not brute force: the check character depends only on the weighted digit sum
mod 11, so each group of hidden digits (address, date, sequence) is reduced to a histogram
of its residues and the histograms are convolved.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import itertools
import json
import re
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import nats
import nats.js.errors
from stdnum import numdb

from contracts.resident_id import compose, validate_resident_id

#: Below this many candidate numbers a person's ID number counts as recovered: an attacker
#: can try a thousand numbers against a lookup or a counter clerk, not tens of thousands.
MIN_CANDIDATES = 1_000

#: GB 11643 weight of each of the first 17 digits: 2^(17 - i) mod 11.
WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
ADDRESS, DATE, SEQUENCE, CHECK = range(0, 6), range(6, 14), range(14, 17), 17

# 18 characters of digits or '*' (X last), not inside a longer run: a full or masked number.
_ID_LIKE = re.compile(r"(?<![0-9A-Za-z*])[0-9*]{17}[0-9Xx*](?![0-9A-Za-z*])")
_IDENTIFIER_KEY = re.compile(r"(^|_)id$")
_NAME_KEY = re.compile(r"(^|_)name$")
_AGE_KEY = re.compile(r"(^|_)age$")


def residue(digits: str, positions: Iterable[int]) -> int:
    """The weighted sum mod 11 of ``digits`` placed at ``positions`` of the number."""
    return sum(int(d) * WEIGHTS[p] for d, p in zip(digits, positions, strict=True)) % 11


def check_value(char: str) -> int:
    return 10 if char.upper() == "X" else int(char)


def fragments_in(text: str) -> list[str]:
    """Every full or masked ID number in a string (at least one digit shown)."""
    return [m for m in _ID_LIKE.findall(text) if any(c.isdigit() for c in m)]


def visible(fragment: str) -> dict[int, str]:
    """Position → character for what a fragment shows."""
    return {i: c.upper() for i, c in enumerate(fragment) if c != "*"}


def consistent(fragment: str, number: str) -> bool:
    return all(number[i] == c for i, c in visible(fragment).items())


# --- what outputs reveal -----------------------------------------------------------------


@dataclass(frozen=True)
class Observation:
    """One JSON object of an output: who it names and what it tells about birth and ID."""

    source: str
    identifiers: frozenset[str]
    fragments: tuple[str, ...]
    earliest: dt.date | None = None  # birth on or after
    latest: dt.date | None = None  # birth on or before


def _birth_bounds(key: str, value: Any, today: dt.date) -> tuple[dt.date, dt.date] | None:
    """The birth-date range a key/value pair gives: a date, a year, or an age today."""
    lowered = key.lower()
    if _AGE_KEY.search(lowered) and type(value) is int and 0 <= value <= 150:
        latest = _years_before(today, value)
        return _years_before(today, value + 1) + dt.timedelta(days=1), latest
    if "birth" not in lowered and lowered not in ("born", "dob"):
        return None
    if isinstance(value, int) and not isinstance(value, bool) and 1800 <= value <= 9999:
        return dt.date(value, 1, 1), dt.date(value, 12, 31)
    if isinstance(value, str):
        try:
            born = dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
        return born, born
    return None


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def observations(document: Any, source: str, today: dt.date) -> Iterator[Observation]:
    """Every object of a JSON document (any depth) that names something or shows a number
    or a birth fact; lists and nested objects are their own observations."""
    if isinstance(document, list):
        for item in document:
            yield from observations(item, source, today)
        return
    if not isinstance(document, dict):
        if isinstance(document, str) and fragments_in(document):
            yield Observation(source, frozenset(), tuple(fragments_in(document)))
        return
    identifiers: set[str] = set()
    fragments: list[str] = []
    earliest, latest = dt.date.min, dt.date.max
    births = False
    for key, value in document.items():
        if isinstance(value, dict | list):
            yield from observations(value, source, today)
            continue
        key = str(key)
        if isinstance(value, str):
            fragments += fragments_in(value)
            if _IDENTIFIER_KEY.search(key) or _NAME_KEY.search(key):
                identifiers.add(value)
        bounds = _birth_bounds(key, value, today)
        if bounds:
            births = True
            earliest, latest = max(earliest, bounds[0]), min(latest, bounds[1])
    if identifiers or fragments or births:
        yield Observation(
            source,
            frozenset(identifiers),
            tuple(fragments),
            earliest if births else None,
            latest if births else None,
        )


# --- counting candidates -----------------------------------------------------------------


@dataclass
class Knowledge:
    """What an attacker knows about one person's number."""

    shown: dict[int, str] = field(default_factory=dict)
    earliest: dt.date = dt.date(1900, 1, 1)
    latest: dt.date = field(default_factory=dt.date.today)
    male: bool | None = None
    county: str | None = None  # the household's county: the likely address code
    sources: list[str] = field(default_factory=list)

    def learn_fragment(self, fragment: str, source: str) -> None:
        self.shown.update(visible(fragment))
        self.sources.append(f"{source}: {fragment}")

    def learn_birth(self, earliest: dt.date, latest: dt.date, source: str) -> None:
        self.earliest, self.latest = max(self.earliest, earliest), min(self.latest, latest)
        shown = earliest.isoformat() if earliest == latest else f"{earliest}..{latest}"
        self.sources.append(f"{source}: born {shown}")


def _fits(value: str, positions: range, shown: dict[int, str]) -> bool:
    return all(shown.get(p, c) == c for c, p in zip(value, positions, strict=True))


@functools.cache
def county_codes() -> tuple[str, ...]:
    """Every county-level code of stdnum's division table (any year)."""
    codes = []
    for _, province, _, _, counties in numdb.get("cn/loc").prefixes:
        for _, low, high, props, _ in counties:
            if "county" in props and low == high:
                codes.append(province + low)
    return tuple(codes)


@functools.lru_cache(maxsize=1 << 16)
def address_valid(code: str, year: int) -> bool:
    """Whether a number with this address code and birth year passes the project's check."""
    try:
        validate_resident_id(compose(code, dt.date(year, 1, 1), 1), today=dt.date.max)
    except ValueError:
        return False
    return True


def _histogram(values: Iterable[str], positions: range) -> Counter[int]:
    return Counter(residue(v, positions) for v in values)


def count_candidates(knowledge: Knowledge) -> int:
    """How many valid numbers fit: right check character, an address code valid in the
    birth year, a birth date in the known range, a sequence of the known gender."""
    shown = knowledge.shown
    if knowledge.county and _fits(knowledge.county, ADDRESS, shown):
        addresses = [knowledge.county]  # the attacker's best guess: born where they live
    else:
        addresses = [c for c in county_codes() if _fits(c, ADDRESS, shown)]
    sequences = [
        f"{s:03d}"
        for s in range(1000)
        if (knowledge.male is None or s % 2 == knowledge.male)
        and _fits(f"{s:03d}", SEQUENCE, shown)
    ]
    by_sequence = _histogram(sequences, SEQUENCE)
    check = shown.get(CHECK)
    dates_by_year: dict[int, list[str]] = {}
    day = knowledge.earliest
    while day <= knowledge.latest:
        digits = f"{day:%Y%m%d}"
        if _fits(digits, DATE, shown):
            dates_by_year.setdefault(day.year, []).append(digits)
        day += dt.timedelta(days=1)
    total = 0
    for year, dates in dates_by_year.items():
        by_address = _histogram([a for a in addresses if address_valid(a, year)], ADDRESS)
        by_date = _histogram(dates, DATE)
        for ra, na in by_address.items():
            for rd, nd in by_date.items():
                for rs, ns in by_sequence.items():
                    if check is None or (1 - ra - rd - rs) % 11 == check_value(check):
                        total += na * nd * ns
    return total


# --- the attack --------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """Ground truth of a test person: the ids and names outputs may name them by."""

    number: str
    identifiers: frozenset[str]
    county: str

    @classmethod
    def of(cls, number: str, *identifiers: str | uuid.UUID, county: str) -> Person:
        return cls(number, frozenset(str(i) for i in identifiers), county)


@dataclass(frozen=True)
class Exposure:
    person: Person
    candidates: int
    knowledge: Knowledge


def exposure(
    person: Person, seen: Iterable[Observation], everyone: frozenset[str] = frozenset()
) -> Exposure:
    """What the outputs tell about one person, and how many numbers then fit.

    An object is the person's if it names them (member id, name); an object that names
    none of ``everyone`` (the identifiers of all the people) is the person's too if a
    number it shows fits theirs: the attacker tries it on everyone it fits."""
    knowledge = Knowledge(male=int(person.number[16]) % 2 == 1, county=person.county)
    for obs in seen:
        fitting = [f for f in obs.fragments if consistent(f, person.number)]
        if not obs.identifiers & person.identifiers and (obs.identifiers & everyone or not fitting):
            continue
        for fragment in fitting:
            knowledge.learn_fragment(fragment, obs.source)
        if obs.earliest is not None and obs.latest is not None:
            knowledge.learn_birth(obs.earliest, obs.latest, obs.source)
    return Exposure(person, count_candidates(knowledge), knowledge)


def recovered(
    people: Iterable[Person], seen: Iterable[Observation], minimum: int = MIN_CANDIDATES
) -> list[Exposure]:
    """The people for whom fewer than ``minimum`` numbers fit what the outputs show,
    among those of whom an output shows some part of the number. A birth date alone, with
    the gender and the county, leaves the day's 500 sequences of that gender: that is what
    storing a birth date costs, and services keep it for age rules (events, for services
    only); beside a mask it would leave about 45."""
    people, seen = list(people), list(seen)
    everyone = frozenset().union(*(p.identifiers for p in people))
    # A name two people share (马建国 in two households) links to neither.
    shared = Counter(i for p in people for i in p.identifiers)
    people = [
        dataclasses.replace(p, identifiers=frozenset(i for i in p.identifiers if shared[i] == 1))
        for p in people
    ]
    found = (exposure(p, seen, everyone) for p in people)
    return [e for e in found if e.knowledge.shown and e.candidates < minimum]


def explain(exposures: Iterable[Exposure]) -> str:
    """A failure message: each recovered person with what gave them away."""
    lines = []
    for e in exposures:
        lines.append(f"{e.person.number}: {e.candidates} candidate numbers from")
        lines += [f"    {s}" for s in dict.fromkeys(e.knowledge.sources)]
    return "\n".join(lines)


# --- collecting outputs ------------------------------------------------------------------

#: Routes that are no output about persons or never end (probes, metrics, the SSE stream,
#: read on its own by the tests).
NOT_SWEPT = frozenset({"/healthz", "/readyz", "/metrics", "/events/stream"})


async def sweep(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    known: dict[str, set[str]],
    *,
    today: dt.date,
    source: str,
) -> tuple[list[Observation], set[str]]:
    """GET every route of the app's OpenAPI with ``headers``. A path parameter, or a
    required query parameter, takes every value of ``known[name]``, of the same key in
    earlier answers, and (path) of the items' ``id`` of the route above it (``/alerts``
    gives ``/alerts/{alert_id}``). Returns what the answers show, and the routes that
    answered (200) or refused this caller (403: not an output for it)."""
    spec = (await client.get("/openapi.json")).json()
    routes = sorted(
        (path for path, ops in spec["paths"].items() if "get" in ops and path not in NOT_SWEPT),
        key=lambda p: (p.count("{"), p),  # lists before their items
    )
    values = {name: set(found) for name, found in known.items()}
    seen: list[Observation] = []
    reached: set[str] = set()
    for path in routes:
        parameters = spec["paths"][path]["get"].get("parameters", [])
        names = re.findall(r"{(\w+)}", path)
        required = [p["name"] for p in parameters if p.get("required") and p["in"] == "query"]
        choices = [values.get(n, set()) | values.get(_parent(path, n), set()) for n in names]
        choices += [values.get(n, set()) for n in required]
        base = {"size": 100} if any(p["name"] == "size" for p in parameters) else {}
        for combination in itertools.product(*map(sorted, choices)):
            url = path
            for name, value in zip(names, combination[: len(names)], strict=True):
                url = url.replace("{" + name + "}", value)
            query = {**base, **dict(zip(required, combination[len(names) :], strict=True))}
            response = await client.get(url, headers=headers, params=query)
            if response.status_code == 403:
                reached.add(path)
            if response.status_code != 200:
                continue
            reached.add(path)
            where = f"{source} GET {url}"
            if "json" not in response.headers.get("content-type", ""):
                if response.headers.get("content-type", "").startswith("text/"):
                    seen += observations(response.text, where, today)
                continue
            document = response.json()
            seen += observations(document, where, today)
            _learn_identifiers(document, path, values)
    return seen, reached


def _parent(path: str, name: str) -> str:
    """The list route whose items' ids fill ``{name}``: ``/alerts`` for ``/alerts/{alert_id}``."""
    return path.split("/{" + name + "}", 1)[0] + "[]"


def _learn_identifiers(document: Any, path: str, values: dict[str, set[str]]) -> None:
    """Values for path parameters: every ``<name>`` key anywhere in an answer, and the
    ``id`` of the items of a list (kept under ``<route>[]``)."""

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, str | int) and not isinstance(item, bool):
                    values.setdefault(str(key), set()).add(str(item))
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(document)
    items = document.get("items", document) if isinstance(document, dict) else document
    if isinstance(items, list):
        ids = {str(i["id"]) for i in items if isinstance(i, dict) and "id" in i}
        values.setdefault(path + "[]", set()).update(ids)


async def stream_documents(nats_url: str) -> list[tuple[str, Any]]:
    """Every message of every JetStream stream, as (subject, JSON)."""
    connection = await nats.connect(nats_url)
    found = []
    try:
        js = connection.jetstream()
        for info in await js.streams_info():
            if not info.state.messages:
                continue
            for sequence in range(max(info.state.first_seq, 1), info.state.last_seq + 1):
                try:
                    message = await js.get_msg(info.config.name, sequence)
                except nats.js.errors.NotFoundError:
                    continue
                found.append((message.subject, json.loads(message.data)))
    finally:
        await connection.close()
    return found
