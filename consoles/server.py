"""The websocket side of the console server: tickets, Origin, the wire protocol.

URLs: ``/ws/console/<node>?ticket=…`` (one console) and ``/ws/wall?ticket=…`` (every node
the ticket names, multiplexed on one socket: a wall of 50 consoles is one connection).
Checks happen in ``process_request``, before the websocket handshake completes: a missing,
tampered, expired, reused or foreign ticket, or a foreign ``Origin``, gets an HTTP 403
and not a single console byte. A request without ``Origin`` is not a browser (``rcons``)
and still needs a ticket.

Wire protocol (both ways; channel = the node's index in the ticket, 0 for one console):

* binary frame = 2-byte big-endian channel + console bytes (server → client: output;
  client → server: keystrokes, refused and audited unless the ticket's mode is ``write``);
* text frame = JSON. Server → client: ``hello`` {mode, nodes}, ``state`` {ch, node,
  state, message}, ``status`` {ch, node, status}, ``error`` {ch, message}. Client →
  server: ``{"type": "break", "ch": n}``.

Django stays out of this module: audit rows, node status and the like come through
:class:`Hooks` (:mod:`consoles.services` implements them), run in a thread.

The server also mounts the core's live-events socket ``/ws/events``
(:class:`snportal.live.EventsEndpoint`) and watches the same hub for node changes: a
status change reaches the wall when its NOTIFY does, with no polling of the database.
"""

from __future__ import annotations

import asyncio
import json
import logging
import struct
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from consoles.broker import Broker, NodeConsole, SourceError, Subscriber
from nodes.models import Node
from snportal.live import (
    CLOSE_TOO_SLOW,
    EVENTS_PATH,
    EVENTS_PER_USER,
    MAX_KEYS,
    EventHub,
    EventsEndpoint,
)
from snportal.tickets import SALT, Ticket, TicketError, TicketLedger, verify

__all__ = ["ConsoleServer", "Hooks", "origin_allowed"]

log = logging.getLogger(__name__)

CHANNEL = struct.Struct("!H")
CONSOLE_PREFIX = "/ws/console/"
WALL_PATH = "/ws/wall"


class Hooks(Protocol):
    """What the console server asks of the portal (blocking; called in a worker thread)."""

    def opened(self, ticket: Ticket, remote: str | None) -> None: ...

    def closed(self, ticket: Ticket, remote: str | None, refused_inputs: int) -> None: ...

    def input_refused(self, ticket: Ticket, node: str, remote: str | None) -> None: ...

    def statuses(self, nodes: list[str]) -> dict[str, str]: ...


def origin_allowed(origin: str | None, allowed: Iterable[str]) -> bool:
    """No Origin (not a browser) or one of the allowed ``scheme://host[:port]`` exactly."""
    if origin is None:
        return True
    return origin.rstrip("/").lower() in {a.rstrip("/").lower() for a in allowed}


@dataclass(eq=False)  # a set member by identity
class _Viewer:
    ticket: Ticket
    subscriber: Subscriber
    consoles: list[NodeConsole | None]
    refused_inputs: int = 0


