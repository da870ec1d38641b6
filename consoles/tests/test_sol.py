"""Real IPMI SOL: a lab BMC (ipmi_sim) bridges a scripted serial port to the console server."""

from __future__ import annotations

import shutil
import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from consoles.broker import State
from consoles.sol import SolRuntime, SolSource
from consoles.tests.conftest import ServerThread, free_port
from consoles.tests.test_server import next_json, open_console, read_until, ticket
from lab.bmcsim import Lab
from testsupport.waiting import wait_until

pytestmark = pytest.mark.skipif(shutil.which("ipmi_sim") is None, reason="needs openipmi")


class FakeSerial:
    """A node's serial port as a TCP server: says ``tick N`` every 50 ms, records input.

    ipmi_sim connects to it as a client (as it does to qemu's ``-serial tcp:…,server=on``)
    and reconnects after a restart, so it accepts connections in a loop.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.typed = bytearray()
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self._listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:  # closed by close()
                return
            self.connections += 1
            self._talk(conn)

    def _talk(self, conn: socket.socket) -> None:
        conn.settimeout(0.05)
        n = 0
        with conn:
            while not self._stop.is_set():
                try:
                    conn.sendall(b"tick %d\r\n" % n)
                    n += 1
                    data = conn.recv(4096)
                    if not data:
                        return
                    self.typed += data
                except TimeoutError:
                    continue
                except OSError:
                    return

    def close(self) -> None:
        self._stop.set()
        self._listener.close()


@pytest.fixture
def serial() -> Iterator[FakeSerial]:
    fake = FakeSerial()
    yield fake
    fake.close()


def sol_server(tmp_path: Path, bmc_port: int, password: str) -> tuple[ServerThread, SolRuntime]:
    server = ServerThread(None, tmp_path)
    runtime = server.call(SolRuntime)
    source = SolSource(
        runtime, "127.0.0.1", bmc_port, "admin", password, watchdog_interval=1, probe_timeout=2
    )
    server.add_node("lab01", source)
    return server, runtime


def wait_for_state(server: ServerThread, state: State, timeout: float) -> None:
    wait_until(
        lambda: server.call(lambda: server.broker.consoles["lab01"].state) == state,
        timeout,
        message=f"console never became {state}",
    )


def test_sol_output_reaches_a_websocket_viewer_and_typing_reaches_the_node(
    tmp_path: Path, serial: FakeSerial
) -> None:
    bmc_port = free_port()
    with Lab(tmp_path / "lab") as lab:
        (bmc,) = lab.start(1, base_port=bmc_port, sol_base_port=serial.port)
        server, runtime = sol_server(tmp_path, bmc.port, bmc.password)
        try:
            with open_console(server, ticket(["lab01"], mode="write"), node="lab01") as conn:
                assert b"tick" in read_until(conn, b"\r\n", timeout=20)
                conn.send(struct.pack("!H", 0) + b"echo hello\r")
                wait_until(
                    lambda: b"echo hello\r" in serial.typed,
                    10,
                    0.05,
                    message=lambda: repr(bytes(serial.typed)),
                )
        finally:
            server.stop()
            runtime.shutdown()


@pytest.mark.slow
def test_the_console_reconnects_after_the_bmc_restarts(tmp_path: Path, serial: FakeSerial) -> None:
    bmc_port = free_port()
    lab = Lab(tmp_path / "lab")
    (bmc,) = lab.start(1, base_port=bmc_port, sol_base_port=serial.port)
    server, runtime = sol_server(tmp_path, bmc.port, bmc.password)
    try:
        with open_console(server, ticket(["lab01"]), node="lab01") as conn:
            wait_for_state(server, State.CONNECTED, 20)
            read_until(conn, b"tick", timeout=10)
            lab.stop()
            lost_at = time.monotonic()
            while next_json(conn, "state", timeout=30)["state"] != "lost":
                assert time.monotonic() - lost_at < 30
            lab.start(1, base_port=bmc_port, sol_base_port=serial.port)
            wait_for_state(server, State.CONNECTED, 60)
            # ipmi_sim reconnects to the serial port and output flows to the same viewer.
            read_until(conn, b"tick", timeout=30)
    finally:
        lab.stop()
        server.stop()
        runtime.shutdown()
