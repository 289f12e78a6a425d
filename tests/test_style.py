"""Lint and formatting (ruff, configured in pyproject.toml) hold for the whole tree."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from devstack.project import repo_root

RUFF = str(Path(sys.executable).parent / "ruff")


def test_ruff_check():
    result = subprocess.run(
        [RUFF, "check", "libs", "services", "tests"],
        capture_output=True,
        text=True,
        cwd=repo_root(),
    )
    assert result.returncode == 0, result.stdout


def test_ruff_format():
    result = subprocess.run(
        [RUFF, "format", "--check", "libs", "services", "tests"],
        capture_output=True,
        text=True,
        cwd=repo_root(),
    )
    assert result.returncode == 0, result.stdout
