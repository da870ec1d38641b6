"""The console server over real websockets: tickets, Origin, read-only viewers, replay."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from typing import Any
from unittest import mock

import pytest
from django.core import signing
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from consoles import tickets
from consoles.services import PortalHooks
from consoles.tests.conftest import ORIGIN, ServerThread
from snportal.models import AuditEvent
from testsupport.waiting import wait_until


def ticket(nodes: list[str] | None = None, mode: str = "view", user_id: int | None = 1) -> str:
    return tickets.mint(user_id=user_id, username="tester", nodes=nodes or ["n1"], mode=mode)


def open_console(server: ServerThread, token: str, node: str = "n1", **kw: Any) -> ClientConnection:
    kw.setdefault("origin", ORIGIN)
    return connect(server.url(f"/ws/console/{node}?ticket={token}"), open_timeout=5, **kw)


def refusal(server: ServerThread, path: str, **kw: Any) -> tuple[int, str]:
    kw.setdefault("origin", ORIGIN)
    with pytest.raises(InvalidStatus) as info:
        connect(server.url(path), open_timeout=5, **kw)
    response = info.value.response
    return response.status_code, response.body.decode()


def read_until(conn: ClientConnection, wanted: bytes, timeout: float = 5.0) -> bytes:
    """Console bytes (channel 0) received until ``wanted`` appears."""
    got = b""
    deadline = time.monotonic() + timeout
    while wanted not in got:
        frame = conn.recv(timeout=max(0.01, deadline - time.monotonic()))
        if isinstance(frame, bytes):
            got += frame[2:]
    return got


def next_json(conn: ClientConnection, kind: str, timeout: float = 5.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        frame = conn.recv(timeout=max(0.01, deadline - time.monotonic()))
        if isinstance(frame, str) and json.loads(frame)["type"] == kind:
            return json.loads(frame)


# --- refused before any console data -------------------------------------------------------------
def test_a_connection_without_ticket_is_refused(console_server: ServerThread) -> None:
    assert refusal(console_server, "/ws/console/n1") == (403, "a console ticket is required\n")


def test_an_expired_ticket_is_refused(console_server: ServerThread) -> None:
    old = int(time.time()) - 3600
    with mock.patch.object(
        signing.TimestampSigner, "timestamp", lambda self: signing.b62_encode(old)
    ):
        token = ticket()
    status, body = refusal(console_server, f"/ws/console/n1?ticket={token}")
    assert (status, "expired" in body) == (403, True)


def test_a_tampered_ticket_is_refused(console_server: ServerThread) -> None:
    token = ticket()
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    status, body = refusal(console_server, f"/ws/console/n1?ticket={forged}")
    assert (status, body) == (403, "the console ticket is not valid\n")


def test_a_ticket_for_another_node_is_refused(console_server: ServerThread) -> None:
    console_server.add_node("n2")
    status, body = refusal(console_server, f"/ws/console/n1?ticket={ticket(['n2'])}")
    assert (status, body) == (403, "the console ticket is for another node\n")


def test_a_foreign_origin_is_refused(console_server: ServerThread) -> None:
    path = f"/ws/console/n1?ticket={ticket()}"
    status, body = refusal(console_server, path, origin="http://evil.example")
    assert (status, body) == (403, "origin not allowed\n")


def test_a_ticket_works_only_once(console_server: ServerThread) -> None:
    token = ticket()
    with open_console(console_server, token):
        pass
    status, body = refusal(console_server, f"/ws/console/n1?ticket={token}")
    assert (status, body) == (403, "the console ticket was already used\n")


def test_a_refused_connection_receives_no_console_output(console_server: ServerThread) -> None:
    console_server.feed("n1", b"secret boot output")
    with socket.create_connection(("127.0.0.1", console_server.port)) as raw:
        raw.sendall(
            b"GET /ws/console/n1 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n"
        )
        raw.settimeout(5)
        answer = b""
        while chunk := raw.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 403") and b"secret" not in answer


# --- viewing and typing --------------------------------------------------------------------------
def test_a_viewer_gets_scrollback_then_live_output(console_server: ServerThread) -> None:
    console_server.feed("n1", b"before-")
    with open_console(console_server, ticket()) as conn:
        assert next_json(conn, "hello")["mode"] == "view"
        console_server.feed("n1", b"after")
        assert read_until(conn, b"after") == b"before-after"


def test_an_operator_types_into_the_console(console_server: ServerThread) -> None:
    with open_console(console_server, ticket(mode="write")) as conn:
        conn.send(struct.pack("!H", 0) + b"ls\r")
        conn.send(json.dumps({"type": "break", "ch": 0}))
        source = console_server.sources["n1"]
        wait_until(
            lambda: (bytes(source.typed), source.breaks) == (b"ls\r", 1),
            5,
            0.01,
            message=lambda: repr((source.typed, source.breaks)),
        )


@pytest.mark.django_db(transaction=True)
def test_viewer_input_is_refused_and_audited(tmp_path: Any) -> None:
    server = ServerThread(PortalHooks(), tmp_path)
    try:
        server.add_node("n1")
        with open_console(server, ticket(mode="view", user_id=None)) as conn:
            conn.send(struct.pack("!H", 0) + b"reboot\r")
            error = next_json(conn, "error")
        assert error["message"] == "read-only console: your input was refused"
        assert bytes(server.sources["n1"].typed) == b""
        wait_until(
            AuditEvent.objects.filter(verb="console.close").exists,
            5,
            0.05,
            message="console.close was not audited",
        )
        rows = list(AuditEvent.objects.order_by("id").values_list("verb", "outcome", "object_name"))
        assert rows == [
            ("console.open", "success", "n1"),
            ("console.input", "denied", "n1"),
            ("console.close", "success", "n1"),
        ]
    finally:
        server.stop()


# --- replay without gap or duplicate -------------------------------------------------------------
def test_viewers_joining_mid_stream_see_a_contiguous_byte_sequence(
    console_server: ServerThread,
) -> None:
    """Bytes are a counter; each viewer's bytes must be one unbroken run of it."""
    stream = bytes(i % 251 for i in range(300_000))
    stop = threading.Event()

    def produce() -> None:
        for start in range(0, len(stream), 1000):
            console_server.feed("n1", stream[start : start + 1000])
        stop.set()

    received: list[bytes] = []
    producer = threading.Thread(target=produce)
    producer.start()
    while not stop.is_set() or len(received) < 3:
        with open_console(console_server, ticket()) as conn:
            got = b""
            end = time.monotonic() + 0.2
            while time.monotonic() < end:
                try:
                    frame = conn.recv(timeout=0.05)
                except TimeoutError:
                    continue
                if isinstance(frame, bytes):
                    got += frame[2:]
            received.append(got)
    producer.join()
    for got in received:
        assert got, "a viewer received nothing"
        start = stream.find(got[:2000])
        assert start >= 0 and stream[start : start + len(got)] == got


