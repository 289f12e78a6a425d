"""Dashboards may subscribe to NATS directly, read-only: the `dashboard` user receives the
events the services publish, and can publish nothing, use no JetStream API and read
neither dead letters nor the JetStream API subjects. The same checks run against the
embedded server (``make run``, the fixtures) and against a real nats-server started with
the config file docker compose mounts; the Kubernetes config is parsed by nats-server."""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path

import nats
import nats.errors
import pytest
import yaml
from nats.js.api import ConsumerConfig
from registry_testdata import VILLAGE, household_body, seed_regions

from contracts.region import subject_tokens
from devstack.nats_config import (
    DASHBOARD_USER,
    PASSWORD_VARIABLES,
    SERVICES_USER,
    NatsPasswords,
    event_subjects,
    url_with_user,
)
from devstack.servers import NatsServer, free_port, nats_server_binary
from devstack.testing import eventually, running
from kit.bus import Bus
from registry.config import RegistrySettings
from registry.main import create_app as create_registry

ROOT = Path(__file__).resolve().parents[1]
REGION = ".".join(subject_tokens(VILLAGE))
COUNTY_FILTER = "*.*.*." + ".".join(subject_tokens(VILLAGE)[:3]) + ".>"  # *.*.*.62.29.24.>


class Errors:
    """The dashboard connection's error callback: permission violations arrive here."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    async def record(self, exc: Exception) -> None:
        self.messages.append(str(exc).lower())

    async def saw(self, fragment: str) -> None:
        fragment = fragment.lower()
        await eventually(
            lambda: _now(self.messages),
            until=lambda messages: any(fragment in m for m in messages),
            timeout=10,
        )


async def _now(value):
    return value


async def _quiet(_exc: Exception) -> None:  # refused connections: no traceback on stderr
    return None


async def _until_marker(subscription, marker: bytes) -> list:
    """Messages of ``subscription`` up to and including the one carrying ``marker``."""
    seen = []
    while True:
        message = await subscription.next_msg(timeout=10)
        seen.append(message)
        if message.data == marker:
            return seen


async def assert_dashboard_is_read_only(stack, server: NatsServer) -> None:
    """The shared checks: the registry publishes through ``server`` as the services user,
    a dashboard reads as the dashboard user, and everything else is refused."""
    registry_app = create_registry(
        RegistrySettings(**await stack.settings_for("registry", nats_url=server.url))
    )
    errors = Errors()
    async with running(registry_app) as registry:
        await seed_regions(registry_app)
        services = await nats.connect(server.url)
        dashboard = await nats.connect(server.dashboard_url, error_cb=errors.record)
        try:
            # --- it receives what a service published, by service and by region -------
            by_service = await dashboard.subscribe("registry.>")
            by_county = await dashboard.subscribe(COUNTY_FILTER)
            await dashboard.flush()
            response = await registry.post(
                "/households",
                json=household_body(region_code=VILLAGE),
                headers=stack.keys.headers(),
            )
            assert response.status_code == 201, response.text
            household_id = response.json()["id"]
            for subscription in (by_service, by_county):
                while True:
                    message = await subscription.next_msg(timeout=30)
                    event = json.loads(message.data)
                    if event["type"] == "cn.jingzhun.registry.household.created.v1":
                        break
                assert message.subject == f"registry.household.created.{REGION}"
                assert event["subject"] == household_id
            assert errors.messages == []

            # --- a core publish to an event subject never arrives -------------------------
            js = services.jetstream()
            subject = f"registry.household.created.{REGION}"
            watcher = await services.subscribe(subject)
            await services.flush()
            before = (await js.stream_info("REGISTRY")).state.last_seq
            await dashboard.publish(subject, b"forged")
            await dashboard.flush()  # the server has handled the publish before the marker
            await services.publish(subject, b"marker")
            await services.flush()
            assert (await watcher.next_msg(timeout=10)).data == b"marker"
            await errors.saw(f'permissions violation for publish to "{subject}"')
            after = (await js.stream_info("REGISTRY")).state.last_seq
            stored = [
                (await js.get_msg("REGISTRY", seq)).data for seq in range(before + 1, after + 1)
            ]
            assert b"marker" in stored and b"forged" not in stored

            # --- no JetStream API: neither stream info nor a consumer -----------------------
            dashboard_js = dashboard.jetstream(timeout=1)
            with pytest.raises(nats.errors.TimeoutError):
                await dashboard_js.stream_info("REGISTRY")
            await errors.saw('permissions violation for publish to "$js.api.stream.info.registry"')
            with pytest.raises(nats.errors.TimeoutError):
                await dashboard_js.add_consumer(
                    "REGISTRY", ConsumerConfig(durable_name="dashboard-reader")
                )
            await errors.saw('permissions violation for publish to "$js.api.consumer.')
            consumers = [c.name for c in await js.consumers_info("REGISTRY")]
            assert "dashboard-reader" not in consumers

            # --- no dead letters, no JetStream API subjects, not everything -----------------
            refused = ["deadletter.>", "$JS.>", "_INBOX.>", ">"]
            forbidden = {s: await dashboard.subscribe(s) for s in refused}
            everything_allowed = await dashboard.subscribe("*.*.*.>")
            await dashboard.flush()
            for s in refused:
                await errors.saw(f'permissions violation for subscription to "{s}"')
            await services.publish(f"deadletter.registry.household.created.{REGION}", b"poison")
            await js.stream_info("REGISTRY")  # JetStream API traffic: $JS.API… and an _INBOX reply
            await services.publish(f"registry.household.marker.{REGION}", b"end")
            await services.flush()
            seen = await _until_marker(everything_allowed, b"end")
            assert not [
                m.subject for m in seen if m.subject.startswith(("deadletter.", "$JS.", "_INBOX."))
            ]
            for s, subscription in forbidden.items():
                assert subscription.pending_msgs == 0, s
        finally:
            await dashboard.close()
            await services.close()

    # --- no entry without the right password ----------------------------------------------
    for url in (server.address, url_with_user(server.address, DASHBOARD_USER, "wrong")):
        with pytest.raises(nats.errors.Error, match="(?i)authorization violation"):
            await nats.connect(url, allow_reconnect=False, connect_timeout=2, error_cb=_quiet)


async def test_embedded_server_has_a_read_only_dashboard_user(stack, nats_server):
    await assert_dashboard_is_read_only(stack, nats_server)


def _compose_nats_config() -> Path:
    """The host file docker compose hands nats-server as ``-c``."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    nats_service = compose["services"]["nats"]
    command = nats_service["command"]
    in_container = command[command.index("-c") + 1]
    mounts = dict(
        reversed(str(volume).removesuffix(":ro").split(":", 1))
        for volume in nats_service["volumes"]
    )
    return (ROOT / mounts[in_container]).resolve()


