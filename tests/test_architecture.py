"""Architecture is checked, not hoped for: services never import each other, and the libs
never import a service. The import-linter contracts are built from services/services.toml,
so a new service is covered as soon as it is listed there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from devstack.project import load_services, repo_root

LIBS = ["kit", "contracts", "devstack"]


def importlinter_config() -> str:
    services = [s.package for s in load_services()]
    roots = "\n    ".join(LIBS + services)
    independent = "\n    ".join(services)
    forbidden = "\n    ".join(services)
    libs = "\n    ".join(LIBS)
    return f"""[importlinter]
root_packages =
    {roots}

[importlinter:contract:services-independent]
name = Services do not import each other
type = independence
modules =
    {independent}

[importlinter:contract:libs-below-services]
name = Libraries never import services
type = forbidden
source_modules =
    {libs}
forbidden_modules =
    {forbidden}
"""


def test_import_contracts_hold(tmp_path: Path):
    config = tmp_path / "importlinter.ini"
    config.write_text(importlinter_config())
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint), "--config", str(config)], capture_output=True, text=True, cwd=repo_root()
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


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
        [str(lint), "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=package,
        env={"PYTHONPATH": str(package), "PATH": ""},
    )
    assert result.returncode != 0 and "BROKEN" in result.stdout