class ConsoleServer:
    """Serves a :class:`Broker`'s consoles over websockets."""

    def __init__(
        self,
        broker: Broker,
        *,
        allowed_origins: Iterable[str],
        ticket_max_age: float = 30.0,
        queue_limit: int = 1024 * 1024,  # unsent bytes per viewer before it is dropped
        hooks: Hooks | None = None,
        events: EventHub | None = None,
        events_max_keys: int = MAX_KEYS,
        events_per_user: int = EVENTS_PER_USER,
        ticket_salt: str = SALT,  # RELAY_SALT on a service node: only the portal's relay
    ) -> None:
        self.broker = broker
        self.ticket_salt = ticket_salt
        self.events = events or EventHub()
        self.live = EventsEndpoint(self.events, max_keys=events_max_keys, per_user=events_per_user)
        self.events.watch("node", self._node_changed)
        self.events.watch("resync", self._resync)
        self.allowed_origins = list(allowed_origins)
        self.ticket_max_age = ticket_max_age
        self.queue_limit = queue_limit
        self.hooks = hooks
        self.ledger = TicketLedger(ticket_max_age)
        # Tickets between the check and the handler; weak, as a failed handshake never pops.
        self._accepted: weakref.WeakKeyDictionary[ServerConnection, Ticket] = (
            weakref.WeakKeyDictionary()
        )
        self._viewers: set[_Viewer] = set()
        self._events_conns: weakref.WeakSet[ServerConnection] = weakref.WeakSet()
        self._statuses: dict[str, str] = {}

    async def start(self, host: str, port: int) -> Server:
        """Listen; the caller awaits ``server.serve_forever()`` or closes it."""
        server = await serve(
            self._handle,
            host,
            port,
            process_request=self._check,
            compression=None,  # console text is small; per-viewer deflate costs more than it saves
            max_size=1024 * 1024,
            close_timeout=2,
        )
        return server

    def stop(self) -> None:
        """Nothing runs beside the connections (the websockets server is closed by its owner)."""

    # --- before the handshake --------------------------------------------------------------
    def _check(self, conn: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        if url.path.startswith(CONSOLE_PREFIX):
            wanted: tuple[str, ...] | None = (url.path[len(CONSOLE_PREFIX) :],)
        elif url.path in (WALL_PATH, EVENTS_PATH):
            wanted = None
        else:
            return conn.respond(HTTPStatus.NOT_FOUND, "no such console endpoint\n")
        if not origin_allowed(request.headers.get("Origin"), self.allowed_origins):
            return conn.respond(HTTPStatus.FORBIDDEN, "origin not allowed\n")
        try:
            ticket = verify(
                parse_qs(url.query).get("ticket", [""])[0], self.ticket_max_age, self.ticket_salt
            )
            if wanted is not None and ticket.nodes != wanted:
                raise TicketError("the console ticket is for another node")
            self.ledger.use(ticket)
        except TicketError as exc:
            return conn.respond(HTTPStatus.FORBIDDEN, f"{exc}\n")
        if url.path == EVENTS_PATH:
            refusal = self.live.refusal(_user_key(ticket), ticket.username)
            if refusal is not None:
                return conn.respond(HTTPStatus.TOO_MANY_REQUESTS, refusal)
            self._events_conns.add(conn)
        if wanted is not None and wanted[0] not in self.broker.consoles:
            return conn.respond(HTTPStatus.NOT_FOUND, f"no console for {wanted[0]} here\n")
        self._accepted[conn] = ticket
        return None

    # --- a connected viewer ----------------------------------------------------------------
    async def _handle(self, conn: ServerConnection) -> None:
        if conn in self._events_conns:
            self._events_conns.discard(conn)
            ticket = self._accepted.pop(conn, None)
            await self.live.serve(conn, _user_key(ticket) if ticket is not None else None)
            return
        ticket = self._accepted.pop(conn)
        remote = conn.remote_address[0] if conn.remote_address else None

        def write(channel: int, item: bytes | dict[str, Any]) -> int:
            message = (
                CHANNEL.pack(channel) + item
                if isinstance(item, bytes)
                else json.dumps({**item, "ch": channel})
            )
            broadcast([conn], message)  # writes now, never awaits; closed → skipped
            transport = conn.transport
            return transport.get_write_buffer_size() if transport is not None else 0

        sub = Subscriber(write, self.queue_limit, on_overflow=lambda: self._kick(conn, viewer))
        viewer = _Viewer(ticket, sub, [self.broker.consoles.get(n) for n in ticket.nodes])
        if self.hooks is not None:
            await asyncio.to_thread(self.hooks.opened, ticket, remote)
            await self._refresh_statuses(list(ticket.nodes))
        self._viewers.add(viewer)
        sub.push(0, {"type": "hello", "mode": ticket.mode, "nodes": list(ticket.nodes)})
        for channel, console in enumerate(viewer.consoles):
            if console is None:
                missing = {"type": "state", "node": ticket.nodes[channel], "state": "lost"}
                sub.push(channel, missing | {"message": "no console for this node here"})
            else:
                if console.name in self._statuses:
                    sub.push(channel, self._status_message(console.name))
                console.attach(sub, channel)
        try:
            async for message in conn:
                await self._receive(viewer, message, remote)
        except ConnectionClosed:
            pass
        finally:
            self._viewers.discard(viewer)
            self._unsubscribe(viewer)
            if self.hooks is not None:
                await asyncio.to_thread(self.hooks.closed, ticket, remote, viewer.refused_inputs)

    def _kick(self, conn: ServerConnection, viewer: _Viewer) -> None:
        """A viewer fell too far behind: unsubscribe it now, close it in its own task.

        Called from inside a console's fan-out loop, so the unsubscribing waits for the
        next loop turn; nobody awaits the close, which may take the close timeout.
        """
        loop = asyncio.get_running_loop()
        loop.call_soon(self._unsubscribe, viewer)
        reason = "too slow: fell behind the console output; reconnect to resume"
        loop.create_task(conn.close(CLOSE_TOO_SLOW, reason))

    def _unsubscribe(self, viewer: _Viewer) -> None:
        for console in viewer.consoles:
            if console is not None:
                console.detach(viewer.subscriber)

    async def _receive(self, viewer: _Viewer, message: str | bytes, remote: str | None) -> None:
        if isinstance(message, bytes):
            if len(message) < CHANNEL.size:
                return
            (channel,) = CHANNEL.unpack_from(message)
            payload, action = message[CHANNEL.size :], "input"
        else:
            try:
                data = json.loads(message)
                channel, action = int(data.get("ch", 0)), str(data["type"])
            except (ValueError, KeyError, TypeError, AttributeError):
                return
            payload = b""
            if action != "break":
                return
        if not 0 <= channel < len(viewer.consoles):
            return
        console = viewer.consoles[channel]
        if not viewer.ticket.can_write:
            viewer.refused_inputs += 1
            if viewer.refused_inputs == 1:  # one message and one audit row per connection
                refused = "read-only console: your input was refused"
                viewer.subscriber.push(channel, {"type": "error", "message": refused})
                if self.hooks is not None:
                    node = viewer.ticket.nodes[channel]
                    await asyncio.to_thread(self.hooks.input_refused, viewer.ticket, node, remote)
            return
        if console is None:
            return
        try:
            if action == "break":
                await console.send_break()
            else:
                await console.send(payload)
        except SourceError as exc:
            viewer.subscriber.push(channel, {"type": "error", "message": str(exc)})

    # --- node status on the wall -----------------------------------------------------------
    def _status_message(self, node: str) -> dict[str, Any]:
        return {"type": "status", "node": node, "status": self._statuses.get(node, "")}

    async def _refresh_statuses(self, nodes: list[str]) -> None:
        assert self.hooks is not None
        try:
            fresh = await asyncio.to_thread(self.hooks.statuses, nodes)
        except Exception:
            log.exception("reading node statuses")
            return
        for node, status in fresh.items():
            self._set_status(node, status)

    def _resync(self, payload: dict[str, Any]) -> None:
        """The LISTEN connection came back: changes made while it was down were not
        heard, so read the watched nodes' statuses once (one query)."""
        watched = sorted({n for v in self._viewers for n in v.ticket.nodes})
        if watched and self.hooks is not None:
            asyncio.get_running_loop().create_task(self._refresh_statuses(watched))

    def _set_status(self, node: str, status: str) -> None:
        """Remember ``node``'s status and push it to its viewers, only if it changed."""
        if self._statuses.get(node) == status:
            return
        self._statuses[node] = status
        for viewer in list(self._viewers):
            for channel, name in enumerate(viewer.ticket.nodes):
                if name == node:
                    viewer.subscriber.push(channel, self._status_message(node))

    def _node_changed(self, payload: dict[str, Any]) -> None:
        """A node's NOTIFY (:func:`snportal.events.node_changed`): push a new status to the
        viewers showing that node. Payloads without a status (power only) change nothing."""
        node, status = payload.get("node"), payload.get("status")
        if not isinstance(node, str) or status is None:
            return
        self._set_status(node, str(status) or Node.Status.UNKNOWN.label)


def _user_key(ticket: Ticket) -> int | str:
    """Whom a connection counts against: the user id, or the name for id-less tickets."""
    return ticket.user_id if ticket.user_id is not None else ticket.username
