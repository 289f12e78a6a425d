"""``make run``: the whole platform on one machine, in the foreground.

Starts PostgreSQL and NATS (JetStream) from their wheels with data under the data folder,
creates one database per service, migrates, provisions the streams, loads the demo county
into an empty registry, starts every service with uvicorn, loads the demo data that needs
the running stack (health's enrolments, claims, contracts) and prints where they are.
Ctrl-C (or SIGTERM) stops the services, then NATS, then PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from rich.console import Console

from contracts.public import public_filter
from devstack.nats_config import dashboard_user, password_variable
from devstack.project import (
    DataDir,
    ServiceInfo,
    gateway_sources,
    load_services,
    role_token,
    service_urls,
    token_terms,
)
from devstack.provisioning import migrate, provision_streams
from devstack.servers import NatsServer, PostgresServer, stop_process
from kit.auth import create_key_pair

console = Console()
DEMO_COUNTY = "622924000000"


class Stack:
    def __init__(
        self, data: DataDir, *, pg_port: int, nats_port: int, load_demo: bool = True
    ) -> None:
        self.data = data
        self.services = load_services()
        self.postgres = PostgresServer(data.pg, pg_port)
        self.nats = NatsServer(
            data.nats, nats_port, monitor_port=nats_port + 4000, passwords=data.nats_passwords()
        )
        self.load_demo = load_demo
        self.processes: dict[str, subprocess.Popen] = {}
        self._stopping = False

    def service_env(self, extra: dict[str, str]) -> dict[str, str]:
        env = {**os.environ, **extra, "NATS_URL": self.nats.url, "PYTHONUNBUFFERED": "1"}
        env["AUTH_PUBLIC_KEY_FILE"] = str(self.data.keys / "public.pem")
        for service in self.services:
            env[f"{service.env_prefix}DATABASE_URL"] = self.postgres.url(service.name)
        env["GATEWAY_SOURCES"] = gateway_sources(self.services)
        for service in self.services:
            env.update(service_urls(service, self.services))
        return env

    def run(self) -> int:
        # Installed explicitly: a shell that started us in the background may have left
        # SIGINT ignored, and Ctrl-C must always stop everything.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, lambda *_: self._interrupt())
        try:
            self.start()
            self.wait()
        except KeyboardInterrupt:
            console.print("\n[yellow]stopping…[/yellow]")
        except Exception as exc:  # noqa: BLE001 - show it plainly, then clean up
            console.print(f"[red]failed:[/red] {exc}")
            return 1
        finally:
            self.stop()
        return 0

    def _interrupt(self) -> None:
        raise KeyboardInterrupt

    def start(self) -> None:
        self.data.create()
        create_key_pair(self.data.keys)
        secrets = self.data.secrets_for(self.services)
        env = self.service_env(secrets)

        with console.status("starting PostgreSQL…"):
            self.postgres.start(log_file=self.data.logs / "postgres.log")
        console.print(
            f"[green]✓[/green] PostgreSQL on 127.0.0.1:{self.postgres.port} (data {self.data.pg})"
        )
        created = [s.name for s in self.services if self.postgres.ensure_database(s.name)]
        if created:
            console.print(f"[green]✓[/green] created databases: {', '.join(created)}")

        with console.status("starting NATS JetStream…"):
            self.nats.start(log_file=self.data.logs / "nats.log")
        console.print(
            f"[green]✓[/green] NATS JetStream on {self.nats.address} (store {self.data.nats})"
        )

        for service in self.services:
            with console.status(f"migrating {service.name}…"):
                asyncio.run(migrate(service, self.postgres.url(service.name)))
        console.print(
            f"[green]✓[/green] migrations applied: {', '.join(s.name for s in self.services)}"
        )
        streams = asyncio.run(provision_streams(self.services, self.nats.url))
        console.print(f"[green]✓[/green] streams: {', '.join(streams)}")

        if self.load_demo:
            for service in (s for s in self.services if s.demo):
                console.print(f"demo data for {service.name} (adds only what is missing)…")
                subprocess.run(
                    [sys.executable, "-m", f"{service.package}.demo"], env=env, check=True
                )

        for service in self.services:
            self.processes[service.name] = self._start_service(service, env)
        self._wait_ready()
        if self.load_demo:
            self._load_demo_after_start(env)
        self._print_summary()

    def _load_demo_after_start(self, env: dict[str, str]) -> None:
        """Loaders that need the running stack (e.g. health waits for the registry's persons).

        A failure is reported, not fatal: the stack, and the registry's demo county, stay
        usable without that service's demo data."""
        for service in (s for s in self.services if s.demo_after_start):
            console.print(f"demo data for {service.name} (once the stack is ready)…")
            result = subprocess.run(
                [sys.executable, "-m", f"{service.package}.demo"], env=env, check=False
            )
            if result.returncode != 0:
                console.print(
                    f"[red]demo data for {service.name} failed[/red] (exit {result.returncode},"
                    " error above); the stack keeps running without it"
                )

    def _start_service(self, service: ServiceInfo, env: dict[str, str]) -> subprocess.Popen:
        log = open(self.data.logs / f"{service.name}.log", "ab")
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                service.app_factory,
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(service.port),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us; we stop the children in order
        )

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        pending = {s.name: s for s in self.services}
        with console.status("waiting for services to be ready…"):
            while pending and time.monotonic() < deadline:
                for name, service in list(pending.items()):
                    if self.processes[name].poll() is not None:
                        raise RuntimeError(f"{name} exited; see {self.data.logs / (name + '.log')}")
                    try:
                        with urllib.request.urlopen(
                            f"http://127.0.0.1:{service.port}/readyz", timeout=1
                        ) as r:
                            if r.status == 200:
                                del pending[name]
                    except OSError:
                        pass
                time.sleep(0.3)
        if pending:
            raise TimeoutError(
                f"not ready after {timeout:.0f}s: {', '.join(pending)} (see {self.data.logs})"
            )

    def _print_summary(self) -> None:
        console.print("\n[bold green]Jingzhun is running[/bold green]")
        for s in sorted(self.services, key=lambda s: s.port):
            url = f"http://127.0.0.1:{s.port}"
            print(f"  {s.name:<10} {url:<24} API docs: {url}/docs   ({s.department})")
        terms = token_terms()
        token = role_token(
            (self.data.keys / "private.pem").read_bytes(),
            role="county_admin",
            region=DEMO_COUNTY,
            **terms,
        )
        hours = f"{terms['ttl'].total_seconds() / 3600:g}"
        print(
            f"\nDemo bearer token (county_admin of 广河县 {DEMO_COUNTY}, valid {hours} h):\n{token}\n"
        )
        print("Try:  export TOKEN=$(make -s token)")
        print(
            '      curl -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:8001/households?size=3"'
        )
        print(
            f"Other roles: make token ROLE=village_cadre REGION=622924100201    Logs: {self.data.logs}"
        )
        self._print_dashboard_access()
        print("Press Ctrl-C to stop everything.", flush=True)

    def _print_dashboard_access(self) -> None:
        """How the demo county's dashboard subscribes to its public feed on NATS."""
        for line in dashboard_access(self.nats.address, self.data.secrets_file, DEMO_COUNTY):
            print(line)

    def wait(self) -> None:
        while True:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(
                        f"{name} stopped unexpectedly (exit {process.returncode}); see {self.data.logs}"
                    )
            time.sleep(0.5)

    def stop(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        signal.signal(
            signal.SIGINT, signal.SIG_IGN
        )  # a second Ctrl-C must not cut the clean-up short
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()  # all at once, then wait for each
        for process in self.processes.values():
            stop_process(process, signal.SIGTERM, timeout=15)
        self.nats.stop()
        self.postgres.stop()
        console.print("[green]stopped[/green]: services, NATS, PostgreSQL")


def dashboard_access(address: str, secrets_file: Path, county: str) -> list[str]:
    """What ``make run`` prints about a county's dashboard user: who, where its password
    is, and a subscription to the county's redacted public feed."""
    user = dashboard_user(county)
    variable = password_variable(user)
    read = f"import json;print(json.load(open('{secrets_file}'))['{variable}'])"
    return [
        f"\nDashboards (大屏) on NATS {address}: the redacted public feed of one county, "
        f"subscribe only. User {user!r}, password {variable} in {secrets_file}:",
        f'  PW=$(python3 -c "{read}")',
        f"  nats sub -s {address} --user {user} --password \"$PW\" '{public_filter(county)}'",
    ]
