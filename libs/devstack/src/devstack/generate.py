"""Generated files that must match the code: ``openapi/<service>.json``, the event
catalogue (``openapi/events.md`` and the README section between its markers), the problem
catalogue (``docs/errors.md``) and the NATS users of compose and Kubernetes, whose dashboard
permissions follow the catalogue's producers (``deploy/nats/users.conf``,
``deploy/k8s/base/nats-users.yaml``)."""

from __future__ import annotations

import contextlib
import importlib
import json
import sys

from cryptography.fernet import Fernet

from contracts.events import CATALOGUE
from devstack import nats_config
from devstack.project import ServiceInfo, environment, load_services, repo_root

README_START = "<!-- event-catalogue:start -->"
README_END = "<!-- event-catalogue:end -->"
SETTINGS_START = "<!-- settings:start -->"
SETTINGS_END = "<!-- settings:end -->"


def openapi_documents() -> dict[str, str]:
    """{relative path: JSON text} for every service's OpenAPI spec."""
    documents = {}
    for service in load_services():
        module = importlib.import_module(
            f"{service.package}.main"
        )  # loaded by name, like uvicorn does
        with _throwaway_secrets(service):
            app = module.create_app()
        text = json.dumps(app.openapi(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        documents[f"openapi/{service.name}.json"] = text
    return documents


def _throwaway_secrets(service: ServiceInfo) -> contextlib.AbstractContextManager[None]:
    """Building an app for its spec needs its secrets set, not their real values."""
    names = [service.env_prefix + name for name in service.secrets]
    return environment({name: Fernet.generate_key().decode() for name in names})


def catalogue_markdown() -> str:
    services = {s.name: s for s in load_services()}
    lines = [
        "| subject (`<service>.<aggregate>.<event>.<p>.<c>.<x>.<t>.<v>`) | CloudEvents type | aggregate | producer | consumers | meaning |",
        "|---|---|---|---|---|---|",
    ]
    for spec in CATALOGUE.specs:
        consumers = ", ".join(spec.consumers) or "—"
        producer = spec.producer if spec.producer in services else f"{spec.producer} (planned)"
        lines.append(
            f"| `{spec.name}.>` | `{spec.type}` | {spec.aggregate} | {producer} | {consumers} | {spec.description} |"
        )
    lines.append("")
    lines.append("Payload fields (JSON Schema of each `data`):")
    lines.append("")
    for spec in CATALOGUE.specs:
        fields = ", ".join(f"`{name}`" for name in spec.payload.model_fields)
        lines.append(f"- `{spec.name}` v{spec.version} ({spec.payload.__name__}): {fields}")
    return "\n".join(lines) + "\n"


def events_document() -> str:
    schemas = {spec.type: spec.payload.model_json_schema() for spec in CATALOGUE.specs}
    return (
        "# Event catalogue\n\n"
        "Generated from `libs/contracts` by `make generate`; do not edit by hand.\n"
        "Envelope: CloudEvents 1.0 (JSON structured mode) with extensions `region`, `sequence`, `traceparent`;\n"
        "the event id is also the `Nats-Msg-Id` header.\n\n"
        + catalogue_markdown()
        + "\n## Payload schemas\n\n```json\n"
        + json.dumps(schemas, indent=2, ensure_ascii=False, sort_keys=True)
        + "\n```\n"
    )


def library_catalogues() -> list[str]:
    """The ``errors`` modules of the domain libraries (``libs/<lib>/src/<package>/errors.py``):
    problems a library raises for every service that uses it. (Kit's are ``kit.problems``;
    its ``errors`` module is the mapping to problem+json.)"""
    return sorted(
        f"{path.parent.name}.errors"
        for path in repo_root().glob("libs/*/src/*/errors.py")
        if path.parent.name != "kit"
    )


def problem_catalogues() -> dict[str, list]:
    """{module: its problem types}: kit's shared ones, the domain libraries', then each
    service's ``errors.py``."""
    from kit import problems

    modules = [
        "kit.problems",
        *library_catalogues(),
        *(f"{s.package}.errors" for s in load_services()),
    ]
    return {name: problems.catalogue(importlib.import_module(name)) for name in modules}


def errors_document() -> str:
    """``docs/errors.md``: every code a service answers with, from the catalogues."""
    parts = [
        "# Problem codes\n\n"
        "Generated from `kit.problems`, the libraries' and each service's `errors.py` by "
        "`make generate`; do "
        "not edit by hand. Every error is an RFC 9457 `application/problem+json` body "
        "([ARCHITECTURE §2.5](architecture.md#25-bad-input-never-produces-a-500)) whose `code` "
        "is one of these. Where a problem is about a request field, `errors[0].field` names "
        "it: the field below, or the one the case names where the column is empty.\n"
    ]
    for module, kinds in problem_catalogues().items():
        heading = "Every service" if module == "kit.problems" else module.split(".")[0]
        parts.append(f"\n## {heading} (`{module}`)\n\n")
        if not kinds:
            parts.append("No problems of its own yet: it answers with the shared ones.\n")
            continue
        parts.append("| code | status | title | field | meaning |\n|---|---|---|---|---|\n")
        for kind in sorted(kinds, key=lambda k: k.code):
            field = f"`{kind.field}`" if kind.field else "—"
            parts.append(
                f"| `{kind.code}` | {kind.status} | {kind.title} | {field} | {kind.meaning} |\n"
            )
    return "".join(parts)


def settings_markdown() -> str:
    """Every setting of every service, from the Settings classes themselves."""
    from kit.settings import ServiceSettings

    lines = [
        "| variable | default | meaning |",
        "|---|---|---|",
    ]
    shared_done = False
    for service in load_services():
        module = importlib.import_module(f"{service.package}.config")
        settings_cls = next(
            c
            for c in vars(module).values()
            if isinstance(c, type) and issubclass(c, ServiceSettings) and c is not ServiceSettings
        )
        prefix = settings_cls.model_config.get("env_prefix", "")
        for name, field in settings_cls.model_fields.items():
            own = name not in ServiceSettings.model_fields or name in (
                "service_name",
                "database_url",
            )
            if not own and shared_done:
                continue
            variable = f"`{prefix}{name.upper()}`"
            if not own:
                variable = f"`<SERVICE>_{name.upper()}`"
                if name in ServiceSettings.shared_fields:
                    variable += f" or `{name.upper()}`"
            value = field.get_default(call_default_factory=True)
            default = (
                "—"
                if value is None
                else f"`{json.dumps(value) if isinstance(value, dict) else value}`"
            )
            meaning = " ".join((field.description or "").split())  # one table row
            lines.append(f"| {variable} | {default} | {meaning} |")
        shared_done = True
    return "\n".join(lines) + "\n"


def _between(text: str, start: str, end: str, content: str) -> str:
    if start not in text or end not in text:
        raise ValueError(f"README.md lacks the markers {start} … {end}")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{content}{end}{tail}"


def readme_with_catalogue(readme: str) -> str:
    """The README with its generated sections (event catalogue, settings) brought up to date."""
    readme = _between(readme, README_START, README_END, catalogue_markdown())
    return _between(readme, SETTINGS_START, SETTINGS_END, settings_markdown())


def _write_or_check(files: dict[str, str], check: bool) -> int:
    root = repo_root()
    stale = []
    for relative, text in files.items():
        path = root / relative
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != text:
            stale.append(relative)
            if not check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
    if stale and check:
        print("out of date (run `make generate`): " + ", ".join(stale), file=sys.stderr)
        return 1
    print(("updated: " + ", ".join(stale)) if stale else "up to date")
    return 0


def write_openapi(check: bool = False) -> int:
    return _write_or_check(openapi_documents(), check)


def write_catalogue(check: bool = False) -> int:
    root = repo_root()
    files = {
        "openapi/events.md": events_document(),
        "docs/errors.md": errors_document(),
        "README.md": readme_with_catalogue((root / "README.md").read_text(encoding="utf-8")),
        **nats_config.generated_files(),
    }
    return _write_or_check(files, check)
