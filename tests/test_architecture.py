"""Architecture is checked, not hoped for: services never import each other, the libs never
import a service, and a service's pure rules do no I/O. The import-linter contracts are built
from services/services.toml and the services' folders, so a new service is covered as soon as
it is listed there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from devstack.project import load_services, repo_root

LIBS = ["kit", "contracts", "devstack", "persons"]

#: A module with one of these names holds pure rules (纯规则): decisions over values, no I/O.
#: The names are the convention a service's modules follow, so a new service's rules are
#: covered without editing this file.
PURE_RULE_NAMES = frozenset(
    {"rules", "machine", "eligibility", "dimension", "dimensions", "compulsory", "grants"}
)

#: What a pure rule may not reach, directly or through another module: the database, the web
#: framework, HTTP, the bus, and kit's mechanism (see :func:`kit_mechanism`). Beside these,
#: each service's ``models`` and every ``schemas`` module (the API's shapes, not the rules').
IO_PACKAGES = [
    "sqlalchemy",
    "sqlmodel",
    "fastapi",
    "starlette",
    "httpx",
    "nats",
    "asyncpg",
    "alembic",
]

#: The one kit module a pure rule may import: the problem catalogue's type, so a rule raises
#: a catalogued problem (``<service>/errors.py``) itself. It imports no I/O, which the
#: contract checks like any other import of a rule.
PURE_KIT_MODULES = frozenset({"kit.problems"})


def kit_mechanism() -> list[str]:
    """kit's modules and packages but the pure ones: every one of them does I/O."""
    names = {
        f"kit.{path.stem}"
        for path in (repo_root() / "libs" / "kit" / "src" / "kit").iterdir()
        if (path.suffix == ".py" and path.stem != "__init__") or (path / "__init__.py").exists()
    }
    return sorted(names - PURE_KIT_MODULES)


def _modules(package: str) -> list[str]:
    source = repo_root() / "services" / package / "src"
    names = []
    for path in sorted((source / package).rglob("*.py")):
        parts = path.relative_to(source).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def pure_rule_modules() -> list[str]:
    return [
        module
        for service in load_services()
        for module in _modules(service.package)
        if module.rsplit(".", 1)[-1] in PURE_RULE_NAMES
    ]


def io_modules() -> list[str]:
    """The services' modules a pure rule may not import: models and schemas."""
    return [
        module
        for service in load_services()
        for module in _modules(service.package)
        if module.rsplit(".", 1)[-1] in {"models", "schemas"}
    ]


def _lines(names: list[str]) -> str:
    return "\n    ".join(names)


def forbidden(key: str, name: str, sources: list[str], modules: list[str]) -> str:
    """An import-linter contract: ``sources`` import none of ``modules``, even indirectly."""
    return f"""
[importlinter:contract:{key}]
name = {name}
type = forbidden
source_modules =
    {_lines(sources)}
forbidden_modules =
    {_lines(modules)}
"""


def importlinter_config() -> str:
    services = [s.package for s in load_services()]
    return (
        f"""[importlinter]
root_packages =
    {_lines(LIBS + services)}
include_external_packages = True

[importlinter:contract:services-independent]
name = Services do not import each other
type = independence
modules =
    {_lines(services)}
"""
        + forbidden("libs-below-services", "Libraries never import services", LIBS, services)
        + forbidden(
            "pure-rules",
            "Pure rules do no I/O and know neither models nor schemas",
            pure_rule_modules(),
            IO_PACKAGES + kit_mechanism() + io_modules(),
        )
    )


def lint_imports(config_text: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "importlinter.ini"
    config.write_text(config_text)
    lint = Path(sys.executable).parent / "lint-imports"
    return subprocess.run(
        # no cache: a cached graph once reported an import already removed from the code
        [str(lint), "--config", str(config), "--no-cache"],
        capture_output=True,
        text=True,
        cwd=repo_root(),
    )


def test_import_contracts_hold(tmp_path: Path):
    result = lint_imports(importlinter_config(), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


#: What kit, the mechanism every service shares, may not know: any domain's events, the
#: status dimensions, the registry's persons (a domain library above it).
DOMAIN_MODULES = ["contracts.events", "contracts.status", "persons"]


def test_kit_is_mechanism_only(tmp_path: Path):
    """Kit knows no domain: services pass it their catalogue (``ConsumerDefinition``)."""
    config = f"[importlinter]\nroot_packages =\n    {_lines(LIBS)}\n" + forbidden(
        "kit-mechanism-only", "Kit knows no domain", ["kit"], DOMAIN_MODULES
    )
    result = lint_imports(config, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_pure_rule_modules_are_found():
    """The convention finds the rules of every service (a rename would silently uncover them)."""
    found = set(pure_rule_modules())
    assert {
        "registry.households.rules",
        "registry.households.dimensions",
        "registry.monitoring.rules",
        "registry.workflow.machine",
        "registry.workflow.rules",
        "health.settlement.rules",
        "health.enrolment.eligibility",
        "health.medical.dimension",
        "gateway.status.dimensions",
        "education.compulsory",
        "education.grants",
    } <= found


def test_contract_would_catch_a_violation(tmp_path: Path):
    """The check can fail: a service importing another one is reported."""
    package = tmp_path / "pkgs"
    for name, body in {"alpha": "import beta\n", "beta": ""}.items():
        (package / name).mkdir(parents=True)
        (package / name / "__init__.py").write_text(body)
    config = tmp_path / "importlinter.ini"
    config.write_text(
        "[importlinter]\nroot_packages =\n    alpha\n    beta\n\n"
        "[importlinter:contract:x]\nname = independent\ntype = independence\nmodules =\n    alpha\n    beta\n"
    )
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint), "--config", str(config), "--no-cache"],
        capture_output=True,
        text=True,
        cwd=package,
        env={"PYTHONPATH": str(package), "PATH": ""},
    )
    assert result.returncode != 0 and "BROKEN" in result.stdout


def test_rules_may_import_the_problem_catalogue_but_no_other_kit_module():
    forbidden = set(kit_mechanism())
    assert {"kit.db", "kit.errors", "kit.auth", "kit.clock", "kit.outbox"} <= forbidden
    assert "kit.problems" not in forbidden
