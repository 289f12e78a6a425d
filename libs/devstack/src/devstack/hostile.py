"""Hostile input for every write and list route of a service, read from its OpenAPI.

For each write route (POST/PUT/PATCH) and each GET with query parameters, a valid base
request is built (a body the service's test data gives, else one synthesised from the
schema: seeded values by field name, examples, defaults), then sent in hostile variants:
NUL and other control characters in every string, dates at 0001/1999/2101/9999 and the
integer 0, the largest amounts (two of them where a list is summed, and each such create
twice), 100k-character strings, unknown enum values, another province's region code and
resident ID number, a prefecture-level ID number, integers beyond int32/int64, and
``PARALLEL`` identical writes at once. A service passes when no answer is 5xx (nor an
exception escaping the app) and a refused request (4xx) leaves its database as it was
(:func:`fingerprint` of every table, before and after).

A service's tests give what the schema cannot: real ids and valid bodies, as a
:class:`Seed` from ``hostile_seed(app, client, stack)`` in its ``<service>_testdata``
module (optional: without one, the routes get synthesised bodies and random ids).
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import datetime as dt
import logging
import re
import urllib.parse
import uuid
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import httpx
from sqlalchemy import text

from contracts.resident_id import compose

PARALLEL = 6
LONG_STRING = "x" * 100_000
#: A long query parameter: as long as an HTTP server lets a request line be (uvicorn's
#: h11 refuses a head over 16 KiB before the app sees it).
LONG_PARAMETER = "x" * 10_000
#: Another province's county (北京市朝阳区): well formed, outside every test region.
FOREIGN_REGION = "110105000000"
#: Valid check digits: a person of another province, and one whose address code is a
#: prefecture (临夏州 622902…), which no person is registered under.
FOREIGN_ID_NUMBER = compose("110105", dt.date(1980, 1, 1), 11)
PREFECTURE_ID_NUMBER = compose("622902", dt.date(1980, 1, 1), 11)
BAD_DATES: tuple[Any, ...] = ("0001-01-01", "1999-12-31", "2101-01-01", "9999-12-31", 0)
BAD_YEARS = (1, 1999, 2101, 9999, 0)
LARGE_AMOUNTS: tuple[Any, ...] = (
    "999999999999.99",
    999999999999.99,
    "99999999999999999999.99",
    "-999999999999.99",
    "1E+400",
)
LARGE_INTEGERS = (2**31, 2**63)
UNKNOWN_ENUM = "no_such_value"
#: Where a file's probes go (a seed puts it inside a value that reaches the database).
FILE_PROBE = b"{probe}"
#: Probes no service may accept, whatever the field: a 2xx to one of them is a finding.
NEVER_VALID = (
    "date 0",
    "NUL",
    "control characters",
    "unknown enum value",
    "foreign region",
    "prefecture-level ID number",
    "amount '99999999999999999999.99'",
    "amount '1E+400'",
)
#: Columns a service's own machinery changes after the request (the outbox relay marks
#: rows published): left out of the fingerprint.
VOLATILE_COLUMNS = {"outbox": {"published_at", "attempts", "last_error"}}
_MISSING = object()


@dataclasses.dataclass
class Seed:
    """What a service's test data knows that its OpenAPI does not.

    ``values``: by field or parameter name (``household_id``, ``person_id``, ``region``…),
    a value or a callable giving a fresh one (a new claim number for every request).
    ``bodies``: by operation (``"POST /claims"``; a branch of a discriminated body:
    ``"POST /households/{household_id}/transitions survey"``), a valid body or a callable
    giving one. ``files``: by operation, multipart files ``{field: (name, bytes, type)}``
    or a callable giving them; a file's probes go where it holds :data:`FILE_PROBE`
    (else into its second line).
    ``path_params``: by operation (or all branches of a discriminated body, keyed without
    the branch), path parameters of its own (a household in the state the operation
    needs), each a value or a callable.
    ``refusal_audit``: rows a refused request writes on purpose (an audit of the attempt),
    as {table: SQL condition selecting them}; the fingerprint leaves out only those rows.
    """

    values: dict[str, Any] = dataclasses.field(default_factory=dict)
    bodies: dict[str, Any] = dataclasses.field(default_factory=dict)
    files: dict[str, Any] = dataclasses.field(default_factory=dict)
    path_params: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    refusal_audit: dict[str, str] = dataclasses.field(default_factory=dict)

    def value(self, name: str) -> Any:
        return _fresh(self.values[name])


def _fresh(value: Any) -> Any:
    return value() if callable(value) else copy.deepcopy(value)


@dataclasses.dataclass
class Operation:
    method: str
    path: str
    spec: dict
    body: dict | None  # JSON body schema (a branch, for a discriminated body)
    branch: str | None = None
    multipart: dict | None = None
    stream: bool = False

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}" + (f" {self.branch}" if self.branch else "")

    @property
    def writes(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH")


@dataclasses.dataclass
class Request:
    path_params: dict[str, Any]
    query: dict[str, Any]
    json: Any = _MISSING
    files: dict | None = None


@dataclasses.dataclass(frozen=True)
class Finding:
    """One thing wrong: a 5xx (or an escaped exception), or a refusal that stored."""

    operation: str
    probe: str
    status: int | str
    error: str

    def __str__(self) -> str:
        return f"{self.operation} | {self.probe} | {self.status} | {self.error}"


@dataclasses.dataclass
class _Leaf:
    """A place a hostile value goes: a body path, or a parameter."""

    where: str  # "body", "query", "path"
    path: tuple
    name: str
    schema: dict
    present: bool
    value: Any = None
    fills: tuple = ()  # (path, value) to set first: the absent objects on the way


class Spec:
    """An OpenAPI document with its ``$ref``s resolved on demand."""

    def __init__(self, document: dict) -> None:
        self.document = document

    def resolve(self, schema: dict | None) -> dict:
        while schema and "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[1]
            schema = {**self.document["components"]["schemas"][name], **_without_ref(schema)}
        return schema or {}

    def branches(self, schema: dict) -> list[dict]:
        """The non-null alternatives of a schema (itself if it has none)."""
        schema = self.resolve(schema)
        options = schema.get("anyOf") or schema.get("oneOf")
        if not options:
            return [schema]
        outer = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
        return [
            {**outer, **self.resolve(option)}
            for option in options
            if self.resolve(option).get("type") != "null"
        ]

    def operations(self) -> list[Operation]:
        found = []
        for path, items in self.document["paths"].items():
            for method, spec in items.items():
                method = method.upper()
                queries = [p for p in spec.get("parameters", []) if p["in"] == "query"]
                if method == "GET" and not queries:
                    continue
                if method not in ("GET", "POST", "PUT", "PATCH"):
                    continue
                content = spec.get("requestBody", {}).get("content", {})
                ok = spec.get("responses", {}).get("200", {}).get("content", {})
                stream = "text/event-stream" in ok
                if "multipart/form-data" in content:
                    schema = self.resolve(content["multipart/form-data"]["schema"])
                    found.append(Operation(method, path, spec, None, multipart=schema))
                elif "application/json" in content:
                    schema = self.resolve(content["application/json"]["schema"])
                    mapping = schema.get("discriminator", {}).get("mapping")
                    if mapping:
                        found += [
                            Operation(method, path, spec, self.resolve({"$ref": ref}), branch)
                            for branch, ref in mapping.items()
                        ]
                    else:
                        found.append(Operation(method, path, spec, schema))
                else:
                    found.append(Operation(method, path, spec, None, stream=stream))
        return found


def _without_ref(schema: dict) -> dict:
    return {k: v for k, v in schema.items() if k != "$ref"}


# --- valid base requests ------------------------------------------------------------------


class Builder:
    """Valid requests from the schema and the seed."""

    def __init__(self, spec: Spec, seed: Seed) -> None:
        self.spec = spec
        self.seed = seed

    def base(self, op: Operation) -> Request:
        own = self.seed.path_params.get(op.key) or self.seed.path_params.get(
            f"{op.method} {op.path}", {}
        )
        path_params = {
            p["name"]: (
                _fresh(own[p["name"]])
                if p["name"] in own
                else self.value(p["name"], p.get("schema", {}))
            )
            for p in op.spec.get("parameters", [])
            if p["in"] == "path"
        }
        query = {
            p["name"]: self.value(p["name"], p.get("schema", {}))
            for p in op.spec.get("parameters", [])
            if p["in"] == "query" and (p.get("required") or p["name"] in self.seed.values)
        }
        request = Request(path_params, query)
        if op.multipart is not None:
            request.files = {
                field: (name, content.replace(FILE_PROBE, b""), media)
                for field, (name, content, media) in _fresh(self.seed.files.get(op.key, {})).items()
            }
            for name in op.multipart.get("required", []):
                request.files.setdefault(name, ("file.csv", b"a\n1\n", "text/csv"))
        elif op.body is not None:
            given = self.seed.bodies.get(op.key, _MISSING)
            if given is _MISSING:
                request.json = self.value("", op.body)
            else:
                request.json = given() if callable(given) else copy.deepcopy(given)
        return request

    def value(self, name: str, schema: dict) -> Any:
        """A valid value for a field named ``name``."""
        if name in self.seed.values:
            return self.seed.value(name)
        schema = self.spec.resolve(schema)
        if "const" in schema:
            return schema["const"]
        for key in ("examples", "example", "default"):
            if schema.get(key) not in (None, [], {}) or (key == "default" and key in schema):
                found = schema[key]
                if key == "examples":
                    found = found[0]
                if found is not None:
                    return copy.deepcopy(found)
        if "enum" in schema:
            return schema["enum"][0]
        branches = self.spec.branches(schema)
        if len(branches) > 1 or branches[0] is not schema:
            return self.value(name, branches[0])
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            return {
                key: self.value(key, schema["properties"][key])
                for key in schema.get("required", [])
            }
        if kind == "array":
            item = self.value(name, schema.get("items", {}))
            return [item] * max(schema.get("minItems", 1), 1)
        if kind == "integer":
            low, high = schema.get("minimum"), schema.get("maximum")
            if _is_year(name):
                return int(min(max(dt.date.today().year, low or 0), high or 9999))
            return int(low if low is not None else 1)
        if kind == "number":
            return schema.get("minimum", 1)
        if kind == "boolean":
            return False
        if kind == "string":
            return _string(schema)
        return "测试"


def _string(schema: dict) -> str:
    fmt = schema.get("format")
    if fmt == "date":
        return (dt.date.today() - dt.timedelta(days=30)).isoformat()
    if fmt == "date-time":
        return (dt.datetime.now(dt.UTC) - dt.timedelta(days=30)).isoformat()
    if fmt == "uuid":
        return str(uuid.uuid4())
    if "pattern" in schema:
        from hypothesis import strategies
        from hypothesis.errors import NonInteractiveExampleWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NonInteractiveExampleWarning)
            return (
                strategies.from_regex(schema["pattern"], fullmatch=True)
                .filter(
                    lambda s: schema.get("minLength", 0) <= len(s) <= schema.get("maxLength", 64)
                )
                .example()
            )
    low, high = schema.get("minLength", 1), schema.get("maxLength", 20)
    return ("测试文本" * (low // 4 + 1))[: max(low, min(high, 4))]


def _is_year(name: str) -> bool:
    return name == "year" or name.endswith("_year")


# --- hostile variants ---------------------------------------------------------------------


def _leaves(
    spec: Spec,
    schema: dict,
    value: Any,
    path: tuple,
    name: str,
    synth: Callable[[str, dict], Any],
    fills: tuple = (),
) -> Iterator[_Leaf]:
    """Every scalar place of a body, depth first. An optional object absent from the base
    is synthesised (``fills``: what to set before the place) so its fields are probed too."""
    options = spec.branches(schema)
    node = next((o for o in options if o.get("type") in ("object", "array")), None)
    if node is None and any("properties" in o for o in options):
        node = next(o for o in options if "properties" in o)
    if node is not None and (node.get("type") == "object" or "properties" in node):
        if not isinstance(value, dict):
            if not path:
                return
            value = synth(name, node)
            fills = (*fills, (path, value))
        for key, sub in node.get("properties", {}).items():
            yield from _leaves(spec, sub, value.get(key, _MISSING), (*path, key), key, synth, fills)
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):  # a map: its keys (or one) are places too
            for key in list(value) or ["x"]:
                if key not in node.get("properties", {}):
                    yield from _leaves(
                        spec, extra, value.get(key, _MISSING), (*path, key), key, synth, fills
                    )
        return
    if node is not None and node.get("type") == "array":
        items = node.get("items", {})
        if isinstance(value, list) and value:
            yield from _leaves(spec, items, value[0], (*path, 0), name, synth, fills)
        else:
            yield _Leaf("body", path, name, node, False, fills=fills)
        return
    yield _Leaf("body", path, name, schema, value is not _MISSING, value, fills)


def _probes(spec: Spec, leaf: _Leaf) -> list[tuple[str, Any]]:
    """(label, hostile value) for one place."""
    options = spec.branches(leaf.schema)
    types = {o.get("type") for o in options}
    formats = {o.get("format") for o in options}
    enums = [o for o in options if "enum" in o]
    name = leaf.name
    valid = leaf.value if isinstance(leaf.value, str) else "测试"
    found: list[tuple[str, Any]] = []
    is_amount = "number" in types  # a decimal is number-or-string
    if "string" in types or leaf.where != "body":
        found += [
            ("NUL", valid[:1] + "\x00" + valid[1:]),
            ("control characters", valid[:1] + "\x01\x1b\x7f" + valid[1:]),
        ]
        if leaf.where == "body":
            found.append(("100k characters", LONG_STRING))
        elif leaf.where == "query":
            found.append(("10k characters", LONG_PARAMETER))
    if "date" in formats or "date-time" in formats:
        found += [(f"date {d!r}", d) for d in BAD_DATES]
    if "integer" in types and _is_year(name):
        found += [(f"year {y}", y) for y in BAD_YEARS]
    elif "integer" in types:
        found += [(f"integer {n}", n) for n in LARGE_INTEGERS]
    if is_amount:
        found += [(f"amount {a!r}", a) for a in LARGE_AMOUNTS]
    if enums or "enum" in leaf.schema:
        found.append(("unknown enum value", UNKNOWN_ENUM))
    if "region" in name:
        found.append(("foreign region", FOREIGN_REGION))
    elif name in ("code", "parent") or _looks_like_region(leaf):
        found.append(("other province's code", FOREIGN_REGION))
    if "id_number" in name:
        found += [
            ("other province's ID number", FOREIGN_ID_NUMBER),
            ("prefecture-level ID number", PREFECTURE_ID_NUMBER),
        ]
    return found


def _looks_like_region(leaf: _Leaf) -> bool:
    example = (leaf.schema.get("examples") or [None])[0]
    return isinstance(example, str) and re.fullmatch(r"\d{12}", example) is not None


def _summed_lists(
    spec: Spec,
    schema: dict,
    value: Any,
    synth: Callable[[str, dict], Any],
    path: tuple = (),
    fills: tuple = (),
) -> Iterator[tuple]:
    """(path, amount field, fills) of the collections whose amounts are added up: a list
    of objects with an amount (field: its name), or a map of amounts (field: None). An
    optional object absent from the base is synthesised (``fills``), as in :func:`_leaves`."""
    if isinstance(value, dict):
        node = next((o for o in spec.branches(schema) if "properties" in o), {})
        for key, sub in node.get("properties", {}).items():
            at = (*path, key)
            options = spec.branches(sub)
            objects = [o for o in options if o.get("type") == "object" or "properties" in o]
            extra = objects[0].get("additionalProperties") if objects else None
            if isinstance(extra, dict) and _is_amount(spec, extra):
                yield at, None, fills
            elif key in value:
                yield from _summed_lists(spec, sub, value[key], synth, at, fills)
            elif objects and "properties" in objects[0]:
                made = synth(key, objects[0])
                yield from _summed_lists(spec, sub, made, synth, at, (*fills, (at, made)))
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        node = next((o for o in spec.branches(schema) if o.get("type") == "array"), {})
        items = next((o for o in spec.branches(node.get("items", {})) if "properties" in o), {})
        for key, sub in items.get("properties", {}).items():
            if _is_amount(spec, sub):
                yield path, key, fills


def _is_amount(spec: Spec, schema: dict) -> bool:
    return "number" in {o.get("type") for o in spec.branches(schema)}


def _set(body: Any, path: tuple, value: Any) -> Any:
    body = copy.deepcopy(body)
    if not path:
        return value
    node = body
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return body


def _get(body: Any, path: tuple) -> Any:
    for step in path:
        body = body[step]
    return body


@dataclasses.dataclass
class Variant:
    probe: str
    make: Callable[[], Request]  # a fresh request (fresh natural keys) with the probe applied
    times: int = 1  # sent this many times in a row (two maximal claims: their sum)


def variants(spec: Spec, builder: Builder, op: Operation) -> list[Variant]:
    base = builder.base(op)
    found: list[Variant] = []

    def body_variant(
        label: str, path: tuple, value: Any, times: int = 1, fills: tuple = ()
    ) -> None:
        def make() -> Request:
            request = builder.base(op)
            for at, filler in fills:
                request.json = _set(request.json, at, filler)
            request.json = _set(request.json, path, value)
            return request

        found.append(Variant(f"body.{'.'.join(map(str, path))}: {label}", make, times))

    if base.json is not _MISSING and op.body is not None:
        for leaf in _leaves(spec, op.body, base.json, (), "", builder.value):
            for label, value in _probes(spec, leaf):
                # an absent list gets the value as its one item
                if not leaf.present and "array" in {
                    o.get("type") for o in spec.branches(leaf.schema)
                }:
                    value = [value]
                times = 2 if label.startswith("amount") and op.method == "POST" else 1
                body_variant(label, leaf.path, value, times, leaf.fills)
        for path, field, fills in _summed_lists(spec, op.body, base.json, builder.value):
            if field is None:
                two = {"a": "999999999999.99", "b": "999999999999.99"}
                body_variant("two maximal amounts in one map", path, two, 2, fills)
                continue
            item = _get(base.json, path)[0]
            two = [{**item, field: "999999999999.99"} for _ in range(2)]
            body_variant(f"two maximal {field}s in one list", path, two, 2)
    for param in op.spec.get("parameters", []):
        if param["in"] not in ("query", "path"):
            continue
        leaf = _Leaf(param["in"], (), param["name"], param.get("schema", {}), True)
        for label, value in _probes(spec, leaf):

            def make(param=param, value=value) -> Request:
                request = builder.base(op)
                target = request.query if param["in"] == "query" else request.path_params
                target[param["name"]] = value
                return request

            found.append(Variant(f"{param['in']}.{param['name']}: {label}", make))
    if op.multipart is not None:
        for field in op.multipart.get("properties", {}):
            for label, poison in (("NUL", b"\x00"), ("control characters", b"\x01\x1b\x7f")):

                def make(field=field, poison=poison) -> Request:
                    given = _fresh(builder.seed.files.get(op.key, {}))
                    request = builder.base(op)
                    if field not in given:
                        return request
                    name, content, media = given[field]
                    if FILE_PROBE not in content:
                        cut = content.find(b"\n") + 2  # the second line's first cell
                        content = content[:cut] + FILE_PROBE + content[cut:]
                    request.files[field] = (name, content.replace(FILE_PROBE, poison), media)
                    return request

                found.append(Variant(f"file {field}: {label}", make))
    return found


# --- sending and checking -----------------------------------------------------------------


class _ErrorLog(logging.Handler):
    """The warnings and errors logged while a request runs (the cause of a 5xx)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text_ = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            exc = getattr(exc, "orig", None) or exc  # the driver's error, not SQLAlchemy's
            text_ = f"{type(exc).__name__}: {exc}"
        self.records.append(text_.splitlines()[0][:300] if text_ else "")

    def take(self) -> str:
        taken, self.records = self.records, []
        return " / ".join(dict.fromkeys(taken))


