"""Adding a service is one step (docs/adding-a-service.md), proved on a copy of the
repository: `devstack new-service` writes the folder and the table in services.toml, the
generation lists the service everywhere, nothing else changes, and the new service runs."""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import io
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
import yaml

from devstack import cli
from devstack.project import ServiceInfo, environment, repo_root
from devstack.provisioning import migrate
from devstack.service_lists import K8S_SERVICES
from devstack.testing import running
from kit.db import asyncpg_dsn

ROOT = repo_root()
BIN = Path(sys.executable).parent
#: With an underscore, like low_income: a Kubernetes name and a distribution name have a
#: hyphen in its place.
NAME = "skeleton_app"
K8S_NAME = "skeleton-app"
DISTRIBUTION = "jingzhun-skeleton-app"
PORT = 8097

#: What the generation may rewrite besides the new folder and services.toml.
GENERATED = {
    "pyproject.toml",
    "README.md",  # the settings table
    f"openapi/{NAME}.json",
    "docker-compose.yml",
    "deploy/k8s/base/kustomization.yaml",
    "deploy/k8s/base/postgres-cluster.yaml",
    "deploy/k8s/base/secrets.yaml",
    # the NATS users: no one else may publish the new stream's subjects
    "deploy/nats/users.conf",
    "deploy/k8s/base/nats-users.yaml",
    f"{K8S_SERVICES}/{NAME}.yaml",
    "docs/errors.md",  # the problem catalogues: the new service's (empty) table
}


def _snapshot(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in root.rglob("*")
        if path.is_file() and not {"__pycache__", ".ruff_cache"} & set(path.parts)
    }


@dataclass(frozen=True)
class Added:
    root: Path  # the copy of the repository
    changed: set[str]  # the files added, changed or removed there


def _run(root: Path, *command: str) -> subprocess.CompletedProcess[str]:
    """A command of the virtual environment, run in the copy; the skeleton is importable
    without `uv sync` (the copy's workspace is not installed)."""
    env = {
        **os.environ,
        "JINGZHUN_ROOT": str(root),
        "PYTHONPATH": str(root / "services" / NAME / "src"),
    }
    return subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=root, env=env, capture_output=True, text=True
    )


@contextlib.contextmanager
def _importable(root: Path) -> Iterator[None]:
    """The copy's skeleton importable in this process, and forgotten afterwards."""
    source = str(root / "services" / NAME / "src")
    sys.path.insert(0, source)
    try:
        yield
    finally:
        sys.path.remove(source)
        for module in [m for m in sys.modules if m == NAME or m.startswith(f"{NAME}.")]:
            del sys.modules[module]


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


def _devstack(root: Path, *args: str) -> Outcome:
    """`devstack ARGS` in the copy, run in this process (a new interpreter would spend
    seconds importing what this one has)."""
    out, err, cwd = io.StringIO(), io.StringIO(), os.getcwd()
    with environment({"JINGZHUN_ROOT": str(root)}), _importable(root):
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = cli.main(list(args))
        finally:
            os.chdir(cwd)  # the command line works from the repository's root
    return Outcome(code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def added(tmp_path_factory: pytest.TempPathFactory) -> Added:
    """The files git tracks (as they are in the working tree), then the skeleton added."""
    root = tmp_path_factory.mktemp("repository")
    tracked = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for relative in filter(None, tracked):
        source = ROOT / relative
        if source.is_file():
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / relative)
    before = _snapshot(root)

    created = _devstack(
        root,
        *("new-service", NAME, "--port", str(PORT), "--stream"),
        *("--title", "Skeleton (骨架)", "--department", "测试局"),
    )
    assert created.code == 0, created.err
    assert "make lock" in created.out and "make generate" in created.out
    # make generate: the lists, which ask for `make lock` first, and (as after the lock)
    # the OpenAPI specs and the catalogue with the settings table.
    lists = _devstack(root, "lists")
    assert lists.code == 1, lists.err
    assert f"uv.lock is stale (members {DISTRIBUTION}): run `make lock`" in lists.err
    for step in ("openapi", "catalogue"):
        generated = _devstack(root, step)
        assert generated.code == 0, generated.err

    after = _snapshot(root)
    changed = {path for path in after if before.get(path) != after[path]}
    return Added(root, changed | (set(before) - set(after)))


def test_only_the_folder_services_toml_and_generated_files_change(added: Added) -> None:
    folder = {path for path in added.changed if path.startswith(f"services/{NAME}/")}
    assert f"services/{NAME}/src/{NAME}/main.py" in folder
    assert added.changed - folder == GENERATED | {"services/services.toml"}
    # Once generated, the lists are current.
    assert "out of date" not in _devstack(added.root, "lists", "--check").err


