"""The deployment files agree with services/services.toml (the one list of services).

Static checks only (no Docker, no cluster): docker-compose.yml, deploy/Dockerfile and the
kustomize manifests under deploy/k8s.
"""

from __future__ import annotations

import shlex
import tomllib
from pathlib import Path

import pytest
import yaml

from devstack.nats_config import password_variables

ROOT = Path(__file__).resolve().parents[1]
SERVICES_TOML = ROOT / "services" / "services.toml"
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
K8S = ROOT / "deploy" / "k8s"
K8S_BASE = K8S / "base"
INIT_SCRIPT = ROOT / "deploy" / "postgres" / "init-databases.sh"


def _services() -> dict[str, dict]:
    with SERVICES_TOML.open("rb") as f:
        return tomllib.load(f)


SERVICES = _services()
SERVICE_NAMES = sorted(SERVICES)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


# --- helpers ------------------------------------------------------------------------------


def _as_argv(command: str | list[str] | None) -> list[str]:
    if command is None:
        return []
    if isinstance(command, str):
        return shlex.split(command)
    return [str(part) for part in command]


def _env(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) for item in env)
        return {k: (v[0] if v else "") for k, *v in pairs}
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _depends_on(service: dict) -> dict[str, str | None]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {name: None for name in deps}
    return {name: (spec or {}).get("condition") for name, spec in deps.items()}


def _container_ports(service: dict) -> list[tuple[str, int]]:
    """(host part, container port) for each short- or long-syntax port mapping."""
    result = []
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            result.append((str(port.get("published", "")), int(port["target"])))
            continue
        spec = str(port).split("/", 1)[0]
        host, _, container = spec.rpartition(":")
        result.append((host, int(container)))
    return result


def _k8s_yaml_files() -> list[Path]:
    return sorted(p for p in K8S.rglob("*") if p.suffix in {".yaml", ".yml"} and p.is_file())


def _docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]


def _base_objects() -> list[dict]:
    """All objects reachable from deploy/k8s/base/kustomization.yaml resources."""
    objects: list[dict] = []

    def collect(kustomization_dir: Path) -> None:
        kust = yaml.safe_load((kustomization_dir / "kustomization.yaml").read_text("utf-8"))
        for entry in kust.get("resources") or []:
            target = (kustomization_dir / entry).resolve()
            if target.is_dir():
                collect(target)
            else:
                objects.extend(_docs(target))

    collect(K8S_BASE)
    return objects


# --- the list itself ----------------------------------------------------------------------


def test_services_toml_lists_services_with_ports() -> None:
    assert SERVICE_NAMES, "services/services.toml lists no service"
    ports = [spec["port"] for spec in SERVICES.values()]
    assert all(isinstance(p, int) for p in ports)
    assert len(ports) == len(set(ports)), "two services share a port"


# --- image ---------------------------------------------------------------------------------


def test_dockerfile_and_dockerignore() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert "python:3.11-slim" in text
    assert "uv sync --frozen --no-dev" in text
    assert "/app/.venv/bin" in text
    user_lines = [ln.split()[1] for ln in text.splitlines() if ln.strip().startswith("USER ")]
    assert user_lines, "the image must switch to a non-root user"
    assert not user_lines[-1].startswith(("root", "0")), user_lines[-1]

    ignored = {
        ln.strip().removeprefix("**/")
        for ln in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if ln.strip() and not ln.startswith("#")
    }
    for entry in (".venv", ".tools", ".data", ".git", "__pycache__", "*.pyc", ".pytest_cache"):
        assert entry in ignored, f".dockerignore does not exclude {entry}"