async def fingerprint(conn, *, ignore: dict[str, str] | None = None) -> dict[str, tuple[int, Any]]:
    """{table: (rows, sum of row hashes)} of every table of the public schema, without the
    columns the service's machinery changes by itself (:data:`VOLATILE_COLUMNS`) and the
    rows ``ignore`` selects ({table: SQL condition}: audits of refused attempts)."""
    ignore = ignore or {}
    rows = (
        await conn.execute(
            text(
                "SELECT c.table_name, c.column_name FROM information_schema.columns c "
                "JOIN information_schema.tables t USING (table_schema, table_name) "
                "WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' "
                "ORDER BY c.table_name, c.ordinal_position"
            )
        )
    ).all()
    columns: dict[str, list[str]] = {}
    for table, column in rows:
        if column in VOLATILE_COLUMNS.get(table, ()):
            continue
        columns.setdefault(table, []).append(f'"{column}"')
    query = " UNION ALL ".join(
        f"SELECT '{table}', count(*), coalesce(sum(hashtextextended(ROW({', '.join(cols)})::text, 0)), 0) "
        f'FROM "{table}"' + (f" WHERE NOT ({ignore[table]})" if table in ignore else "")
        for table, cols in columns.items()
    )
    return {
        name: (count, digest) for name, count, digest in (await conn.execute(text(query))).all()
    }


