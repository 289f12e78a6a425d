"""Dashboards (大屏) on NATS read only their county's redacted public feed.

The gateway republishes every event it reads, redacted, on ``public.<region>.<event>``;
each county has its own read-only user (``dashboard-622924``) allowed to subscribe to
``public.62.29.24.>`` and nothing else: not the services' raw subjects (names, ID numbers,
incomes), not another county's feed, not the JetStream API, inboxes or dead letters, and
it may publish nothing. The same checks run against the embedded server (``make run``,
the fixtures) and against a real nats-server started with the config file docker compose
mounts; the Kubernetes config is parsed by nats-server."""

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

from contracts.events.registry import RegionUpdated
from contracts.public import public_filter, public_subject
from devstack.nats_config import (
    DASHBOARD_COUNTIES,
    SERVICES_PASSWORD_VARIABLE,
    SERVICES_USER,
    NatsPasswords,
    authorization_block,
    dashboard_user,
    password_variables,
    url_with_user,
)
from devstack.project import DataDir
from devstack.runner import dashboard_access
from devstack.servers import NatsServer, free_port, nats_server_binary
from devstack.testing import eventually, running
from gateway.config import GatewaySettings
from gateway.main import create_app as create_gateway
from gateway.stream.redaction import is_personal_key, is_safe_string
from kit.bus import Bus
from registry.config import RegistrySettings
from registry.main import create_app as create_registry
from registry.regions.service import upsert_regions

ROOT = Path(__file__).resolve().parents[1]
COUNTY = "622924000000"
COUNTY_FEED = public_filter(COUNTY)  # public.62.29.24.>
OTHER_COUNTY = "622925000000"  # 和政县, beside 广河县 in the same prefecture
OTHER_VILLAGE = "622925100201"


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


async def _until(subscription, done) -> list:
    """Messages of ``subscription`` up to and including the first for which ``done`` holds."""
    seen = []
    while True:
        message = await subscription.next_msg(timeout=30)
        seen.append(message)
        if done(message):
            return seen


def _is_event(name: str, subject: str | None = None):
    return lambda m: (
        json.loads(m.data).get("type") == f"cn.jingzhun.{name}.v1"
        and (subject is None or json.loads(m.data).get("subject") == subject)
    )


def assert_no_personal_data(document, path: str = "") -> None:
    """The redaction rules hold for every key and value a dashboard received."""
    if isinstance(document, dict):
        for key, value in document.items():
            assert not is_personal_key(str(key)), f"{path}.{key}"
            assert_no_personal_data(value, f"{path}.{key}")
    elif isinstance(document, list):
        for i, item in enumerate(document):
            assert_no_personal_data(item, f"{path}[{i}]")
    elif isinstance(document, str):
        assert is_safe_string(document), f"{path} = {document!r}"


