"""Every problem a service answers with is catalogued (ARCHITECTURE §2.5): declared once in
``kit.problems`` or the service's ``errors.py``, listed in the generated ``docs/errors.md``,
and raised only from there. The source is read, not run: a code raised on a path no test
takes is checked too."""

from __future__ import annotations

import ast
import importlib
from collections import Counter
from pathlib import Path

import pytest

from devstack.generate import library_catalogues, problem_catalogues
from devstack.project import load_services, repo_root
from kit.problems import ProblemType

ROOT = repo_root()
KIT_CATALOGUE = "kit.problems"


def source_files() -> dict[str, Path]:
    """{module: file} of kit, the domain libraries that raise problems, and every service."""
    libraries = [ROOT / "libs" / module.split(".")[0] / "src" for module in library_catalogues()]
    roots = [ROOT / "libs" / "kit" / "src", *libraries] + [
        ROOT / "services" / s.name / "src" for s in load_services()
    ]
    files = {}
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return files


def catalogue_modules() -> dict[str, set[str]]:
    """{catalogue module: the codes it declares}."""
    return {module: {kind.code for kind in kinds} for module, kinds in problem_catalogues().items()}


def refusals(module: str, source: str, catalogues: dict[str, set[str]]) -> list[str]:
    """What in ``module``'s source raises a problem that is not catalogued: a problem type
    declared outside a catalogue module, a literal ``code=`` (a problem body built by
    hand), or an entry a catalogue does not have."""
    tree = ast.parse(source)
    aliases: dict[str, str] = {}  # local name -> catalogue module it refers to
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for name in node.names:
                local = name.asname or name.name
                if f"{node.module}.{name.name}" in catalogues:  # from registry import errors
                    aliases[local] = f"{node.module}.{name.name}"
                elif node.module in catalogues and name.name.isupper():  # from … import X
                    if name.name not in catalogues[node.module]:
                        found.append(f"{module}:{node.lineno} {name.name} is not catalogued")
        elif isinstance(node, ast.Import):
            for name in node.names:
                if name.name in catalogues:
                    aliases[name.asname or name.name] = name.name
    for node in ast.walk(tree):
        where = f"{module}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Call):
            called = node.func.attr if isinstance(node.func, ast.Attribute) else None
            called = node.func.id if isinstance(node.func, ast.Name) else called
            if called == "ProblemType" and module not in catalogues:
                found.append(f"{where} declares a problem type outside a catalogue module")
            for keyword in node.keywords:
                literal = isinstance(keyword.value, ast.Constant)
                if keyword.arg == "code" and literal and isinstance(keyword.value.value, str):
                    found.append(
                        f"{where} builds a problem with the literal code {keyword.value.value!r}"
                    )
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and node.attr.isupper()
            and node.attr not in catalogues[aliases[node.value.id]]
        ):
            found.append(f"{where} {node.value.id}.{node.attr} is not catalogued")
    return found


def test_every_raised_problem_is_catalogued():
    catalogues = catalogue_modules()
    found = [
        refusal
        for module, path in source_files().items()
        for refusal in refusals(module, path.read_text(encoding="utf-8"), catalogues)
    ]
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    "source",
    [
        'raise Problem(409, "Taken", "taken", code="TAKEN")',
        'TAKEN = ProblemType(409, "TAKEN", "Taken", "The name is taken.")',
        "from registry import errors\nraise errors.NO_SUCH_CODE('detail')",
        "from kit import problems\nraise problems.NO_SUCH_CODE('detail')",
        "from registry.errors import NO_SUCH_CODE",
    ],
)
def test_the_scan_refuses_an_uncatalogued_problem(source):
    """The check can fail: each way of raising past the catalogue is reported."""
    assert refusals("registry.households.service", source, catalogue_modules())


def test_catalogued_problems_pass_the_scan():
    source = (
        "from kit import problems\nfrom registry import errors\n"
        "raise errors.HEAD_REQUIRED('x')\nraise problems.NOT_FOUND('y')"
    )
    assert refusals("registry.households.service", source, catalogue_modules()) == []


def test_every_service_has_a_catalogue():
    for service in load_services():
        assert f"{service.package}.errors" in catalogue_modules(), service.name


@pytest.mark.parametrize("module", sorted(catalogue_modules()))
def test_codes_are_unique_across_kit_and_the_service(module):
    kinds = problem_catalogues()[module]
    repeated = [code for code, n in Counter(k.code for k in kinds).items() if n > 1]
    assert not repeated, f"{module} declares {repeated} more than once"
    if module != KIT_CATALOGUE:
        shared = catalogue_modules()[KIT_CATALOGUE] & {k.code for k in kinds}
        assert not shared, f"{module} declares kit's {sorted(shared)} again"


@pytest.mark.parametrize("module", sorted(catalogue_modules()))
def test_each_entry_is_named_after_its_code_and_explained(module):
    for name, value in vars(importlib.import_module(module)).items():
        if isinstance(value, ProblemType):
            assert name == value.code, f"{module}.{name} declares the code {value.code}"
            assert value.meaning.strip() and value.title.strip(), f"{module}.{name}"
            assert 400 <= value.status < 600, f"{module}.{name}"


def test_every_code_is_in_the_committed_table():
    table = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    missing = [
        f"{module}.{code}"
        for module, codes in catalogue_modules().items()
        for code in codes
        if f"| `{code}` |" not in table
    ]
    assert not missing, f"docs/errors.md lacks {missing}: run `make generate`"