class Prober:
    """Sends an operation's variants to a running app and collects the findings."""

    def __init__(self, app, client: httpx.AsyncClient, headers: dict, seed: Seed) -> None:
        self.app = app
        self.client = client
        self.headers = headers
        self.seed = seed
        self.spec = Spec(app.openapi())
        self.builder = Builder(self.spec, seed)
        self.findings: list[Finding] = []
        self.sent = 0
        #: What the valid base request of each operation got (an error: its text).
        self.base_statuses: dict[str, int | str] = {}
        self.last_error = ""
        self.log = _ErrorLog()

    async def fingerprint(self) -> dict:
        async with self.app.state.runtime.engine.connect() as conn:
            return await fingerprint(conn, ignore=self.seed.refusal_audit)

    async def send(self, op: Operation, request: Request) -> tuple[int | str, str]:
        """(status or "exception", what went wrong)."""
        self.sent += 1
        path = op.path
        for name, value in request.path_params.items():
            path = path.replace("{" + name + "}", urllib.parse.quote(str(value), safe=""))
        kwargs: dict[str, Any] = {"params": _query(request.query), "headers": self.headers}
        if request.json is not _MISSING:
            kwargs["json"] = request.json
        if request.files is not None:
            kwargs["files"] = request.files
        try:
            if op.stream:
                status = await _stream_status(self.app, op.method, path, kwargs)
                return status, self.log.take()
            response = await self.client.request(op.method, path, **kwargs)
        except Exception as exc:  # escaped the app's error handlers
            self.log.take()
            exc = getattr(exc, "orig", None) or exc
            return "exception", f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
        error = self.log.take()
        if response.status_code >= 400:
            self.last_error = response.text[:300]
        if response.status_code >= 500:
            try:
                detail = response.json().get("detail") or response.json().get("title")
            except ValueError:
                detail = response.text[:200]
            error = f"{detail} {error}".strip()
        return response.status_code, error

    async def run(self, operations: list[Operation] | None = None) -> list[Finding]:
        root = logging.getLogger()
        root.addHandler(self.log)
        try:
            for op in operations or self.spec.operations():
                await self.probe(op)
        finally:
            root.removeHandler(self.log)
        return self.findings

    async def probe(self, op: Operation) -> None:
        status, _ = await self.send(op, self.builder.base(op))
        self.base_statuses[op.key] = (
            status if status in (200, 201, 202, 204) else (f"{status} {self.last_error}")
        )
        batch = variants(self.spec, self.builder, op)
        refused = await self._batch(op, batch)
        if refused is not None and refused:
            # Some variants were accepted (their writes are expected): the refused ones are
            # sent again on their own, each between two fingerprints only if it must be.
            again = await self._batch(op, refused)
            for variant in again or []:
                await self._batch(op, [variant])

    async def _batch(self, op: Operation, batch: list[Variant]) -> list[Variant] | None:
        """Send the variants; a 5xx is a finding. None if every one was refused (then the
        database must be unchanged), else the refused ones."""
        before = await self.fingerprint()
        refused, accepted = [], False
        for variant in batch:
            statuses = []
            for _ in range(variant.times):
                status, error = await self.send(op, variant.make())
                statuses.append(status)
                if status == "exception" or status >= 500:
                    self.findings.append(Finding(op.key, variant.probe, status, error))
            if all(isinstance(s, int) and 400 <= s < 500 for s in statuses):
                refused.append(variant)
                continue
            accepted = True
            never_valid = variant.probe.split(": ", 1)[-1] in NEVER_VALID
            if never_valid and not variant.probe.startswith("file") and _ok(statuses):
                self.findings.append(Finding(op.key, variant.probe, statuses[0], "accepted"))
        if accepted:
            return refused
        after = await self.fingerprint()
        if before != after:
            changed = sorted(t for t in after if before.get(t) != after[t])
            probes = ", ".join(v.probe for v in batch[:3]) + (" …" if len(batch) > 3 else "")
            self.findings.append(
                Finding(op.key, f"refused ({probes})", "stored", f"tables changed: {changed}")
            )
        return None

    async def parallel(self, op: Operation) -> None:
        """``PARALLEL`` identical writes at once (a client retrying a timed-out request)."""
        request = self.builder.base(op)
        root = logging.getLogger()
        root.addHandler(self.log)
        try:
            results = await asyncio.gather(*(self.send(op, request) for _ in range(PARALLEL)))
        finally:
            root.removeHandler(self.log)
        for status, error in results:
            if status == "exception" or status >= 500:
                probe = f"{PARALLEL} parallel identical requests"
                self.findings.append(Finding(op.key, probe, status, error))


