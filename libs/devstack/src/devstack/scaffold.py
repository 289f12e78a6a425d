"""``devstack new-service``: a new service's folder, from ``templates/service``, and its
table in services/services.toml (docs/adding-a-service.md).

Templates name the service ``{{name}}`` (package, database), ``{{Name}}`` (class prefix,
``LowIncome``), ``{{NAME}}`` (settings prefix), ``{{distribution}}``, ``{{title}}``,
``{{department}}`` and ``{{port}}``; ``__name__`` in a path is the package. Lines between
``# if publishes`` and ``# end if`` are kept only for a service that publishes events."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from devstack.project import load_services

NAME = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")  # a package, a database, a subject prefix
BLOCK = re.compile(r"^[ \t]*# if publishes\n(.*?)^[ \t]*# end if\n", re.M | re.S)


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    port: int
    title: str
    department: str
    publishes: bool = False

    def values(self) -> dict[str, str]:
        return {
            "name": self.name,
            "Name": "".join(part.capitalize() for part in self.name.split("_")),
            "NAME": self.name.upper(),
            "distribution": self.name.replace("_", "-"),  # as uv.lock writes it
            "title": self.title,
            "department": self.department,
            "port": str(self.port),
        }

    def table(self) -> str:
        """Its table in services.toml."""
        lines = [
            f"[{self.name}]",
            f'package = "{self.name}"',
            f"port = {self.port}",
            f'title = "{self.title}"',
            f'department = "{self.department}"',
        ]
        if self.publishes:
            lines.append(f'stream = "{self.name.upper()}"  # publishes {self.name}.>')
        return "\n".join(lines) + "\n"


def render(template: str, spec: ServiceSpec) -> str:
    text = BLOCK.sub(lambda m: m.group(1) if spec.publishes else "", template)
    for key, value in spec.values().items():
        text = text.replace("{{" + key + "}}", value)
    return text


def _files(folder: Traversable, relative: str = "") -> list[tuple[str, str]]:
    """(relative path, text) of every template file under ``folder``."""
    found = []
    for entry in folder.iterdir():
        if entry.name == "__pycache__":
            continue
        path = f"{relative}{entry.name}"
        if entry.is_dir():
            found += _files(entry, path + "/")
        else:
            found.append((path, entry.read_text(encoding="utf-8")))
    return found


def _check(root: Path, spec: ServiceSpec) -> None:
    if not NAME.fullmatch(spec.name):
        raise ValueError(f"{spec.name!r}: a service name is lower-case words joined by _")
    services = load_services(root)
    if spec.name in {s.name for s in services} or (root / "services" / spec.name).exists():
        raise ValueError(f"a service {spec.name!r} exists already")
    taken = {s.name: s.port for s in services}
    if spec.port in taken.values():
        raise ValueError(f"port {spec.port} is taken (services.toml: {taken})")


def create_service(root: Path, spec: ServiceSpec) -> Path:
    """Write ``services/<name>/`` and append its table to services.toml; returns the folder."""
    _check(root, spec)
    folder = root / "services" / spec.name
    skipped = set() if spec.publishes else {"src/__name__/events.py.tmpl"}
    for relative, template in _files(resources.files("devstack") / "templates" / "service"):
        if relative in skipped:
            continue
        target = folder / relative.replace("__name__", spec.name).removesuffix(".tmpl")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render(template, spec), encoding="utf-8")
    toml = root / "services" / "services.toml"
    toml.write_text(toml.read_text(encoding="utf-8").rstrip("\n") + "\n\n" + spec.table())
    return folder