# --- a slow viewer -----------------------------------------------------------------------------
def stalled_viewer(server: ServerThread, token: str) -> socket.socket:
    """A websocket client that completes the handshake and then never reads."""
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", server.port))
    raw.sendall(
        f"GET /ws/console/n1?ticket={token} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    raw.settimeout(5)
    assert raw.recv(12) == b"HTTP/1.1 101"
    return raw


def test_a_stalled_viewer_is_dropped_without_delaying_the_others(tmp_path: Any) -> None:
    server = ServerThread(None, tmp_path, queue_limit=256 * 1024)
    chunk, count = 64 * 1024, 160  # 10 MiB: more than every socket buffer on the way
    sent: list[float] = []
    try:
        server.add_node("n1")
        stalled = stalled_viewer(server, ticket())
        with open_console(server, ticket()) as fast:
            next_json(fast, "hello")

            def produce() -> None:
                for i in range(count):
                    sent.append(time.monotonic())
                    server.feed("n1", bytes([i % 256]) * chunk)
                    time.sleep(0.005)

            producer = threading.Thread(target=produce)
            producer.start()
            got, latencies = 0, []
            while got < chunk * count:
                frame = fast.recv(timeout=5)
                if isinstance(frame, bytes):
                    got += len(frame) - 2
                    while len(latencies) < got // chunk:
                        latencies.append(time.monotonic() - sent[len(latencies)])
            producer.join()
        assert got == chunk * count and max(latencies) < 1.0
        wait_until(
            lambda: server.call(lambda: len(server.broker.consoles["n1"].subscribers)) == 0,
            2,
            0.02,
            message="the stalled viewer is still subscribed",
        )
        stalled.settimeout(10)
        while stalled.recv(1 << 20):  # what the buffers held, then the server's close
            pass
        stalled.close()
    finally:
        server.stop()
