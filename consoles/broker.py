"""The console broker: one connection per node, its output fanned out to every viewer.

Everything here runs on one asyncio loop and is Django-free, so the server, the benchmark
and the tests drive the same code. A *source* (IPMI SOL in :mod:`consoles.sol`, a raw TCP
console in :mod:`consoles.sources`) feeds a :class:`NodeConsole` through the :class:`Sink`
methods; the node console keeps the scrollback (a ring of at least 256 KiB), writes the
log (:mod:`consoles.capture`) and pushes to *subscribers* (one per websocket).

Two rules make the fan-out safe:

* **Snapshot and subscribe in one step.** :meth:`NodeConsole.attach` copies the ring and
  registers the subscriber without awaiting, so no output can slip between the two: a new
  viewer sees the scrollback and then the live stream with no gap and no duplicate.
* **Nobody waits for a viewer.** Output is written to each subscriber's connection
  without awaiting; a subscriber with more than its limit unsent is marked *overflowed*
  and dropped (the server then closes its websocket with a message), so one stalled
  browser never delays the others or the BMC.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import random
import secrets
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from consoles.capture import ConsoleLog

__all__ = [
    "RING_BYTES",
    "Backoff",
    "Broker",
    "NodeConsole",
    "Sink",
    "Source",
    "SourceError",
    "State",
    "Subscriber",
]

log = logging.getLogger(__name__)

RING_BYTES = 256 * 1024


class State(enum.StrEnum):
    """What a viewer sees about the node's console connection."""

    IDLE = "idle"  # on-demand console with nobody watching: not connected on purpose
    CONNECTING = "connecting"
    CONNECTED = "connected"
    LOST = "lost"
    TAKEN = "taken"  # the BMC gave the SOL session to another client


class SourceError(Exception):
    """A source's connection ended; ``state`` says how (lost or taken)."""

    def __init__(self, message: str, state: State = State.LOST) -> None:
        super().__init__(message)
        self.state = state


class Sink(Protocol):
    """What a source calls, on the loop thread."""

    def output(self, data: bytes) -> None: ...

    def connected(self, message: str = "") -> None: ...


class Source(Protocol):
    """One node's console connection (IPMI SOL, a TCP console server, a benchmark feed).

    ``stream`` connects once, calls ``sink.connected()`` when output can flow, feeds
    ``sink.output`` and returns or raises :class:`SourceError` when the connection ends;
    the node console owns retrying. ``send``/``send_break`` deliver operator input.
    """

    async def stream(self, sink: Sink) -> None: ...

    async def send(self, data: bytes) -> None: ...

    async def send_break(self) -> None: ...

    async def close(self) -> None: ...


class Backoff:
    """Reconnect delays: exponential, capped, with full jitter, scaled by node count.

    Like Confluent's ``_get_retry_time``: when a switch reboots, hundreds of consoles drop
    at once; scaling the base by the node count and adding up to 100 % jitter spreads the
    logins so the BMCs and our login limiter are not hit in one burst.
    """

    def __init__(self, base: float = 1.0, cap: float = 120.0, per_node: float = 0.05) -> None:
        self.base, self.cap, self.per_node = base, cap, per_node

    def delay(self, attempt: int, nodes: int) -> float:
        step = max(self.base, self.per_node * nodes) * (2 ** min(attempt, 16))
        return min(self.cap, step) * (1 + random.random())


class Subscriber:
    """One viewer connection as the broker sees it: ``push`` never blocks.

    ``write(channel, item)`` hands an item (``bytes`` output or a ``dict`` message) to the
    connection without awaiting and returns how many bytes are still unsent there. Past
    ``limit`` the viewer is *overflowed*: nothing more is written to it and
    ``on_overflow`` tells the owner to close it. The connection's send buffer is the
    per-viewer queue; writing into it directly (as ``websockets.broadcast`` does) costs
    no task switch per line per viewer, which matters at 100 viewers.
    """

    def __init__(
        self,
        write: Callable[[int, bytes | dict[str, Any]], int],
        limit: int,
        on_overflow: Callable[[], None] | None = None,
    ) -> None:
        self._write = write
        self.limit = limit
        self.overflowed = False
        self._on_overflow = on_overflow

    def push(self, channel: int, item: bytes | dict[str, Any]) -> None:
        if self.overflowed or item == b"":
            return
        if self._write(channel, item) > self.limit:
            self.overflowed = True
            if self._on_overflow:
                self._on_overflow()


