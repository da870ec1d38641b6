"""Consoles through a service node: the SN's console server holds SOL, the MN's relays it."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection

from consoles import services, tickets
from consoles.sol import SolRuntime, SolSource
from consoles.sources import RelaySource
from consoles.tests.conftest import ServerThread, free_port
from consoles.tests.test_server import open_console, read_until, refusal, ticket
from consoles.tests.test_sol import FakeSerial, serial  # noqa: F401 (fixture)
from hierarchy.tests.factories import make_sn
from lab.bmcsim import Lab
from nodes.tests.factories import make_node
from testsupport.waiting import wait_until


def relay(sn: ServerThread, node: str = "c01") -> RelaySource:
    return RelaySource(sn.url(""), node, lambda: services.relay_ticket(node), servicenode="sn01")


def mn_log(mn: ServerThread, node: str = "c01") -> bytes:
    mn.call(mn.broker.flush_logs)
    return (mn.log_dir / f"{node}.log").read_bytes()


@pytest.mark.skipif(shutil.which("ipmi_sim") is None, reason="needs openipmi")
def test_a_viewer_on_the_management_node_sees_and_types_into_sol_held_by_the_service_node(
    tmp_path: Path,
    serial: FakeSerial,  # noqa: F811
) -> None:
    with Lab(tmp_path / "lab") as lab:
        (bmc,) = lab.start(1, base_port=free_port(), sol_base_port=serial.port)
        (tmp_path / "sn").mkdir()
        (tmp_path / "mn").mkdir()
        sn = ServerThread(None, tmp_path / "sn", ticket_salt=tickets.RELAY_SALT)
        runtime = sn.call(SolRuntime)
        mn = ServerThread(None, tmp_path / "mn")
        try:
            sol = SolSource(runtime, "127.0.0.1", bmc.port, "admin", bmc.password)
            sn.add_node("c01", sol)
            mn.add_node("c01", relay(sn))
            with open_console(mn, ticket(["c01"], mode="write"), node="c01") as viewer:
                assert b"tick" in read_until(viewer, b"\r\n", timeout=20)
                viewer.send(struct.pack("!H", 0) + b"echo relayed\r")
                wait_until(lambda: b"echo relayed\r" in serial.typed, 10, 0.05)
            # The console log is written on the management node, from the relayed stream.
            assert b"tick" in mn_log(mn)
        finally:
            mn.stop()
            sn.stop()
            runtime.shutdown()


def test_the_service_node_console_server_refuses_browser_tickets(tmp_path: Path) -> None:
    sn = ServerThread(None, tmp_path, ticket_salt=tickets.RELAY_SALT)
    sn.add_node("c01")
    try:
        status, body = refusal(sn, f"/ws/console/c01?ticket={ticket(['c01'], mode='write')}")
        assert (status, body) == (403, "the console ticket is not valid\n")
    finally:
        sn.stop()


def test_a_relay_ticket_opens_no_console_on_the_management_node(tmp_path: Path) -> None:
    mn = ServerThread(None, tmp_path)
    mn.add_node("c01")
    try:
        status, _ = refusal(mn, f"/ws/console/c01?ticket={services.relay_ticket('c01')}")
        assert status == 403
    finally:
        mn.stop()


def test_after_the_relay_reconnects_the_log_has_no_duplicate_output(tmp_path: Path) -> None:
    (tmp_path / "sn").mkdir()
    (tmp_path / "mn").mkdir()
    sn = ServerThread(None, tmp_path / "sn", ticket_salt=tickets.RELAY_SALT)
    mn = ServerThread(None, tmp_path / "mn")
    try:
        sn.add_node("c01")
        source = relay(sn)
        mn.add_node("c01", source)
        viewer: ClientConnection
        with open_console(mn, ticket(["c01"]), node="c01") as viewer:
            sn.feed("c01", b"first line\r\n")
            read_until(viewer, b"first line")
            first = source._conn
            mn.call(lambda: mn.loop.create_task(first.close()))  # the MN-SN link drops
            wait_until(lambda: source._conn is not None and source._conn is not first, 10, 0.05)
            sn.feed("c01", b"second line\r\n")
            read_until(viewer, b"second line")
        log = mn_log(mn)
        assert log.count(b"first line") == 1
        assert log.count(b"second line") == 1
    finally:
        mn.stop()
        sn.stop()


@pytest.mark.django_db
def test_the_management_node_relays_nodes_behind_a_service_node_and_reads_sol_for_the_rest(
    settings: Any,
) -> None:
    sn = make_sn("sn01")
    sn.console_url = "ws://127.0.0.1:18001"
    sn.save()
    make_node("c01", cons="ipmi", bmc="192.168.78.2", servicenode="sn01")
    make_node("m01", cons="ipmi", bmc="127.0.0.1:16000")
    specs = {s.name: s for s in services.console_specs()}
    assert (specs["c01"].via, specs["c01"].relay, specs["c01"].host) == (
        "sn01",
        "ws://127.0.0.1:18001",
        "",
    )
    assert (specs["m01"].via, specs["m01"].host) == ("", "127.0.0.1")


@pytest.mark.django_db
def test_a_service_node_captures_only_the_nodes_routed_to_it(settings: Any) -> None:
    make_sn("sn01")
    make_sn("sn02", age=3600)  # silent: its nodes fail over to their backup
    make_node("c01", cons="ipmi", bmc="192.168.78.2", servicenode="sn01")
    make_node("c02", cons="ipmi", bmc="192.168.78.3", servicenode="sn02,sn01")
    make_node("c03", cons="ipmi", bmc="192.168.78.4", servicenode="sn02")
    make_node("m01", cons="ipmi", bmc="127.0.0.1:16000")
    settings.ROLE, settings.SERVICE_NODE = "service", "sn01"
    specs = services.console_specs()
    assert [s.name for s in specs] == ["c01", "c02"]
    assert all(s.via == "" and s.host.startswith("192.168.78.") for s in specs)