def test_every_generated_list_names_the_service(added: Added) -> None:
    pyproject = tomllib.loads((added.root / "pyproject.toml").read_text(encoding="utf-8"))
    assert DISTRIBUTION in pyproject["project"]["dependencies"]
    assert pyproject["tool"]["uv"]["sources"][DISTRIBUTION] == {"workspace": True}
    assert f"services/{NAME}/tests" in pyproject["tool"]["pytest"]["ini_options"]["pythonpath"]
    assert NAME in pyproject["tool"]["ruff"]["lint"]["isort"]["known-first-party"]

    compose = yaml.safe_load((added.root / "docker-compose.yml").read_text(encoding="utf-8"))
    service = compose["services"][NAME]
    assert service["command"] == ["devstack", "serve", NAME]
    assert service["environment"]["PORT"] == str(PORT)
    assert service["environment"]["SKELETON_APP_DATABASE_URL"].endswith(f"/{NAME}")
    databases = compose["services"]["postgres"]["environment"]["POSTGRES_MULTIPLE_DATABASES"]
    assert NAME in databases.split(",")

    base = added.root / "deploy" / "k8s" / "base"
    kustomization = yaml.safe_load((base / "kustomization.yaml").read_text(encoding="utf-8"))
    assert f"services/{NAME}.yaml" in kustomization["resources"]
    manifest = list(yaml.safe_load_all((base / "services" / f"{NAME}.yaml").read_text("utf-8")))
    assert [(o["kind"], o["metadata"]["name"]) for o in manifest] == [
        ("Deployment", K8S_NAME),
        ("Service", K8S_NAME),
        ("PodDisruptionBudget", K8S_NAME),
    ]
    cluster = yaml.safe_load((base / "postgres-cluster.yaml").read_text(encoding="utf-8"))
    assert (
        f"CREATE DATABASE {NAME} OWNER jingzhun"
        in (cluster["spec"]["bootstrap"]["initdb"]["postInitSQL"])
    )
    secrets = [
        o["metadata"]["name"] for o in yaml.safe_load_all((base / "secrets.yaml").read_text())
    ]
    assert f"{K8S_NAME}-secrets" in secrets

    services = tomllib.loads(
        (added.root / "services" / "services.toml").read_text(encoding="utf-8")
    )
    assert services[NAME] == {
        "package": NAME,
        "port": PORT,
        "title": "Skeleton (骨架)",
        "department": "测试局",
        "stream": "SKELETON_APP",
    }


def test_the_checks_hold_in_the_copy(added: Added) -> None:
    """In the copy: the deployment checks pass with the new service, its code is clean by
    ruff, and its own tests pass (they start their own PostgreSQL and NATS)."""
    lint = _run(added.root, "ruff", "check", "--no-cache", f"services/{NAME}")
    assert lint.returncode == 0, lint.stdout
    checks = _run(
        added.root,
        *("pytest", "-q", "-p", "no:cacheprovider", "--basetemp", str(added.root / ".bt")),
        *("tests/test_deploy_files.py", f"services/{NAME}/tests"),
    )
    assert checks.returncode == 0, checks.stdout[-3000:]
    assert "failed" not in checks.stdout and " passed" in checks.stdout


async def test_the_skeleton_runs(added: Added, postgres, nats_server, auth_keys) -> None:
    """Migrated on the test PostgreSQL, the skeleton is ready and answers its endpoint to a
    token with its scope, and refuses one without."""
    with _importable(added.root):
        config = importlib.import_module(f"{NAME}.config")
        main = importlib.import_module(f"{NAME}.main")
        admin = await asyncpg.connect(asyncpg_dsn(postgres.url()))
        await admin.execute(f'CREATE DATABASE "{NAME}_proof"')
        url = postgres.url(f"{NAME}_proof")
        info = ServiceInfo(name=NAME, package=NAME, port=PORT, title="Skeleton")
        await migrate(info, url)

        settings = config.SkeletonAppSettings(
            database_url=url, nats_url=nats_server.url, auth_public_key_file=auth_keys.public
        )
        async with running(main.create_app(settings)) as client:
            assert (await client.get("/readyz")).status_code == 200
            token = auth_keys.headers(scopes=(f"{NAME}:read",))
            answer = await client.get("/changes", headers=token)
            assert answer.status_code == 200, answer.text
            assert answer.json() == []
            refused = await client.get("/changes", headers=auth_keys.headers(scopes=("x:read",)))
            assert refused.status_code == 403
        await admin.execute(f'DROP DATABASE "{NAME}_proof" WITH (FORCE)')
        await admin.close()
