"""``devstack``: run the whole platform on one machine, and the small tools around it.

devstack run                 start PostgreSQL, NATS and every service (make run)
devstack token --role R      print a bearer token from the local issuer (make token)
devstack serve SERVICE       migrate and serve one service (containers)
devstack keys --dir D        create the local issuer's key pair
devstack openapi [--check]   write (or check) openapi/<service>.json
devstack catalogue [--check] write (or check) the event and problem catalogues and the NATS users
devstack lists [--check]     write (or check) the per-service lists from services.toml
                             (pyproject.toml, docker-compose.yml, deploy/k8s)
devstack new-service NAME --port N --title T --department D [--stream]
                             write a new service's folder and its table in services.toml
devstack import-households FILE --region CODE
                             import a county spreadsheet into the running stack's registry
devstack rebuild-gateway     rebuild the gateway's projections from every stream, then switch
devstack replay-dead-letters [--service S]
                             deliver again what the consumers dead-lettered
devstack migration SERVICE -m MESSAGE
                             autogenerate an Alembic revision from the models
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from devstack.project import DataDir, load_roles, load_services, repo_root, role_token, token_terms
from kit.auth import create_key_pair

DEMO_COUNTY = "622924000000"  # 广河县


def _data_dir(args: argparse.Namespace) -> DataDir:
    return DataDir(Path(args.data or os.environ.get("JINGZHUN_DATA_DIR", ".data")))


def cmd_run(args: argparse.Namespace) -> int:
    from devstack.runner import Stack

    return Stack(
        _data_dir(args), pg_port=args.pg_port, nats_port=args.nats_port, load_demo=not args.no_demo
    ).run()


def cmd_token(args: argparse.Namespace) -> int:
    keys = Path(args.keys_dir) if args.keys_dir else _data_dir(args).keys
    private = Path(os.environ.get("AUTH_PRIVATE_KEY_FILE") or keys / "private.pem")
    if not private.exists():
        print(
            f"no key at {private}: run `make run` once (or `devstack keys`) first", file=sys.stderr
        )
        return 2
    try:
        claims = {"helper_id": args.helper_id} if args.helper_id else None
        print(
            role_token(
                private.read_bytes(),
                role=args.role,
                region=args.region,
                extra_claims=claims,
                **token_terms(),
            )
        )
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    private, public = create_key_pair(Path(args.dir))
    print(f"private key: {private}\npublic key:  {public}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Container entry point: migrate (with a lock), then exec uvicorn."""
    from devstack.provisioning import migrate

    service = next((s for s in load_services() if s.name == args.service), None)
    if service is None:
        print(f"unknown service {args.service!r}", file=sys.stderr)
        return 2
    url = os.environ.get(f"{service.env_prefix}DATABASE_URL")
    if not url:
        print(f"{service.env_prefix}DATABASE_URL is not set", file=sys.stderr)
        return 2
    asyncio.run(migrate(service, url))
    port = os.environ.get("PORT", str(service.port))
    os.execvp(
        "uvicorn",
        [
            "uvicorn",
            service.app_factory,
            "--factory",
            "--host",
            args.host,
            "--port",
            port,
            "--proxy-headers",
        ],
    )


def cmd_openapi(args: argparse.Namespace) -> int:
    from devstack.generate import write_openapi

    return write_openapi(check=args.check)


def cmd_catalogue(args: argparse.Namespace) -> int:
    from devstack.generate import write_catalogue

    return write_catalogue(check=args.check)


def cmd_lists(args: argparse.Namespace) -> int:
    from devstack.service_lists import write_lists

    return write_lists(check=args.check)


def cmd_new_service(args: argparse.Namespace) -> int:
    import subprocess

    from devstack.scaffold import ServiceSpec, create_service
    from devstack.service_lists import write_lists

    spec = ServiceSpec(
        name=args.name,
        port=args.port,
        title=args.title,
        department=args.department,
        publishes=args.stream,
    )
    try:
        folder = create_service(repo_root(), spec)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"wrote {folder.relative_to(repo_root())}/ and its table in services/services.toml")
    write_lists()  # the workspace must list the service before `make lock` installs it
    # Import order depends on the name (first-party now); `make generate` only formats.
    ruff = str(Path(sys.executable).with_name("ruff"))
    subprocess.run([ruff, "check", "--quiet", "--fix", "--select", "I", str(folder)], check=True)
    subprocess.run([ruff, "format", "--quiet", str(folder)], check=True)
    print(
        "Next: `make lock` (records the new workspace member in uv.lock), then "
        "`make generate` (its OpenAPI spec, the settings table, the formatting)."
    )
    return 0


