"""The project's documents match the code.

- Every ``DOMAIN §n`` / ``ARCHITECTURE §n.m`` the code (or a document) cites is a section of
  ``docs/``: a heading whose title begins with that number (``## §3 Events``,
  ``### §4.2 One-stop settlement``), in ``docs/domain/`` for DOMAIN and in
  ``docs/architecture.md`` for ARCHITECTURE.
- Every policy parameter a service declares (a ``PolicyBook`` in ``<package>.policy``) is in
  its table in ``docs/domain/``, with its default where that is a plain value, and every key
  those tables list is declared.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from decimal import Decimal
from pathlib import Path

import pytest

from devstack.project import load_services, repo_root
from kit.policy import PolicyBook

ROOT = repo_root()
DOCS = ROOT / "docs"
CITING = [ROOT / "libs", ROOT / "services", ROOT / "tests", DOCS, ROOT / "README.md"]
SUFFIXES = {".py", ".md", ".toml", ".txt", ".yaml", ".yml", ".ini"}

SECTION = r"§\d+(?:\.\d+)?"
# "DOMAIN §2.3–§2.6", "ARCHITECTURE §2.3, §3", "DOMAIN.md §2.2": every number after the name
CITATION = re.compile(
    rf"\b(DOMAIN|ARCHITECTURE)(?:\.md)? ({SECTION}(?:(?:\s*[,–-]\s*|\s+and\s+){SECTION})*)"
)
HEADING = re.compile(rf"^#+ ({SECTION})(?=[\s:]|$)(.*)$", re.MULTILINE)


def citing_files() -> list[Path]:
    files: list[Path] = []
    for place in CITING:
        if place.is_file():
            files.append(place)
            continue
        for path in place.rglob("*"):
            if path.suffix in SUFFIXES and path.is_file() and ".venv" not in path.parts:
                files.append(path)
    return sorted(files)


def citations() -> dict[tuple[str, str], list[str]]:
    """{(DOMAIN | ARCHITECTURE, §n.m): ["path:line", …]}"""
    found: dict[tuple[str, str], list[str]] = {}
    for path in citing_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in CITATION.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            for number in re.findall(SECTION, match.group(2)):
                where = f"{path.relative_to(ROOT)}:{line}"
                found.setdefault((match.group(1), number), []).append(where)
    return found


def headings(document: str) -> dict[str, str]:
    """{§n.m: title} of the DOMAIN or the ARCHITECTURE document."""
    paths = (
        sorted((DOCS / "domain").glob("*.md"))
        if document == "DOMAIN"
        else [DOCS / "architecture.md"]
    )
    titles: dict[str, str] = {}
    for path in paths:
        for match in HEADING.finditer(path.read_text(encoding="utf-8")):
            number, title = match.groups()
            assert number not in titles, f"{document} {number} is a heading twice ({path.name})"
            titles[number] = title.strip()
    return titles


def test_the_code_cites_sections():
    """The collector finds what the code cites (it cannot pass by finding nothing)."""
    cited = citations()
    assert ("DOMAIN", "§4.2") in cited and ("ARCHITECTURE", "§6") in cited
    assert ("DOMAIN", "§2.6") in cited  # the end of "DOMAIN §2.3–§2.6"
    assert len(cited) > 30


def test_every_cited_section_is_a_heading_in_docs():
    known = {name: headings(name) for name in ("DOMAIN", "ARCHITECTURE")}
    missing = [
        f"{name} {number} (cited at {', '.join(places[:3])})"
        for (name, number), places in sorted(citations().items())
        if number not in known[name]
    ]
    assert not missing, "cited but not a section of docs/:\n" + "\n".join(missing)


# What the citing code expects each section to be about: a renumbering of docs/ that moves
# a topic away from the number the code cites fails here, not silently.
TOPICS = {
    ("DOMAIN", "§0"): "policy parameters",
    ("DOMAIN", "§1.3"): "ID number",
    ("DOMAIN", "§1.4"): "Money",
    ("DOMAIN", "§1.5"): "dimensions",
    ("DOMAIN", "§1.6"): "continuity",
    ("DOMAIN", "§1.7"): "Confidentiality",
    ("DOMAIN", "§2"): "Registry",
    ("DOMAIN", "§2.3"): "Poverty state",
    ("DOMAIN", "§2.4"): "Identification",
    ("DOMAIN", "§2.8"): "Helpers",
    ("DOMAIN", "§2.9"): "Screening",
    ("DOMAIN", "§2.11"): "Monitoring",
    ("DOMAIN", "§3"): "Education",
    ("DOMAIN", "§4"): "Health",
    ("DOMAIN", "§4.1"): "premium",
    ("DOMAIN", "§4.2"): "settlement",
    ("DOMAIN", "§4.3"): "dialysis",
    ("DOMAIN", "§5"): "Housing",
    ("DOMAIN", "§6"): "Low-income",
    ("DOMAIN", "§8.1"): "status document",
    ("DOMAIN", "§8.2"): "statistics",
    ("DOMAIN", "§9"): "Roles",
    ("DOMAIN", "§11"): "fixtures",
    ("ARCHITECTURE", "§2.2"): "outbox",
    ("ARCHITECTURE", "§2.3"): "consumers",
    ("ARCHITECTURE", "§3"): "Events",
    ("ARCHITECTURE", "§6"): "Security",
}


@pytest.mark.parametrize(
    ("document", "number"), sorted(TOPICS), ids=[f"{d} {n[1:]}" for d, n in sorted(TOPICS)]
)
def test_a_cited_section_keeps_its_topic(document, number):
    title = headings(document).get(number, "")
    assert TOPICS[document, number].lower() in title.lower(), (
        f"{document} {number} is {title!r}; the code cites it for {TOPICS[document, number]!r}"
    )


def policy_books() -> dict[str, list[PolicyBook]]:
    """{service: its PolicyBooks}, for every service with a ``<package>.policy`` module."""
    books: dict[str, list[PolicyBook]] = {}
    for service in load_services():
        name = f"{service.package}.policy"
        if importlib.util.find_spec(name) is None:
            continue
        module = importlib.import_module(name)
        found = [v for v in vars(module).values() if isinstance(v, PolicyBook)]
        if found:
            books[service.name] = found
    return books


def domain_lines() -> list[str]:
    return [
        line
        for path in sorted((DOCS / "domain").glob("*.md"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]


def documented_keys() -> set[str]:
    """The keys in the first column of every "Policy parameters" table of docs/domain."""
    keys: set[str] = set()
    for path in sorted((DOCS / "domain").glob("*.md")):
        in_table = False
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("#"):
                in_table = line.strip("# ").lower() == "policy parameters"
            elif in_table and (key := re.match(r"^\| `([^`]+)` \|", line)):
                keys.add(key.group(1))
    return keys


def test_every_policy_parameter_is_documented_with_its_default():
    books = policy_books()
    assert {"registry", "health"} <= set(books), books.keys()
    lines = domain_lines()
    problems = []
    for service, service_books in books.items():
        for book in service_books:
            for key, parameter in book.parameters.items():
                rows = [line for line in lines if line.startswith(f"| `{key}` |")]
                if not rows:
                    problems.append(f"{service}: `{key}` has no row in docs/domain")
                    continue
                default = parameter.default
                if isinstance(default, (bool, int, str, Decimal)) and not any(
                    f"| {default} |" in row for row in rows
                ):
                    problems.append(f"{service}: `{key}` is documented without its {default}")
    assert not problems, "\n".join(problems)


def test_every_documented_parameter_exists():
    declared = {
        key
        for service_books in policy_books().values()
        for book in service_books
        for key in book.parameters
    }
    stale = sorted(documented_keys() - declared)
    assert not stale, f"documented but not declared by any service: {stale}"


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_links_between_the_documents_resolve():
    """README and docs/ link each other's sections: every relative link names a file that
    exists and, with a #fragment, one of its headings."""
    broken = []
    for source in [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]:
        text = source.read_text(encoding="utf-8")
        for target, fragment in re.findall(r"\]\(([^)#\s]*)(#[^)\s]+)?\)", text):
            if re.match(r"^[a-z]+:", target):
                continue  # http:, mailto:
            path = (source.parent / target) if target else source
            if not path.exists():
                broken.append(f"{source.relative_to(ROOT)}: {target}")
            elif fragment and path.is_file():
                headings_there = re.findall(r"^#+ (.*)$", path.read_text(encoding="utf-8"), re.M)
                if fragment[1:] not in {anchor(h) for h in headings_there}:
                    broken.append(f"{source.relative_to(ROOT)}: {target}{fragment}")
    assert not broken, "\n".join(broken)
