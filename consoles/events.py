"""Live events for browsers: one PostgreSQL ``LISTEN``, fanned out over websockets.

The web and worker processes ``NOTIFY`` small JSON payloads after commit
(:mod:`snportal.events`). The console server holds one listening connection and hands each
payload to the browsers subscribed to it, so pages update without anyone polling the
database. A browser subscribes to keys: ``node`` (every node), ``node:lab01``, ``job``,
``job:12``, ``joblog:12``; a payload ``{"topic": "node", "node": "lab01", …}`` goes to the
keys ``node`` and ``node:lab01``.

Slow browsers never hold anyone up: each subscriber has a bounded queue, and one that falls
behind is disconnected (the page reconnects and re-renders, which is its resync).

Every logged-in viewer may open this socket, so what one connection can make the console
server hold is bounded: a subscribe message is at most ``MAX_SUBSCRIBE_BYTES``, a key at
most ``MAX_KEY_CHARS``, a connection at most ``MAX_KEYS`` keys in all; a message over
any of these is refused whole with an ``{"type": "error", …}`` frame.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger(__name__)

CHANNEL = "snportal_events"
# A page subscribes to a handful of keys (data-live-topics); these leave ample room.
MAX_KEYS = 256
MAX_KEY_CHARS = 120
MAX_SUBSCRIBE_BYTES = 16 * 1024
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
    """Subscribers by key; :meth:`dispatch` is called on the event loop for each payload."""

    def __init__(self) -> None:
        self.subscribers: set[EventSubscriber] = set()
        self.delivered = 0

    def add(self, sub: EventSubscriber) -> None:
        self.subscribers.add(sub)

    def remove(self, sub: EventSubscriber) -> None:
        self.subscribers.discard(sub)

    def dispatch(self, payload: dict[str, Any], text: str | None = None) -> int:
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
    text = json.dumps({"topic": "resync"})
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
