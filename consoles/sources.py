"""Console sources other than IPMI SOL: a raw TCP stream, and a service node's relay.

The console server uses IPMI SOL (:mod:`consoles.sol`) for nodes it reaches itself.

* :class:`TcpSource`: what speaks raw TCP: the benchmark's simulated nodes (so the broker,
  conserver and the bare relay all read the very same producers) and tests that need a
  console without a BMC.
* :class:`RelaySource`: a node behind a service node. Only the service node reaches the
  node's BMC, so its console server holds the SOL session and the management node's console
  server reads it from there: one websocket per node, authenticated with a relay ticket
  (:data:`consoles.tickets.RELAY_SALT`, signed with the shared SECRET_KEY). Browsers, their
  tickets, Origin checks, audit and the console log all stay on the management node, so the
  log survives a service-node reboot.

Both implement the same :class:`consoles.broker.Source` protocol as SOL.
"""

from __future__ import annotations

import asyncio
import json
import struct
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from consoles.broker import Sink, SourceError, State

__all__ = ["RelaySource", "TcpSource"]

CHANNEL = struct.Struct("!H")

READ_SIZE = 64 * 1024


class TcpSource:
    """Connect to ``host:port``; bytes read are console output, bytes sent are keystrokes."""

    def __init__(self, host: str, port: int, connect_timeout: float = 5.0) -> None:
        self.host, self.port, self.connect_timeout = host, port, connect_timeout
        self._writer: asyncio.StreamWriter | None = None

    async def stream(self, sink: Sink) -> None:
        try:
            reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self.connect_timeout
            )
        except (OSError, TimeoutError) as exc:
            raise SourceError(f"cannot connect to {self.host}:{self.port}: {exc}") from exc
        sink.connected()
        while True:
            try:
                data = await reader.read(READ_SIZE)
            except OSError as exc:
                raise SourceError(f"console connection failed: {exc}") from exc
            if not data:
                raise SourceError("console closed the connection")
            sink.output(data)

    async def send(self, data: bytes) -> None:
        if self._writer is not None:
            self._writer.write(data)
            await self._writer.drain()

    async def send_break(self) -> None:
        """A raw TCP stream has no out-of-band break; telnet-style servers would need IAC BRK."""
        raise SourceError("this console cannot send a break")

    async def close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()


class RelaySource:
    """A node's console read from a service node's console server (``/ws/console/<node>``).

    ``ticket()`` mints a fresh single-use relay ticket per connection. The service node
    replays its scrollback on every attach; the state message before it carries the
    stream's ``total`` and ``epoch``, so after a reconnect only bytes this relay has not
    delivered yet reach the sink (no duplicates in the management node's log), and a new
    epoch (the service node's console server restarted) starts over.
    """

    def __init__(
        self,
        base_url: str,
        node: str,
        ticket: Callable[[], str],
        *,
        servicenode: str = "",
        open_timeout: float = 5.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.node = node
        self.ticket = ticket
        self.servicenode = servicenode or base_url
        self.open_timeout = open_timeout
        self._conn: ClientConnection | None = None
        # Where the delivered stream stands on the service node (persists across reconnects).
        self.epoch = ""
        self.position = 0
        self._attached = False  # the first state of a connection (the attach) was seen

    async def stream(self, sink: Sink) -> None:
        if not self.base_url:
            raise SourceError(
                f"service node {self.servicenode} has no console URL yet (its agent sets it)"
            )
        url = f"{self.base_url}/ws/console/{self.node}?ticket={self.ticket()}"
        try:
            self._conn = await connect(
                url, open_timeout=self.open_timeout, compression=None, max_size=2**20
            )
        except InvalidStatus as exc:
            body = exc.response.body.decode(errors="replace").strip()
            raise SourceError(
                f"service node {self.servicenode} refused the console relay: "
                f"HTTP {exc.response.status_code} {body}"
            ) from exc
        except (OSError, TimeoutError) as exc:
            raise SourceError(
                f"cannot reach the console server of service node {self.servicenode}: {exc}"
            ) from exc
        snapshot_end: int | None = None  # the attach state says where the scrollback ends
        try:
            async for frame in self._conn:
                if isinstance(frame, bytes):
                    data = frame[CHANNEL.size :]
                    if snapshot_end is not None:  # the scrollback, [end - len, end)
                        start, snapshot_end = snapshot_end - len(data), None
                    else:
                        start = self.position
                    skip = max(0, self.position - start)
                    self.position = max(self.position, start + len(data))
                    if skip < len(data):
                        sink.output(data[skip:])
                    continue
                message = _json(frame)
                if message.get("type") != "state":
                    continue
                if snapshot_end is None and "total" in message and not self._attached:
                    self._attached = True
                    total = int(message["total"])
                    if message.get("epoch") != self.epoch:  # a new stream: start over
                        self.epoch, self.position = str(message.get("epoch", "")), 0
                    snapshot_end = total if total > 0 else None
                self._mirror(sink, message)
        except ConnectionClosed as exc:
            raise SourceError(
                f"console relay from service node {self.servicenode} closed: {exc}"
            ) from exc
        finally:
            self._attached = False
        raise SourceError(f"console relay from service node {self.servicenode} ended")

    def _mirror(self, sink: Sink, message: dict[str, Any]) -> None:
        """The service node's view of the node's console becomes this console's state."""
        where = f"via {self.servicenode}"
        text = str(message.get("message") or "")
        state = str(message.get("state", ""))
        if state == State.CONNECTED:
            sink.connected(f"{text} ({where})" if text else where)
            return
        set_state = getattr(sink, "set_state", None)
        if set_state is not None and state in {s.value for s in State}:
            set_state(State(state), f"{text} ({where})" if text else where)

    async def send(self, data: bytes) -> None:
        if self._conn is None:
            raise SourceError("the console relay is not connected")
        try:
            await self._conn.send(CHANNEL.pack(0) + data)
        except ConnectionClosed as exc:
            raise SourceError(f"console relay closed: {exc}") from exc

    async def send_break(self) -> None:
        if self._conn is None:
            raise SourceError("the console relay is not connected")
        await self._conn.send(json.dumps({"type": "break", "ch": 0}))

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()


def _json(frame: str) -> dict[str, Any]:
    try:
        value = json.loads(frame)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