async def test_compose_config_has_a_read_only_dashboard_user(stack, tmp_path):
    config = _compose_nats_config()
    assert config.is_file(), config
    # The real binary with compose's file; the passwords come from its environment.
    server = NatsServer(
        tmp_path / "store",
        free_port(),
        monitor_port=free_port(),
        passwords=NatsPasswords.generate(),
        config_file=config,
    )
    server.start(log_file=tmp_path / "nats.log")
    try:
        await assert_dashboard_is_read_only(stack, server)
    finally:
        server.stop()


def test_kubernetes_config_with_its_users_is_valid(tmp_path):
    """nats-server itself parses the cluster's nats.conf with the users.conf it includes."""
    base = ROOT / "deploy" / "k8s" / "base"
    config_maps = {
        doc["metadata"]["name"]: doc["data"]
        for path in (base / "nats.yaml", base / "nats-users.yaml")
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8"))
        if doc and doc["kind"] == "ConfigMap"
    }
    for data in (config_maps["nats-config"], config_maps["nats-users"]):
        for name, text in data.items():
            (tmp_path / name).write_text(text)
    env = {"POD_NAME": "nats-0", **NatsPasswords.generate().environment()}
    check = [nats_server_binary(), "-t", "-c", str(tmp_path / "nats.conf")]
    result = subprocess.run(check, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    # The check can fail: without the passwords the include does not resolve.
    result = subprocess.run(check, env={"POD_NAME": "nats-0"}, capture_output=True, text=True)
    assert result.returncode != 0 and PASSWORD_VARIABLES[SERVICES_USER] in result.stderr


def test_dashboard_subjects_follow_the_producers():
    subjects = event_subjects()
    assert "registry.>" in subjects  # a service with a stream
    assert "health.>" in subjects  # a producer in the catalogue, not yet a service
    assert "gateway.>" not in subjects  # publishes no events
    assert all(s.endswith(".>") and s.count(".") == 1 for s in subjects)


async def test_the_bus_never_logs_the_password(nats_server, caplog):
    caplog.set_level(logging.DEBUG)  # the NATS client's own loggers too
    down = url_with_user(f"nats://127.0.0.1:{free_port()}", SERVICES_USER, "neverLoggedPw1")
    for url in (nats_server.url, down):
        bus = Bus(url, name="log-check")
        bus.start()
        try:
            if url == down:
                # the client retries for ever; its failures reach the bus's error callback
                await eventually(
                    lambda: _now(caplog.text), until=lambda t: "Connect call failed" in t
                )
            else:
                await bus.wait_connected()
        finally:
            await bus.close()
    assert "connected to NATS at nats://services:***@127.0.0.1" in caplog.text
    assert nats_server.passwords.services not in caplog.text
    assert "neverLoggedPw1" not in caplog.text
