"""Live events: a committed change NOTIFYs, the console server LISTENs and pushes it to the
pages subscribed to it — real PostgreSQL, real console server, real websocket clients."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from consoles import events as hub_events
from consoles import tickets
from consoles.management.commands.runconsoles import listen_connection
from consoles.tests.conftest import ORIGIN, ServerThread
from snportal import events


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
