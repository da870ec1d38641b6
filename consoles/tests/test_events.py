"""Live events: a committed change NOTIFYs, the console server LISTENs and pushes it to the
pages subscribed to it — real PostgreSQL, real console server, real websocket clients."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect as sync_connect

from consoles import tickets
from consoles.management.commands.runconsoles import listen_connection
from consoles.tests.conftest import ORIGIN, ServerThread
from snportal import events
from snportal import live as hub_events
from testsupport.waiting import wait_until


def test_payloads_reach_topic_and_id_keys_and_log_lines_only_their_job() -> None:
    assert hub_events.keys_for({"topic": "node", "node": "n1"}) == ["node", "node:n1"]
    assert hub_events.keys_for({"topic": "joblog", "job": 7}) == ["joblog:7"]


def test_subscriptions_ignore_unknown_topics() -> None:
    keys = hub_events.parse_subscription(json.dumps({"subscribe": ["node:n1", "secrets", "job"]}))
    assert keys == {"node:n1", "job"}


@pytest.fixture
def listening_server(transactional_db, tmp_path):
    server = ServerThread(None, tmp_path)
    ready = asyncio.Event()
    task = server.call(
        lambda: server.loop.create_task(
            hub_events.listen_forever(listen_connection, server.server.events, ready=ready)
        )
    )

    async def wait_ready() -> None:
        await asyncio.wait_for(ready.wait(), 10)

    asyncio.run_coroutine_threadsafe(wait_ready(), server.loop).result(15)
    yield server

    async def stop_listening() -> None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)  # closes the LISTEN connection

    asyncio.run_coroutine_threadsafe(stop_listening(), server.loop).result(10)
    server.stop()


def ticket() -> str:
    return tickets.mint(user_id=None, username="viewer", nodes=[], mode=tickets.VIEW)


async def receive(url: str, keys: list[str], publish, count: int = 1) -> list[dict]:
    async with connect(url, origin=ORIGIN) as ws:
        await ws.send(json.dumps({"subscribe": keys}))
        await asyncio.sleep(0.3)  # the subscription is applied on the server
        await asyncio.to_thread(publish)
        got = []
        try:
            while len(got) < count:
                got.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
        except TimeoutError:
            pass
        return got


def test_a_committed_node_change_is_pushed_to_its_subscribers(listening_server) -> None:
    url = listening_server.url(f"/ws/events?ticket={ticket()}")

    def publish() -> None:
        events.node_changed("n1", status="booted", prev="booting")

    got = asyncio.run(receive(url, ["node:n1"], publish))
    assert got == [{"topic": "node", "node": "n1", "status": "booted", "prev": "booting"}]


def test_a_page_gets_nothing_it_did_not_subscribe_to(listening_server) -> None:
    url = listening_server.url(f"/ws/events?ticket={ticket()}")

    def publish() -> None:
        events.node_changed("n1", status="booted")
        events.job_changed(3, status="running")

    assert asyncio.run(receive(url, ["node:n2", "job:4"], publish)) == []


def test_the_events_socket_needs_a_ticket(listening_server) -> None:
    async def attempt() -> None:
        async with connect(listening_server.url("/ws/events"), origin=ORIGIN):
            pass

    with pytest.raises(InvalidStatus) as refused:
        asyncio.run(attempt())
    assert refused.value.response.status_code == 403


# --- bounds: what one viewer's connection can make the console server hold -------------------


@pytest.fixture
def events_server(tmp_path):
    """A real console server (no LISTEN needed: these tests only subscribe)."""
    server = ServerThread(None, tmp_path, events_per_user=2)
    yield server
    server.stop()


def events_url(server: ServerThread, user_id: int = 7) -> str:
    token = tickets.mint(user_id=user_id, username="viewer", nodes=[], mode=tickets.VIEW)
    return server.url(f"/ws/events?ticket={token}")


def subscribe(ws, keys: list[str]) -> dict | None:
    """Send one subscribe message; the error frame it earned, or None within 0.5 s."""
    ws.send(json.dumps({"subscribe": keys}))
    try:
        return json.loads(ws.recv(timeout=0.5))
    except TimeoutError:
        return None


def held_keys(server: ServerThread) -> list[int]:
    return server.call(lambda: [len(s.keys) for s in server.server.events.subscribers])


def test_subscriptions_past_the_key_cap_are_refused_with_an_error_frame(events_server) -> None:
    with sync_connect(events_url(events_server), origin=ORIGIN, open_timeout=5) as ws:
        assert subscribe(ws, [f"node:n{i}" for i in range(200)]) is None
        error = subscribe(ws, [f"node:m{i}" for i in range(200)])
        assert error["type"] == "error" and str(hub_events.MAX_KEYS) in error["message"]
        assert held_keys(events_server) == [200]


def test_many_small_subscribe_messages_cannot_pass_the_key_cap(events_server) -> None:
    with sync_connect(events_url(events_server), origin=ORIGIN, open_timeout=5) as ws:
        for start in range(0, 400, 100):
            ws.send(json.dumps({"subscribe": [f"job:{i}" for i in range(start, start + 100)]}))
        assert json.loads(ws.recv(timeout=5))["type"] == "error"
        assert held_keys(events_server) == [200]


def test_an_oversized_subscribe_message_is_refused(events_server) -> None:
    with sync_connect(events_url(events_server), origin=ORIGIN, open_timeout=5) as ws:
        error = subscribe(ws, ["node"] * 5000)
        assert error["type"] == "error" and "characters" in error["message"]
        assert held_keys(events_server) == [0]


def test_an_over_long_key_is_refused(events_server) -> None:
    with sync_connect(events_url(events_server), origin=ORIGIN, open_timeout=5) as ws:
        error = subscribe(ws, ["node:" + "x" * 200])
        assert "at most 120" in error["message"]


def test_a_refused_subscription_keeps_the_connection_and_its_keys(events_server) -> None:
    with sync_connect(events_url(events_server), origin=ORIGIN, open_timeout=5) as ws:
        assert subscribe(ws, ["node"]) is None
        assert subscribe(ws, ["node:" + "x" * 200])["type"] == "error"
        assert subscribe(ws, ["job"]) is None
        assert held_keys(events_server) == [2]


def test_a_user_over_the_connection_cap_is_refused(events_server) -> None:
    def open_events(user_id: int = 7):
        return sync_connect(events_url(events_server, user_id), origin=ORIGIN, open_timeout=5)

    with open_events(), open_events() as second, open_events(user_id=8):
        with pytest.raises(InvalidStatus) as refused:
            open_events()
        assert refused.value.response.status_code == 429
        assert b"too many live-event connections" in refused.value.response.body
        second.close()

        def admitted() -> bool:
            try:
                with open_events():
                    return True
            except InvalidStatus:
                return False

        # The server notices the close on its own loop.
        wait_until(admitted, 5, 0.05, message="a closed connection still counts")


def test_a_committed_status_change_reaches_the_console_viewers_of_that_node(
    listening_server,
) -> None:
    """No status poll: the wall learns a node's new status from its NOTIFY."""
    listening_server.add_node("n1")
    token = tickets.mint(user_id=None, username="viewer", nodes=["n1"], mode=tickets.VIEW)
    with sync_connect(
        listening_server.url(f"/ws/console/n1?ticket={token}"), origin=ORIGIN, open_timeout=5
    ) as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "hello"
        events.node_changed("n1", power="on")  # power only: no status frame
        events.node_changed("n1", status="booted", prev="booting")
        deadline = time.monotonic() + 5
        frames = []
        while time.monotonic() < deadline and not any(f.get("type") == "status" for f in frames):
            message = ws.recv(timeout=5)
            if isinstance(message, str):
                frames.append(json.loads(message))
    status = [f for f in frames if f.get("type") == "status"]
    assert status == [{"type": "status", "node": "n1", "status": "booted", "ch": 0}]