class NodeConsole:
    """One node's console: its source, scrollback ring, log and subscribers."""

    def __init__(
        self,
        name: str,
        source: Source,
        *,
        log_file: ConsoleLog | None = None,
        ring_bytes: int = RING_BYTES,
        ondemand: bool = False,
        on_state: Callable[[NodeConsole, State, str], None] | None = None,
    ) -> None:
        self.name = name
        self.source = source
        self.log_file = log_file
        self.ring_bytes = ring_bytes
        self.ondemand = ondemand
        self.state = State.IDLE if ondemand else State.CONNECTING
        self.message = ""
        self.subscribers: dict[Subscriber, int] = {}
        self.total = 0  # bytes ever received; the ring holds the last ``ring_size`` of them
        self.epoch = secrets.token_hex(6)  # a new console object restarts ``total`` at 0
        self._ring: deque[bytes] = deque()
        self._ring_size = 0
        self._on_state = on_state
        self._watched = asyncio.Event()

    # --- what sources call -----------------------------------------------------------------
    def output(self, data: bytes) -> None:
        """New console bytes: ring, log, every subscriber; never awaits."""
        if not data:
            return
        self.total += len(data)
        self._ring.append(data)
        self._ring_size += len(data)
        while self._ring_size - len(self._ring[0]) >= self.ring_bytes:
            self._ring_size -= len(self._ring.popleft())
        if self.log_file is not None:
            self.log_file.write(data)
        for sub, channel in self.subscribers.items():
            sub.push(channel, data)

    def connected(self, message: str = "") -> None:
        self.set_state(State.CONNECTED, message)

    # --- viewers ---------------------------------------------------------------------------
    def snapshot(self) -> bytes:
        return b"".join(self._ring)

    def attach(self, sub: Subscriber, channel: int = 0) -> None:
        """Queue state and scrollback for ``sub`` and subscribe it, atomically (no await)."""
        sub.push(channel, self.state_message())
        sub.push(channel, self.snapshot())
        self.subscribers[sub] = channel
        self._watched.set()

    def detach(self, sub: Subscriber) -> None:
        self.subscribers.pop(sub, None)
        if not self.subscribers:
            self._watched.clear()

    def state_message(self) -> dict[str, Any]:
        """The state, plus where the stream stands: ``total`` bytes so far in this console's
        ``epoch`` (its lifetime), so a relay reattaching skips the scrollback it already has."""
        return {
            "type": "state",
            "node": self.name,
            "state": self.state,
            "message": self.message,
            "total": self.total,
            "epoch": self.epoch,
        }

    def set_state(self, state: State, message: str = "") -> None:
        if (state, message) == (self.state, self.message):
            return
        previous, self.state, self.message = self.state, state, message
        if self.log_file is not None and state != previous:
            self.log_file.event(f"{state}{': ' + message if message else ''}")
        for sub, channel in self.subscribers.items():
            sub.push(channel, self.state_message())
        if self._on_state is not None and state != previous:
            self._on_state(self, state, message)

    # --- the connection loop ---------------------------------------------------------------
    async def run(self, backoff: Backoff, nodes: Callable[[], int]) -> None:
        """Keep the source connected (or, on demand, connected while watched) until cancelled."""
        attempt = 0
        while True:
            if self.ondemand and not self.subscribers:
                self.set_state(State.IDLE)
                await self._watched.wait()
            self.set_state(State.CONNECTING)
            state, message = State.LOST, "console connection closed"
            source = self.source  # replace_source() may swap it while this one closes
            try:
                await self._stream_while_wanted(source)
            except SourceError as exc:
                state, message = exc.state, str(exc)
            except Exception as exc:  # a source bug must not end the node's console for good
                log.exception("%s: console source failed", self.name)
                message = f"{type(exc).__name__}: {exc}"
            finally:
                with contextlib.suppress(Exception):
                    await source.close()
            if self.state == State.CONNECTED:
                attempt = 0
            if self.ondemand and not self.subscribers:
                continue
            self.set_state(state, message)
            await asyncio.sleep(backoff.delay(attempt, nodes()))
            attempt += 1

    async def _stream_while_wanted(self, source: Source) -> None:
        """Run the source; an on-demand console also stops when the last viewer leaves."""
        if not self.ondemand:
            await source.stream(self)
            return
        stream = asyncio.ensure_future(source.stream(self))
        unwatched = asyncio.ensure_future(self._wait_unwatched())
        try:
            await asyncio.wait({stream, unwatched}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            unwatched.cancel()
            if not stream.done():
                stream.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await stream
        if stream.done() and not stream.cancelled():
            stream.result()

    async def _wait_unwatched(self) -> None:
        while self.subscribers:
            await asyncio.sleep(1.0)

    async def send(self, data: bytes) -> None:
        await self.source.send(data)

    async def send_break(self) -> None:
        await self.source.send_break()


class Broker:
    """The node consoles of one console server, each kept connected by its own task."""

    def __init__(self, backoff: Backoff | None = None) -> None:
        self.backoff = backoff or Backoff()
        self.consoles: dict[str, NodeConsole] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def add(self, console: NodeConsole) -> NodeConsole:
        """Register and start a node console (replacing one of the same name)."""
        self._stop_task(console.name)
        self.consoles[console.name] = console
        self._tasks[console.name] = asyncio.get_running_loop().create_task(
            console.run(self.backoff, lambda: len(self.consoles)), name=f"console-{console.name}"
        )
        return console

    def replace_source(self, name: str, source: Source) -> None:
        """Reconnect a node through a new source, keeping its scrollback, log and viewers."""
        console = self.consoles[name]
        self._stop_task(name)
        console.source = source
        self._tasks[name] = asyncio.get_running_loop().create_task(
            console.run(self.backoff, lambda: len(self.consoles)), name=f"console-{name}"
        )

    def remove(self, name: str) -> NodeConsole | None:
        """Stop a node's console; its subscribers are told the console is gone."""
        self._stop_task(name)
        console = self.consoles.pop(name, None)
        if console is not None:
            console.set_state(State.LOST, "console removed from this console server")
            if console.log_file is not None:
                console.log_file.close()
        return console

    def _stop_task(self, name: str) -> None:
        task = self._tasks.pop(name, None)
        if task is not None:
            task.cancel()

    def flush_logs(self) -> None:
        for console in self.consoles.values():
            if console.log_file is not None:
                console.log_file.flush()

    async def flush_forever(self, every: float = 1.0) -> None:
        """Logs are buffered for speed; flushing once a second bounds what a crash loses."""
        while True:
            await asyncio.sleep(every)
            self.flush_logs()

    async def close(self, timeout: float = 10.0) -> None:
        """Stop every console and wait (a while) for the sources to close their sessions."""
        tasks = list(self._tasks.values())
        for name in list(self.consoles):
            self.remove(name)
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