async def assert_dashboard_reads_its_county_only(stack, server: NatsServer) -> None:
    """The shared checks: the registry and the gateway run on ``server`` as the services
    user, the demo county's dashboard reads as its own user, everything else is refused."""
    registry_app = create_registry(
        RegistrySettings(**await stack.settings_for("registry", nats_url=server.url))
    )
    gateway_app = create_gateway(
        GatewaySettings(**await stack.settings_for("gateway", nats_url=server.url))
    )
    errors = Errors()
    services = await nats.connect(server.url)
    dashboard = await nats.connect(server.dashboard_url(COUNTY), error_cb=errors.record)
    try:
        everything = await services.subscribe("public.>")
        county_feed = await dashboard.subscribe(COUNTY_FEED)
        township_feed = await dashboard.subscribe(public_filter(VILLAGE[:9] + "000"))
        await services.flush()
        await dashboard.flush()
        async with running(registry_app) as registry, running(gateway_app):
            await seed_regions(registry_app)
            async with registry_app.state.runtime.sessionmaker() as session:
                await upsert_regions(
                    session,
                    [
                        RegionUpdated(
                            code=OTHER_COUNTY,
                            name="和政县",
                            level="county",
                            parent_code="622900000000",
                        ),
                        RegionUpdated(
                            code=OTHER_VILLAGE[:9] + "000",
                            name="城关镇",
                            level="township",
                            parent_code=OTHER_COUNTY,
                        ),
                        RegionUpdated(
                            code=OTHER_VILLAGE,
                            name="和政村",
                            level="village",
                            parent_code=OTHER_VILLAGE[:9] + "000",
                        ),
                    ],
                )
                await session.commit()
            # the other county's events are on the feed before the household's
            body = household_body(region_code=VILLAGE)
            response = await registry.post("/households", json=body, headers=stack.keys.headers())
            assert response.status_code == 201, response.text
            household_id = response.json()["id"]
            created = _is_event("registry.household.created", household_id)

            # --- the gateway published every event, the other county's too -------------
            published = await _until(everything, created)
            other = public_filter(OTHER_COUNTY).removesuffix(">")
            assert any(m.subject.startswith(other) for m in published)

            # --- the county's dashboard received its county's, redacted -----------------
            received = await _until(county_feed, created)
            assert received[-1].subject == public_subject(VILLAGE, "registry.household.created")
            county_prefix = COUNTY_FEED.removesuffix(">")
            assert {m.subject for m in received} == {
                m.subject for m in published if m.subject.startswith(county_prefix)
            }
            event = json.loads(received[-1].data)
            assert event["redacted"] is True and event["region"] == VILLAGE
            assert event["data"]["household_id"] == household_id
            assert event["data"]["poverty_state"] == "registered"
            assert len(event["data"]["members"]) == len(body["members"])
            # a township of the county, read with the same credentials
            in_township = await _until(township_feed, created)
            assert all(m.subject.startswith("public.62.29.24.100.") for m in in_township)
            # --- and no personal data: no names, ID fragments, birth dates, incomes ---------
            raw = b"\n".join(m.data for m in received).decode()
            for member in body["members"]:
                number = member["id_number"]
                for secret in [member["name"], number[6:14], f"{number[6:10]}-{number[10:12]}"]:
                    assert secret not in raw, secret
            assert "*" not in raw and "2800.50" not in raw
            for message in received:
                assert_no_personal_data(json.loads(message.data))
            assert errors.messages == []

            # --- refused: raw subjects, other counties, wider wildcards, system subjects ----
            refused = [
                "registry.>",
                "registry.household.created.62.29.24.100.201",
                "*.*.*.62.29.24.>",
                public_filter(OTHER_COUNTY),
                "public.>",
                "public.62.29.*.>",
                "deadletter.>",
                "$JS.>",
                "_INBOX.>",
                ">",
            ]
            forbidden = {s: await dashboard.subscribe(s) for s in refused}
            await dashboard.flush()
            for s in refused:
                await errors.saw(f'permissions violation for subscription to "{s}"')

            # --- a publish never arrives ------------------------------------------------
            subject = public_subject(VILLAGE, "registry.household.created")
            watcher = await services.subscribe(subject)
            await services.flush()
            await dashboard.publish(subject, b"forged")
            await dashboard.flush()  # the server has handled the publish before the marker
            await services.publish(subject, b"marker")
            await services.flush()
            assert (await watcher.next_msg(timeout=10)).data == b"marker"
            await errors.saw(f'permissions violation for publish to "{subject}"')

            # --- no JetStream API: neither stream info nor a consumer -----------------------
            js = services.jetstream()
            dashboard_js = dashboard.jetstream(timeout=1)
            with pytest.raises(nats.errors.TimeoutError):
                await dashboard_js.stream_info("PUBLIC")
            await errors.saw('permissions violation for publish to "$js.api.stream.info.public"')
            with pytest.raises(nats.errors.TimeoutError):
                await dashboard_js.add_consumer(
                    "REGISTRY", ConsumerConfig(durable_name="dashboard-reader")
                )
            await errors.saw('permissions violation for publish to "$js.api.consumer.')
            assert "dashboard-reader" not in [c.name for c in await js.consumers_info("REGISTRY")]

            # nothing reached the refused subscriptions, whatever went by meanwhile
            await services.publish(f"deadletter.registry.household.created.{VILLAGE}", b"x")
            await services.publish("registry.household.marker.62.29.24.100.201", b"x")
            await services.publish(public_subject(OTHER_VILLAGE, "registry.marker.x"), b"x")
            await services.publish(public_subject(VILLAGE, "registry.marker.end"), b"end")
            await services.flush()
            await _until(county_feed, lambda m: m.data == b"end")
            for s, subscription in forbidden.items():
                assert subscription.pending_msgs == 0, s
    finally:
        await dashboard.close()
        await services.close()

    # --- no entry without the right credentials -------------------------------------------
    for url in (
        server.address,
        url_with_user(server.address, dashboard_user(COUNTY), "wrong"),
        url_with_user(server.address, "dashboard", server.passwords.dashboards[COUNTY]),
    ):
        with pytest.raises(nats.errors.Error, match="(?i)authorization violation"):
            await nats.connect(url, allow_reconnect=False, connect_timeout=2, error_cb=_quiet)


async def test_embedded_server_gives_a_county_its_public_feed_only(stack, nats_server):
    await assert_dashboard_reads_its_county_only(stack, nats_server)


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


async def test_compose_config_gives_a_county_its_public_feed_only(stack, tmp_path):
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
        await assert_dashboard_reads_its_county_only(stack, server)
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
    assert result.returncode != 0 and SERVICES_PASSWORD_VARIABLE in result.stderr


def test_every_county_gets_its_own_dashboard_user():
    block = authorization_block(counties=(COUNTY, OTHER_COUNTY))
    for county, feed in [(COUNTY, "public.62.29.24.>"), (OTHER_COUNTY, "public.62.29.25.>")]:
        user = dashboard_user(county)
        assert f'user: "{user}"' in block and f'allow: ["{feed}"]' in block
    assert dashboard_user(COUNTY) == "dashboard-622924"
    assert password_variables((COUNTY,)) == [
        "NATS_SERVICES_PASSWORD",
        "NATS_DASHBOARD_622924_PASSWORD",
    ]
    assert COUNTY in DASHBOARD_COUNTIES  # the demo county, whose credentials make run creates
    for not_a_county in ("622924100000", "620000000000", "6229"):
        with pytest.raises(ValueError):
            dashboard_user(not_a_county)


def test_make_run_creates_the_demo_countys_credentials_and_says_how_to_connect(tmp_path):
    data = DataDir(tmp_path / "data")
    passwords = data.nats_passwords()
    assert set(passwords.dashboards) == {COUNTY}
    assert data.nats_passwords() == passwords  # kept in the data folder, not made anew
    lines = dashboard_access("nats://127.0.0.1:4222", data.secrets_file, COUNTY)
    text = "\n".join(lines)
    assert "dashboard-622924" in text and "'public.62.29.24.>'" in text
    assert passwords.dashboards[COUNTY] not in text  # where it is, not the password itself
    # the printed command reads the password from where the runner keeps it
    command = next(line for line in lines if "PW=$(" in line).strip()
    shown = subprocess.run(
        ["bash", "-c", f'{command}; printf %s "$PW"'], capture_output=True, text=True
    )
    assert shown.stdout == passwords.dashboards[COUNTY], shown.stderr


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
