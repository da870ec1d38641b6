"""IPMI Serial-over-LAN as a console source, on pyghmi's blocking API.

pyghmi 1.6.19 is thread-based: every call blocks and callbacks arrive on whichever thread
is pumping ``Session.wait_for_rsp``. :class:`SolRuntime` keeps that away from the
event loop (see ``research/pyghmi.md`` §1.6, §2):

* one daemon thread pumps ``Session.wait_for_rsp`` forever, so SOL output is delivered
  and keepalives go out even when nobody is typing;
* blocking calls (login + activate, send, probe, close) run in one bounded thread pool;
* every pyghmi callback hands its data to the loop with ``call_soon_threadsafe``;
* logins are rate-limited (a few at a time, a minimum gap between them): concurrent
  pyghmi logins from many threads sometimes stall for ~25 s, and a console server that
  starts with 500 nodes must not flood the BMC network;
* credentials are passed as **bytes**: with ``str`` a second session to the same BMC in
  the same process hangs forever (pyghmi §1.7.1).

pyghmi notices a dead BMC only after ~50 s, sometimes never, so :class:`SolSource` runs
a watchdog: when the console has been silent for ``watchdog_interval`` it sends a Get
Device ID on the same session and declares the console lost if no answer arrives within
``probe_timeout``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from pyghmi.ipmi import console as ipmi_console
from pyghmi.ipmi.private import session as ipmi_session

from consoles.broker import Sink, SourceError, State

__all__ = ["SolRuntime", "SolSource"]

log = logging.getLogger(__name__)
T = TypeVar("T")

# pyghmi's error strings that mean another client now owns the SOL payload.
_TAKEN = ("SOL deactivated", "SOL Session active for another client")


class SolRuntime:
    """The threads and limits every SOL session of a console server shares."""

    def __init__(
        self, workers: int = 16, logins_at_once: int = 4, login_interval: float = 0.05
    ) -> None:
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sol")
        self._logins = asyncio.Semaphore(logins_at_once)
        self._login_interval = login_interval
        self._next_login = 0.0
        self._pump = threading.Thread(target=self._pump_forever, name="sol-pump", daemon=True)
        self._pump.start()

    @staticmethod
    def _pump_forever() -> None:
        while True:
            try:
                ipmi_session.Session.wait_for_rsp(0.2)
            except Exception:  # one bad packet or callback must not stop every console
                log.exception("pyghmi event pump")
                time.sleep(0.2)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    async def login(self, fn: Callable[[], T]) -> T:
        """Run a login: at most ``logins_at_once`` in flight, ``login_interval`` apart."""
        async with self._logins:
            now = time.monotonic()
            wait = self._next_login - now
            self._next_login = max(now, self._next_login) + self._login_interval
            if wait > 0:
                await asyncio.sleep(wait)
            return await self.run(fn)

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


class SolSource:
    """One node's SOL console (``force=True``: a console server takes over the payload)."""

    def __init__(
        self,
        runtime: SolRuntime,
        host: str,
        port: int,
        user: str,
        password: str,
        *,
        activate_timeout: float = 20.0,
        watchdog_interval: float = 10.0,
        probe_timeout: float = 6.0,
    ) -> None:
        self.runtime = runtime
        self.host, self.port = host, port
        self._user, self._password = user.encode(), password.encode()
        self.activate_timeout = activate_timeout
        self.watchdog_interval = watchdog_interval
        self.probe_timeout = probe_timeout
        self._console: ipmi_console.Console | None = None
        self._failed = False
        self._send_lock = asyncio.Lock()

    async def stream(self, sink: Sink) -> None:
        loop = asyncio.get_running_loop()
        ended: asyncio.Future[None] = loop.create_future()
        last_output = time.monotonic()

        def on_loop(data: Any) -> None:
            nonlocal last_output
            if isinstance(data, bytes | bytearray):
                last_output = time.monotonic()
                sink.output(bytes(data))
            elif isinstance(data, dict) and "error" in data and not ended.done():
                text = str(data["error"])
                state = State.TAKEN if text.startswith(_TAKEN) else State.LOST
                ended.set_exception(SourceError(text, state))
            elif isinstance(data, dict) and "info" in data:
                sink.connected(str(data["info"]))

        def handler(data: Any) -> None:  # a pyghmi thread
            loop.call_soon_threadsafe(on_loop, data)

        def open_console() -> ipmi_console.Console:
            return ipmi_console.Console(
                self.host, self._user, self._password, handler, port=self.port, force=True
            )

        try:
            self._console = await self.runtime.login(open_console)
        except Exception as exc:
            raise SourceError(f"SOL login to {self.host}:{self.port} failed: {exc}") from exc
        self._failed = False
        try:
            await self._wait_activated(ended)
            sink.connected()
            while True:
                await asyncio.wait({ended}, timeout=self.watchdog_interval)
                if ended.done():
                    ended.result()
                if time.monotonic() - last_output >= self.watchdog_interval:
                    await self._probe()
        except SourceError:
            self._failed = True
            raise

    async def _wait_activated(self, ended: asyncio.Future[None]) -> None:
        deadline = time.monotonic() + self.activate_timeout
        while not (self._console is not None and self._console.connected):
            if ended.done():
                ended.result()
            if time.monotonic() > deadline:
                raise SourceError(f"SOL not activated within {self.activate_timeout:.0f} s")
            await asyncio.sleep(0.05)

    async def _probe(self) -> None:
        """Get Device ID on the SOL's own session; silence past the timeout means lost."""
        session = self._console.ipmi_session if self._console is not None else None
        if session is None:
            raise SourceError("SOL session closed")
        try:
            reply = await asyncio.wait_for(
                self.runtime.run(lambda: session.raw_command(netfn=6, command=1)),
                self.probe_timeout,
            )
        except TimeoutError:
            raise SourceError(f"BMC silent for {self.probe_timeout:.0f} s (watchdog)") from None
        except Exception as exc:
            raise SourceError(f"BMC watchdog probe failed: {exc}") from exc
        if isinstance(reply, dict) and "error" in reply:
            raise SourceError(f"BMC watchdog probe failed: {reply['error']}")

    async def send(self, data: bytes) -> None:
        console = self._console
        if console is None or not console.connected:
            raise SourceError("console is not connected")
        async with self._send_lock:  # keystrokes in order; send_data blocks until ACKed
            await self.runtime.run(console.send_data, data)

    async def send_break(self) -> None:
        console = self._console
        if console is None or not console.connected:
            raise SourceError("console is not connected")
        async with self._send_lock:
            await self.runtime.run(console.send_break)

    async def close(self) -> None:
        """Deactivate SOL and forget the session, so the next login starts a fresh one.

        A session whose BMC died still looks logged in to pyghmi, and pyghmi hands an
        existing session to the next Console for the same BMC; marking it broken forces a
        real new login after a BMC restart.
        """
        console, self._console = self._console, None
        if console is None:
            return
        session, healthy = console.ipmi_session, not (console.broken or self._failed)

        def shut() -> None:
            if healthy:  # deactivating a dead BMC's payload would only wait for retries
                with contextlib.suppress(Exception):
                    console.close()
            if session is not None:
                with contextlib.suppress(Exception):
                    session._mark_broken("console server closed the SOL session")

        # The next login must not find this session still registered, so wait for the
        # shutdown, but not for long: a dead BMC makes it wait for pyghmi's timeouts.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.runtime.run(shut), self.probe_timeout)
