"""Adding a service is one step (docs/adding-a-service.md), proved on a copy of the
repository: `devstack new-service` writes the folder and the table in services.toml, the
generation lists the service everywhere, nothing else changes, and the new service runs."""

from __future__ import annotations

import hashlib
import importlib
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import asyncpg
import pytest
import yaml

from devstack.project import ServiceInfo, repo_root
from devstack.provisioning import migrate
from devstack.service_lists import K8S_SERVICES
from devstack.testing import running
from kit.db import asyncpg_dsn

ROOT = repo_root()
BIN = Path(sys.executable).parent
NAME = "skeleton"
PORT = 8097

#: What the generation may rewrite besides the new folder and services.toml.
GENERATED = {
    "pyproject.toml",
    "docker-compose.yml",
    "deploy/k8s/base/kustomization.yaml",
    "deploy/k8s/base/postgres-cluster.yaml",
    "deploy/k8s/base/secrets.yaml",
    f"{K8S_SERVICES}/{NAME}.yaml",
}


def _snapshot(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in root.rglob("*")
        if path.is_file() and not {"__pycache__", ".ruff_cache"} & set(path.parts)
    }


def _devstack(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JINGZHUN_ROOT": str(root)}
    return subprocess.run(
        [str(BIN / "devstack"), *args], cwd=root, env=env, capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The files git tracks (as they are in the working tree), with the skeleton added."""
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
        "new-service",
        NAME,
        "--port",
        str(PORT),
        "--title",
        "Skeleton (骨架)",
        "--department",
        "测试局",
        "--stream",
    )
    assert created.returncode == 0, created.stderr
    assert "make lock" in created.stdout and "make generate" in created.stdout
    # The generation of `make generate` (before the lock: the copy is not installed).
    lists = _devstack(root, "lists")
    assert lists.returncode == 1 and "run `make lock`" in lists.stderr, lists.stderr
    assert "jingzhun-skeleton" in lists.stderr

    after = _snapshot(root)
    root_changes = {path for path in after if before.get(path) != after[path]}
    root_changes |= set(before) - set(after)
    root.joinpath(".changes").write_text("\n".join(sorted(root_changes)))
    return root


def _changes(copy: Path) -> set[str]:
    return set(copy.joinpath(".changes").read_text().splitlines())


def test_only_the_folder_services_toml_and_generated_files_change(copy: Path) -> None:
    changes = _changes(copy)
    folder = {path for path in changes if path.startswith(f"services/{NAME}/")}
    assert folder, "the service folder was not written"
    assert changes - folder == GENERATED | {"services/services.toml"}
    # Generated once, the lists are current: a second run changes nothing.
    assert "out of date" not in _devstack(copy, "lists", "--check").stderr


def test_every_generated_list_names_the_service(copy: Path) -> None:
    pyproject = tomllib.loads((copy / "pyproject.toml").read_text(encoding="utf-8"))
    assert "jingzhun-skeleton" in pyproject["project"]["dependencies"]
    assert pyproject["tool"]["uv"]["sources"]["jingzhun-skeleton"] == {"workspace": True}
    assert f"services/{NAME}/tests" in pyproject["tool"]["pytest"]["ini_options"]["pythonpath"]
    assert NAME in pyproject["tool"]["ruff"]["lint"]["isort"]["known-first-party"]

    compose = yaml.safe_load((copy / "docker-compose.yml").read_text(encoding="utf-8"))
    service = compose["services"][NAME]
    assert service["command"] == ["devstack", "serve", NAME]
    assert service["environment"]["PORT"] == str(PORT)
    assert service["environment"]["SKELETON_DATABASE_URL"].endswith(f"/{NAME}")
    databases = compose["services"]["postgres"]["environment"]["POSTGRES_MULTIPLE_DATABASES"]
    assert NAME in databases.split(",")

    base = copy / "deploy" / "k8s" / "base"
    kustomization = yaml.safe_load((base / "kustomization.yaml").read_text(encoding="utf-8"))
    assert f"services/{NAME}.yaml" in kustomization["resources"]
    manifest = list(yaml.safe_load_all((base / "services" / f"{NAME}.yaml").read_text("utf-8")))
    assert [(o["kind"], o["metadata"]["name"]) for o in manifest] == [
        ("Deployment", NAME),
        ("Service", NAME),
        ("PodDisruptionBudget", NAME),
    ]
    cluster = yaml.safe_load((base / "postgres-cluster.yaml").read_text(encoding="utf-8"))
    assert (
        f"CREATE DATABASE {NAME} OWNER jingzhun"
        in (cluster["spec"]["bootstrap"]["initdb"]["postInitSQL"])
    )
    secrets = [
        o["metadata"]["name"] for o in yaml.safe_load_all((base / "secrets.yaml").read_text())
    ]
    assert f"{NAME}-secrets" in secrets

    services = tomllib.loads((copy / "services" / "services.toml").read_text(encoding="utf-8"))
    assert services[NAME] == {
        "package": NAME,
        "port": PORT,
        "title": "Skeleton (骨架)",
        "department": "测试局",
        "stream": "SKELETON",
    }


def test_the_deployment_checks_hold_for_the_copy(copy: Path) -> None:
    """tests/test_deploy_files.py, run against the copy, passes with the new service."""
    checks = copy / "tests" / "test_deploy_files.py"
    result = subprocess.run(
        [str(BIN / "pytest"), "-q", "-p", "no:cacheprovider", "-o", "addopts=", str(checks)],
        cwd=copy,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout


async def test_the_skeleton_runs(copy: Path, postgres, nats_server, auth_keys) -> None:
    """Migrated on the test PostgreSQL, the skeleton is ready and answers its endpoint to a
    token with its scope, and refuses one without."""
    source = str(copy / "services" / NAME / "src")
    sys.path.insert(0, source)
    try:
        config = importlib.import_module(f"{NAME}.config")
        main = importlib.import_module(f"{NAME}.main")
        admin = await asyncpg.connect(asyncpg_dsn(postgres.url()))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{NAME}_proof" WITH (FORCE)')
            await admin.execute(f'CREATE DATABASE "{NAME}_proof"')
        finally:
            await admin.close()
        url = postgres.url(f"{NAME}_proof")
        info = ServiceInfo(name=NAME, package=NAME, port=PORT, title="Skeleton")
        await migrate(info, url)

        settings = config.SkeletonSettings(
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
    finally:
        sys.path.remove(source)
        for module in [m for m in sys.modules if m == NAME or m.startswith(f"{NAME}.")]:
            del sys.modules[module]
