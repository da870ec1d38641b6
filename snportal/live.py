"""Live events for browsers: one PostgreSQL ``LISTEN``, fanned out over websockets.

The web and worker processes ``NOTIFY`` small JSON payloads after commit
(:mod:`snportal.events`). One process holds one listening connection (:func:`listen_forever`)
and hands each payload to the browsers subscribed to it over ``/ws/events``
(:class:`EventsEndpoint`), so pages update without anyone polling the database. It is core,
not a console matter: the console server only mounts the endpoint on its websocket port,
and watches the same hub for node statuses (:meth:`EventHub.watch`) instead of polling.

A browser subscribes to keys: ``node`` (every node), ``node:lab01``, ``job``,
``job:12``, ``joblog:12``; a payload ``{"topic": "node", "node": "lab01", …}`` goes to the
keys ``node`` and ``node:lab01``.

Slow browsers never hold anyone up: each subscriber has a bounded queue, and one that falls
behind is disconnected (the page reconnects and re-renders, which is its resync).

Every logged-in viewer may open this socket, so what one connection can make the server
hold is bounded: a subscribe message is at most ``MAX_SUBSCRIBE_BYTES``, a key at
most ``MAX_KEY_CHARS``, a connection at most ``MAX_KEYS`` keys in all; a message over
any of these is refused whole with an ``{"type": "error", …}`` frame.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

log = logging.getLogger(__name__)

CHANNEL = "snportal_events"
# A page subscribes to a handful of keys (data-live-topics); these leave ample room.
MAX_KEYS = 256
MAX_KEY_CHARS = 120
MAX_SUBSCRIBE_BYTES = 16 * 1024
# Live-event sockets one user may hold at once: one per open page, a generous number of tabs.
EVENTS_PER_USER = 32
EVENTS_PATH = "/ws/events"
CLOSE_TOO_SLOW = 4000
# The id field that narrows each topic (``node:lab01``, ``job:12``).
ID_FIELDS = {"node": "node", "job": "job", "joblog": "job"}


def keys_for(payload: dict[str, Any]) -> list[str]:
    """The subscription keys a payload is delivered to."""
    topic = str(payload.get("topic", ""))
    keys = [topic] if topic != "joblog" else []  # log lines only to that job's page
    field = ID_FIELDS.get(topic)
    if field and payload.get(field) is not None:
        keys.append(f"{topic}:{payload[field]}")
    return keys


class SubscriptionError(ValueError):
    """A subscribe message refused whole; the message is safe to send to the client."""


class EventSubscriber:
    """One browser: its keys (at most ``MAX_KEYS``) and a bounded queue of payloads."""

    def __init__(self, limit: int = 2000, on_overflow: Callable[[], None] | None = None) -> None:
        self.keys: set[str] = set()
        self.queue: asyncio.Queue[str] = asyncio.Queue(limit)
        self.on_overflow = on_overflow
        self.overflowed = False

    def subscribe(self, keys: set[str], max_keys: int = MAX_KEYS) -> None:
        """Add ``keys``, or none of them when that would pass ``max_keys``."""
        merged = self.keys | keys
        if len(merged) > max_keys:
            raise SubscriptionError(
                f"subscription refused: at most {max_keys} keys per connection "
                f"({len(merged)} asked); subscribe to a topic such as 'node' instead"
            )
        self.keys = merged

    def offer(self, text: str) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.overflowed = True
            if self.on_overflow:
                self.on_overflow()


class EventHub:
    """Subscribers by key; :meth:`dispatch` is called on the event loop for each payload.

    Besides browsers, code in the same process may :meth:`watch` a topic: the console
    server learns node statuses for its wall this way.
    """

    def __init__(self) -> None:
        self.subscribers: set[EventSubscriber] = set()
        self.delivered = 0
        self.watchers: dict[str, list[Callable[[dict[str, Any]], None]]] = {}

    def watch(self, topic: str, callback: Callable[[dict[str, Any]], None]) -> None:
        """Call ``callback(payload)`` on the loop for every payload of ``topic``."""
        self.watchers.setdefault(topic, []).append(callback)

    def add(self, sub: EventSubscriber) -> None:
        self.subscribers.add(sub)

    def remove(self, sub: EventSubscriber) -> None:
        self.subscribers.discard(sub)

    def dispatch(self, payload: dict[str, Any], text: str | None = None) -> int:
        for callback in self.watchers.get(str(payload.get("topic", "")), ()):
            try:
                callback(payload)
            except Exception:  # one watcher's bug must not stop the browsers' events
                log.exception("event watcher for %s", payload.get("topic"))
        keys = keys_for(payload)
        text = text or json.dumps(payload, separators=(",", ":"))
        count = 0
        for sub in list(self.subscribers):
            if not sub.keys.isdisjoint(keys):
                sub.offer(text)
                count += 1
        self.delivered += count
        return count


async def listen_forever(
    connect: Callable[[], Any], hub: EventHub, *, ready: asyncio.Event | None = None
) -> None:
    """LISTEN on ``CHANNEL`` and dispatch every notification; reconnect with backoff.

    ``connect`` returns an awaitable psycopg ``AsyncConnection`` in autocommit mode. After a
    reconnect, a ``{"topic": "resync"}`` payload tells every page to re-render once, since
    notifications sent while the connection was down are lost.
    """
    delay = 0.5
    first = True
    while True:
        try:
            conn = await connect()
            async with conn:
                await conn.execute(f"LISTEN {CHANNEL}")
                delay = 0.5
                if ready is not None:
                    ready.set()
                if not first:
                    _broadcast_resync(hub)
                first = False
                while True:
                    # A short timeout hands control back to the loop every second: psycopg's
                    # wait for notifications does not notice a task cancellation otherwise,
                    # and the console server could not shut down.
                    async for note in conn.notifies(timeout=1.0):
                        try:
                            payload = json.loads(note.payload)
                        except ValueError:
                            continue
                        hub.dispatch(payload, note.payload)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # database restarts must not kill the console server
            log.warning("event LISTEN connection lost (%s); retrying in %.1f s", exc, delay)
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 30.0)


def _broadcast_resync(hub: EventHub) -> None:
    """Every page re-renders once, and watchers of ``resync`` re-read what they show."""
    payload = {"topic": "resync"}
    for callback in hub.watchers.get("resync", ()):
        try:
            callback(payload)
        except Exception:  # a watcher's bug must not stop the pages' resync
            log.exception("resync watcher")
    text = json.dumps(payload)
    for sub in list(hub.subscribers):
        sub.offer(text)


def parse_subscription(
    message: str, allowed: Iterable[str] = ("node", "job", "joblog")
) -> set[str]:
    """Keys from a browser's ``{"subscribe": [...]}``; unknown topics are ignored.

    Raises :class:`SubscriptionError` for a message over ``MAX_SUBSCRIBE_BYTES``, more
    than ``MAX_KEYS`` keys or a key over ``MAX_KEY_CHARS``: checked before decoding
    (the size) and before any set is built (the count).
    """
    if len(message) > MAX_SUBSCRIBE_BYTES:
        raise SubscriptionError(
            f"subscription refused: the message is {len(message)} characters; "
            f"at most {MAX_SUBSCRIBE_BYTES} are accepted"
        )
    try:
        data = json.loads(message)
    except (ValueError, RecursionError):
        return set()
    keys = data.get("subscribe") if isinstance(data, dict) else None
    if not isinstance(keys, list):
        return set()
    if len(keys) > MAX_KEYS:
        raise SubscriptionError(
            f"subscription refused: {len(keys)} keys; at most {MAX_KEYS} per connection"
        )
    wanted = {k for k in keys if isinstance(k, str)}
    for key in wanted:
        if len(key) > MAX_KEY_CHARS:
            raise SubscriptionError(
                f"subscription refused: a key is {len(key)} characters; "
                f"at most {MAX_KEY_CHARS} are accepted"
            )
    allowed = set(allowed)
    return {k for k in wanted if k.split(":", 1)[0] in allowed}


class EventsEndpoint:
    """``/ws/events``: a page subscribes to keys (``{"subscribe": [...]}``); matching
    payloads follow. Mounted by whichever websocket server a deployment runs (the console
    server); it checks the ticket, this checks the per-user cap and serves the socket.

    A subscription over the caps is refused whole with an error frame; the connection and
    its earlier keys stay. A subscriber that falls behind is closed (``CLOSE_TOO_SLOW``).
    """

    def __init__(
        self, hub: EventHub, *, max_keys: int = MAX_KEYS, per_user: int = EVENTS_PER_USER
    ) -> None:
        self.hub = hub
        self.max_keys = max_keys
        self.per_user = per_user
        self._by_user: Counter[int | str] = Counter()

    def refusal(self, user: int | str, username: str) -> str | None:
        """Why ``user`` may not open one more socket now (None: they may)."""
        if self._by_user[user] >= self.per_user:
            return (
                f"too many live-event connections for {username} "
                f"(at most {self.per_user}); close some pages\n"
            )
        return None

    async def serve(self, conn: ServerConnection, user: int | str | None) -> None:
        """Run one page's socket until it closes."""
        sub = EventSubscriber(
            on_overflow=lambda: asyncio.ensure_future(conn.close(CLOSE_TOO_SLOW, "too slow"))
        )
        if user is not None:
            self._by_user[user] += 1
        self.hub.add(sub)

        async def pump() -> None:
            try:
                while not sub.overflowed:
                    await conn.send(await sub.queue.get())
            except ConnectionClosed:
                pass

        sender = asyncio.get_running_loop().create_task(pump())
        try:
            async for message in conn:
                try:
                    if not isinstance(message, str):
                        raise SubscriptionError("subscription refused: send JSON text frames")
                    sub.subscribe(parse_subscription(message), self.max_keys)
                except SubscriptionError as exc:
                    sub.offer(json.dumps({"type": "error", "message": str(exc)}))
        except ConnectionClosed:
            pass
        finally:
            self.hub.remove(sub)
            sender.cancel()
            if user is not None:
                self._by_user[user] -= 1
                if self._by_user[user] <= 0:
                    del self._by_user[user]