# --- docker-compose.yml --------------------------------------------------------------------


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_compose_runs_every_service(compose: dict, name: str) -> None:
    services = compose["services"]
    assert name in services, f"docker-compose.yml has no service {name!r}"
    svc = services[name]
    port = SERVICES[name]["port"]

    build = svc.get("build")
    assert isinstance(build, dict), f"{name}: must be built from deploy/Dockerfile"
    assert build.get("dockerfile") == "deploy/Dockerfile"
    assert Path(build.get("context", ".")) == Path("."), f"{name}: build context is the repo root"

    assert _as_argv(svc.get("command")) == ["devstack", "serve", name]

    mappings = _container_ports(svc)
    assert mappings, f"{name}: no port mapping"
    assert any(
        container == port and host.rsplit(":", 1)[-1] == str(port) for host, container in mappings
    ), f"{name}: expected port mapping {port}:{port}, got {svc.get('ports')}"

    health = svc.get("healthcheck") or {}
    assert health.get("test"), f"{name}: no healthcheck"
    assert "/readyz" in " ".join(_as_argv(health["test"]))

    deps = _depends_on(svc)
    for infra in ("postgres", "nats"):
        assert infra in deps, f"{name}: does not depend on {infra}"
        assert deps[infra] in (None, "service_healthy"), f"{name}: {infra} must be healthy"

    env = _env(svc)
    assert env.get("PORT") == str(port)
    # Secrets come from a hand-written x-<name>-env block (their development defaults).
    for secret in SERVICES[name].get("secrets", []):
        assert env.get(f"{name.upper()}_{secret}"), f"{name}: no {secret} (x-{name}-env)"
    db_url = env.get(f"{name.upper()}_DATABASE_URL", "")
    assert db_url.startswith("postgresql+asyncpg://"), f"{name}: no {name.upper()}_DATABASE_URL"
    assert db_url.rstrip("/").endswith(f"/{name}"), f"{name}: database must be named {name!r}"
    # The services NATS user, its password from the variable the nats container reads.
    assert env.get("NATS_URL", "").startswith("nats://services:${NATS_SERVICES_PASSWORD")
    assert env.get("AUTH_PUBLIC_KEY_FILE") or env.get("AUTH_JWKS_URL")
    # A token the same issuer gave another application is refused: the audience is set.
    assert env.get("AUTH_AUDIENCE", "").endswith("jingzhun}"), f"{name}: no AUTH_AUDIENCE"


def test_compose_has_no_stray_app_services(compose: dict) -> None:
    """Every compose service that runs `devstack serve` is in services.toml."""
    for name, svc in compose["services"].items():
        argv = _as_argv(svc.get("command"))
        if argv[:2] == ["devstack", "serve"]:
            assert argv[2:] == [name] and name in SERVICES, name


def test_compose_infrastructure(compose: dict) -> None:
    services = compose["services"]

    postgres = services["postgres"]
    assert str(postgres["image"]).split(":")[0] == "postgres"
    assert "pg_isready" in " ".join(_as_argv(postgres["healthcheck"]["test"]))
    databases = {
        db.strip()
        for db in _env(postgres).get("POSTGRES_MULTIPLE_DATABASES", "").split(",")
        if db.strip()
    }
    missing = set(SERVICE_NAMES) - databases
    assert not missing, f"POSTGRES_MULTIPLE_DATABASES lacks {sorted(missing)}"
    mounts = [str(v) for v in postgres.get("volumes") or []]
    assert any(
        "deploy/postgres/init-databases.sh" in m and "/docker-entrypoint-initdb.d/" in m
        for m in mounts
    ), "the init script is not mounted into /docker-entrypoint-initdb.d"
    assert INIT_SCRIPT.is_file()
    assert "POSTGRES_MULTIPLE_DATABASES" in INIT_SCRIPT.read_text(encoding="utf-8")

    nats = services["nats"]
    assert str(nats["image"]).startswith("nats:")
    argv = _as_argv(nats.get("command"))
    assert "-js" in argv
    assert nats["healthcheck"]["test"]
    # Users: the generated config file is mounted and given with -c; the passwords it
    # refers to are in the container's environment.
    mounts = dict(
        reversed(str(v).removesuffix(":ro").split(":", 1)) for v in nats.get("volumes") or []
    )
    assert mounts.get(argv[argv.index("-c") + 1]) == "./deploy/nats/users.conf"
    nats_env = _env(nats)
    for variable in password_variables():  # services and every county's dashboard
        assert nats_env.get(variable, "").startswith(f"${{{variable}"), variable
    # The services' URL and the server agree on the services password, default included.
    for name in SERVICE_NAMES:
        assert f"services:{nats_env['NATS_SERVICES_PASSWORD']}@" in _env(services[name])["NATS_URL"]

    keys = services["keys"]
    assert _as_argv(keys.get("command"))[:2] == ["devstack", "keys"]
    for name in SERVICE_NAMES:
        assert _depends_on(services[name]).get("keys") == "service_completed_successfully"


# --- deploy/k8s ------------------------------------------------------------------------------


def test_k8s_yaml_files_exist() -> None:
    files = _k8s_yaml_files()
    assert K8S_BASE / "kustomization.yaml" in files
    assert K8S / "overlays" / "county" / "kustomization.yaml" in files


@pytest.mark.parametrize("path", _k8s_yaml_files(), ids=lambda p: str(p.relative_to(K8S)))
def test_k8s_documents_are_objects(path: Path) -> None:
    docs = _docs(path)
    assert docs, f"{path} is empty"
    for doc in docs:
        assert isinstance(doc, dict), f"{path}: a document is not a mapping"
        assert doc.get("apiVersion"), f"{path}: document without apiVersion"
        assert doc.get("kind"), f"{path}: document without kind"
        assert (doc.get("metadata") or {}).get("name"), f"{path}: {doc['kind']} without name"