def cmd_migration(args: argparse.Namespace) -> int:
    """Autogenerate a revision against a throwaway PostgreSQL migrated to head."""
    import tempfile

    from alembic import command

    from devstack.servers import PostgresServer, free_port
    from kit.migrations import alembic_config

    service = next((s for s in load_services() if s.name == args.service), None)
    if service is None:
        print(f"unknown service {args.service!r}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as folder:
        server = PostgresServer(Path(folder) / "pg", free_port(), durable=False)
        server.start()
        try:
            config = alembic_config(service.package, server.url())
            command.upgrade(config, "head")
            command.revision(config, message=args.message, autogenerate=True)
        finally:
            server.stop()
    return 0


def cmd_import_households(args: argparse.Namespace) -> int:
    """Run the registry's importer against the database of `make run` (same data folder)."""
    import subprocess

    from devstack.servers import PostgresServer

    data = _data_dir(args)
    services = load_services()
    registry = next(s for s in services if s.name == "registry")
    env = {**os.environ, **data.secrets_for(services)}
    env[f"{registry.env_prefix}DATABASE_URL"] = PostgresServer(data.pg, args.pg_port).url(
        registry.name
    )
    command = [sys.executable, "-m", "registry.imports", str(args.file), "--region", args.region]
    if args.errors:
        command += ["--errors", str(args.errors)]
    return subprocess.run(command, env=env, check=False).returncode


def cmd_rebuild_gateway(args: argparse.Namespace) -> int:
    """Replay every stream into the gateway of `make run` (same data folder)."""
    import subprocess

    from devstack.servers import NatsServer, PostgresServer

    data = _data_dir(args)
    gateway = next(s for s in load_services() if s.name == "gateway")
    nats = NatsServer(data.nats, args.nats_port, passwords=data.nats_passwords())
    env = {
        **os.environ,
        f"{gateway.env_prefix}DATABASE_URL": PostgresServer(data.pg, args.pg_port).url(
            gateway.name
        ),
        "NATS_URL": nats.url,
    }
    command = [sys.executable, "-m", "gateway.rebuild"]
    return subprocess.run(command, env=env, check=False).returncode


def cmd_replay_dead_letters(args: argparse.Namespace) -> int:
    """Deliver the services' dead letters again: those of `make run` (same data folder), or
    in a service's container, with its settings in the environment, that service's."""
    from devstack.runner import Stack

    data = _data_dir(args)
    services = load_services()
    chosen = [s for s in services if args.service in (None, s.name)]
    if not chosen:
        print(f"unknown service {args.service!r}", file=sys.stderr)
        return 2
    if not all(os.environ.get(f"{s.env_prefix}DATABASE_URL") for s in chosen):
        # The services' settings (database, NATS, secrets) as `make run` gives them; in a
        # service's container they are in the environment already.
        stack = Stack(data, pg_port=args.pg_port, nats_port=args.nats_port, load_demo=False)
        os.environ.update(stack.service_env(data.secrets_for(services)))
    return asyncio.run(_replay_dead_letters(chosen))


async def _replay_dead_letters(services: list) -> int:
    import importlib

    from kit.replay import replay_service_dead_letters

    kept = 0
    for service in services:
        app = importlib.import_module(f"{service.package}.main").create_app()
        definition = app.state.definition
        if not definition.consumers:
            continue
        report = await replay_service_dead_letters(definition)
        print(
            f"{service.name}: replayed {report.replayed}, skipped {report.skipped} "
            f"(already applied or superseded), failed {len(report.failed)} (kept)"
        )
        for failure in report.failed[:20]:
            print(f"  {failure}")
        kept += len(report.failed)
    return 1 if kept else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="devstack", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", help="data folder (default .data, or JINGZHUN_DATA_DIR)")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="start everything; Ctrl-C stops everything")
    run.add_argument("--pg-port", type=int, default=int(os.environ.get("JINGZHUN_PG_PORT", 55432)))
    run.add_argument(
        "--nats-port", type=int, default=int(os.environ.get("JINGZHUN_NATS_PORT", 4222))
    )
    run.add_argument("--no-demo", action="store_true", help="do not load the demo county")
    run.set_defaults(func=cmd_run)

    token = sub.add_parser("token", help="print a bearer token for a demo role")
    token.add_argument("--role", default="county_admin", help=", ".join(load_roles()))
    token.add_argument(
        "--region", default=DEMO_COUNTY, help="12-digit region code the token is limited to"
    )
    token.add_argument("--keys-dir")
    token.add_argument(
        "--helper-id", help="registry id of the helper (帮扶责任人) the token speaks for"
    )
    token.set_defaults(func=cmd_token)

    keys = sub.add_parser("keys", help="create the local issuer's key pair if absent")
    keys.add_argument("--dir", required=True)
    keys.set_defaults(func=cmd_keys)

    serve = sub.add_parser("serve", help="migrate and serve one service")
    serve.add_argument("service")
    serve.add_argument("--host", default="0.0.0.0")
    serve.set_defaults(func=cmd_serve)

    for name, func, what in (
        ("openapi", cmd_openapi, "openapi/<service>.json"),
        (
            "catalogue",
            cmd_catalogue,
            "the event and problem catalogues and the NATS users of deploy/",
        ),
        ("lists", cmd_lists, "the per-service lists of pyproject.toml, compose and deploy/k8s"),
    ):
        p = sub.add_parser(name, help=f"write {what}")
        p.add_argument("--check", action="store_true", help="fail if the committed files differ")
        p.set_defaults(func=func)

    imports = sub.add_parser(
        "import-households", help="import a county spreadsheet (CSV/XLSX) into the registry"
    )
    imports.add_argument("file", type=lambda p: Path(p).resolve())
    imports.add_argument("--region", default=DEMO_COUNTY, help="county code the file is for")
    imports.add_argument("--errors", type=lambda p: Path(p).resolve(), help="error report CSV")
    imports.add_argument(
        "--pg-port", type=int, default=int(os.environ.get("JINGZHUN_PG_PORT", 55432))
    )
    imports.set_defaults(func=cmd_import_households)

    rebuild = sub.add_parser(
        "rebuild-gateway",
        help="rebuild the gateway's projections from every stream, then switch them in",
    )
    rebuild.add_argument(
        "--pg-port", type=int, default=int(os.environ.get("JINGZHUN_PG_PORT", 55432))
    )
    rebuild.add_argument(
        "--nats-port", type=int, default=int(os.environ.get("JINGZHUN_NATS_PORT", 4222))
    )
    rebuild.set_defaults(func=cmd_rebuild_gateway)

    dead = sub.add_parser(
        "replay-dead-letters",
        help="deliver again what the consumers dead-lettered (once its cause is fixed)",
    )
    dead.add_argument("--service", help="only this service's consumers (default: every service)")
    dead.add_argument("--pg-port", type=int, default=int(os.environ.get("JINGZHUN_PG_PORT", 55432)))
    dead.add_argument(
        "--nats-port", type=int, default=int(os.environ.get("JINGZHUN_NATS_PORT", 4222))
    )
    dead.set_defaults(func=cmd_replay_dead_letters)

    new_service = sub.add_parser("new-service", help="write a new service's folder")
    new_service.add_argument("name", help="service and package name (lower case, e.g. housing)")
    new_service.add_argument("--port", type=int, required=True)
    new_service.add_argument("--title", required=True, help='e.g. "Housing (住房安全保障)"')
    new_service.add_argument("--department", required=True, help='e.g. "住建局"')
    new_service.add_argument(
        "--stream", action="store_true", help="it publishes events (outbox, JetStream stream)"
    )
    new_service.set_defaults(func=cmd_new_service)

    migration = sub.add_parser("migration", help="autogenerate a migration from the models")
    migration.add_argument("service")
    migration.add_argument("-m", "--message", required=True)
    migration.set_defaults(func=cmd_migration)

    args = parser.parse_args(argv)
    os.chdir(repo_root())
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
