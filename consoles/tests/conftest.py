"""A real console server on a free loopback port, in a thread, fed by the test."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from consoles.broker import Backoff, Broker, NodeConsole, Sink, SourceError
from consoles.capture import ConsoleLog
from consoles.server import ConsoleServer, Hooks
from testsupport.waiting import wait_until

ORIGIN = "http://127.0.0.1:8000"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FedSource:
    """A console the test writes to (``feed``) and whose input it reads (``typed``)."""

    def __init__(self) -> None:
        self.sink: Sink | None = None
        self.typed = bytearray()
        self.breaks = 0
        self._end: asyncio.Future[None] | None = None

    async def stream(self, sink: Sink) -> None:
        self.sink = sink
        self._end = asyncio.get_running_loop().create_future()
        sink.connected()
        await self._end

    def feed(self, data: bytes) -> None:  # on the loop
        assert self.sink is not None
        self.sink.output(data)

    def drop(self, message: str) -> None:  # on the loop
        if self._end is not None and not self._end.done():
            self._end.set_exception(SourceError(message))

    async def send(self, data: bytes) -> None:
        self.typed += data

    async def send_break(self) -> None:
        self.breaks += 1

    async def close(self) -> None:
        self.sink = None


class ServerThread:
    """Broker + ConsoleServer on their own loop; test code calls in with :meth:`call`."""

    def __init__(
        self,
        hooks: Hooks | None,
        log_dir: Path | None = None,
        origins: tuple[str, ...] = (ORIGIN,),
        **server: Any,
    ) -> None:
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.broker = Broker(Backoff(base=0.05, cap=0.2))
        self.log_dir = log_dir
        self.server = ConsoleServer(self.broker, allowed_origins=origins, hooks=hooks, **server)
        self.sources: dict[str, FedSource] = {}
        started: Future[None] = Future()
        self.thread = threading.Thread(target=self._run, args=(started,), daemon=True)
        self.thread.start()
        started.result(10)

    def _run(self, started: Future[None]) -> None:
        asyncio.set_event_loop(self.loop)

        async def main() -> None:
            self.ws = await self.server.start("127.0.0.1", self.port)
            started.set_result(None)
            await self.ws.wait_closed()

        self.loop.run_until_complete(main())

    def call(self, fn: Any, *args: Any) -> Any:
        """Run ``fn(*args)`` on the server loop and return its result."""

        async def run() -> Any:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)

    def add_node(self, name: str, source: Any | None = None) -> Any:
        source = source or FedSource()
        self.sources[name] = source
        log_file = ConsoleLog(self.log_dir, name) if self.log_dir else None
        self.call(lambda: self.broker.add(NodeConsole(name, source, log_file=log_file)))
        wait_until(
            lambda: not isinstance(source, FedSource) or source.sink is not None,
            5,
            0.01,
            message="the fed console never connected",
        )
        return source

    def feed(self, name: str, data: bytes) -> None:
        self.call(self.sources[name].feed, data)

    def url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        async def shut() -> None:
            self.server.stop()
            await self.broker.close()
            self.ws.close()

        asyncio.run_coroutine_threadsafe(shut(), self.loop).result(10)
        self.thread.join(10)


@pytest.fixture
def console_server(tmp_path: Path) -> Iterator[ServerThread]:
    """A console server without portal hooks (no database); node ``n1`` is fed by the test."""
    server = ServerThread(None, tmp_path)
    server.add_node("n1")
    yield server
    server.stop()