@pytest.mark.parametrize(
    "kustomization",
    sorted(K8S.rglob("kustomization.yaml")),
    ids=lambda p: str(p.parent.relative_to(K8S)),
)
def test_kustomization_references_exist(kustomization: Path) -> None:
    kust = yaml.safe_load(kustomization.read_text(encoding="utf-8"))
    assert kust["kind"] == "Kustomization"
    here = kustomization.parent
    for entry in kust.get("resources") or []:
        target = here / entry
        assert target.exists(), f"{kustomization}: resource {entry} does not exist"
        if target.is_dir():
            assert (target / "kustomization.yaml").is_file(), f"{target} is no kustomization"
    for patch in kust.get("patches") or []:
        if "path" in patch:
            assert (here / patch["path"]).is_file(), f"{kustomization}: patch {patch['path']}"


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_k8s_base_deploys_every_service(name: str) -> None:
    objects = _base_objects()
    by_kind_name = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    port = SERVICES[name]["port"]

    k8s_name = name.replace("_", "-")  # Kubernetes names allow no underscore
    deployment = by_kind_name.get(("Deployment", k8s_name))
    assert deployment is not None, f"deploy/k8s/base has no Deployment {k8s_name!r}"
    spec = deployment["spec"]
    assert spec.get("replicas", 1) >= 2
    containers = spec["template"]["spec"]["containers"]
    (container,) = [c for c in containers if c["name"] == k8s_name]
    argv = _as_argv(container.get("command")) + _as_argv(container.get("args"))
    assert argv == ["devstack", "serve", name]
    assert port in [p["containerPort"] for p in container["ports"]]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    env_from = container.get("envFrom") or []
    assert any("configMapRef" in e for e in env_from), f"{name}: no ConfigMap in envFrom"
    assert any("secretRef" in e for e in env_from), f"{name}: no Secret in envFrom"
    env_names = {e["name"] for e in container.get("env") or []}
    assert f"{name.upper()}_DATABASE_URL" in env_names
    env = {e["name"]: e for e in container.get("env") or []}
    names = list(env)
    secret = env["NATS_SERVICES_PASSWORD"]["valueFrom"]["secretKeyRef"]
    assert secret == {"name": "nats-users", "key": "NATS_SERVICES_PASSWORD"}
    assert env["NATS_URL"]["value"] == "nats://services:$(NATS_SERVICES_PASSWORD)@nats:4222"
    # $(VAR) only expands variables defined before it.
    assert names.index("NATS_SERVICES_PASSWORD") < names.index("NATS_URL")

    service = by_kind_name.get(("Service", k8s_name))
    assert service is not None, f"deploy/k8s/base has no Service {k8s_name!r}"
    assert port in [p["port"] for p in service["spec"]["ports"]]


def test_k8s_base_infrastructure() -> None:
    objects = _base_objects()
    kinds = {(o["kind"], o["metadata"]["name"]): o for o in objects}

    nats = next(o for o in objects if o["kind"] == "StatefulSet")
    assert nats["spec"]["replicas"] == 3
    # Users: nats.conf includes users.conf; both ConfigMaps land in one folder, and the
    # passwords users.conf refers to come from the Secret nats-users.
    assert "include users.conf" in kinds[("ConfigMap", "nats-config")]["data"]["nats.conf"]
    assert "users.conf" in kinds[("ConfigMap", "nats-users")]["data"]
    pod = nats["spec"]["template"]["spec"]
    (config_volume,) = [v for v in pod["volumes"] if v["name"] == "config"]
    sources = [s["configMap"]["name"] for s in config_volume["projected"]["sources"]]
    assert sources == ["nats-config", "nats-users"]
    (server,) = pod["containers"]
    assert {"secretRef": {"name": "nats-users"}} in server["envFrom"]
    nats_secret = kinds[("Secret", "nats-users")]["stringData"]
    assert set(nats_secret) == set(password_variables())
    # The URL with the password is set per Deployment, not shared in the ConfigMap.
    assert "NATS_URL" not in kinds[("ConfigMap", "jingzhun-config")]["data"]
    assert kinds[("ConfigMap", "jingzhun-config")]["data"]["AUTH_AUDIENCE"]
    assert nats["spec"].get("volumeClaimTemplates"), "NATS needs a PVC for file storage"
    headless = kinds[("Service", nats["spec"]["serviceName"])]
    assert headless["spec"].get("clusterIP") == "None"

    clusters = [o for o in objects if o["kind"] == "Cluster"]
    assert clusters and clusters[0]["apiVersion"] == "postgresql.cnpg.io/v1"
    post_init = " ".join(clusters[0]["spec"]["bootstrap"]["initdb"].get("postInitSQL") or [])
    for name in SERVICE_NAMES:
        assert f"CREATE DATABASE {name} " in post_init, f"CNPG cluster lacks database {name!r}"
