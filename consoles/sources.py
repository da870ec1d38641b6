"""A console reached as a plain TCP byte stream (a terminal server port, conserver's ``host``).

The console server uses IPMI SOL (:mod:`consoles.sol`) for real nodes. This source exists
for what speaks raw TCP: the benchmark's simulated nodes (so the broker, conserver and the
bare relay all read the very same producers) and tests that need a console without a BMC.
It implements the same :class:`consoles.broker.Source` protocol as SOL.
"""

from __future__ import annotations

import asyncio

from consoles.broker import Sink, SourceError

__all__ = ["TcpSource"]

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