def _ok(statuses: list) -> bool:
    return any(isinstance(s, int) and 200 <= s < 300 for s in statuses)


def _query(query: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in query.items()}


async def _stream_status(app, method: str, path: str, kwargs: dict) -> int:
    """The status of a streaming response (it never ends by itself): the app is called
    directly, and the client leaves once the response has started."""
    url = httpx.URL(path, params=kwargs["params"])
    started: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    leave = asyncio.Event()

    async def receive() -> dict:
        if not leave.is_set() and not getattr(receive, "sent", False):
            receive.sent = True  # type: ignore[attr-defined]
            return {"type": "http.request", "body": b"", "more_body": False}
        await leave.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start" and not started.done():
            started.set_result(message["status"])

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": url.path,
        "raw_path": url.raw_path.split(b"?")[0],
        "query_string": url.query,
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in kwargs["headers"].items()],
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 12345),
    }
    task = asyncio.create_task(app(scope, receive, send))
    try:
        done, _ = await asyncio.wait({task, started}, timeout=10, return_when="FIRST_COMPLETED")
        if task in done and not started.done():
            task.result()  # raises what escaped
        return await asyncio.wait_for(started, timeout=1)
    finally:
        leave.set()
        try:
            await asyncio.wait_for(task, timeout=5)
        except (TimeoutError, asyncio.CancelledError):
            task.cancel()


def report(findings: list[Finding]) -> str:
    """The findings grouped by operation, one line each."""
    return "\n".join(sorted({str(f) for f in findings}))
