"""``runconsoles``: the console server (one SOL session per node, websockets for viewers)."""

from __future__ import annotations

import asyncio
import logging
import signal
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from consoles.broker import Broker
from consoles.server import ConsoleServer
from consoles.services import PortalHooks, StateRecorder, sync_broker
from consoles.sol import SolRuntime
from snportal.live import listen_forever
from snportal.tickets import RELAY_SALT, SALT

log = logging.getLogger("consoles")


def listen_connection() -> Any:
    """An autocommit psycopg connection to the portal's database, for LISTEN."""
    import psycopg
    from django.db import connection

    params = connection.get_connection_params()
    for django_only in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(django_only, None)
    return psycopg.AsyncConnection.connect(**params, autocommit=True)


# New, removed and re-credentialed nodes are picked up this often.
SYNC_SECONDS = 30.0


class Command(BaseCommand):
    help = "Run the console server: SOL to every IPMI node, websockets on CONSOLES_BIND:PORT."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--bind", default=settings.CONSOLES_BIND)
        parser.add_argument("--port", type=int, default=settings.CONSOLES_PORT)

    def handle(self, *args: Any, **options: Any) -> None:
        asyncio.run(self.serve(options["bind"], options["port"]))

    async def serve(self, bind: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        broker = Broker()
        runtime = SolRuntime()
        # A service node's console server serves only the management node's relay (relay
        # tickets); viewers, their audit rows and live events stay on the management node.
        relay_only = settings.ROLE == "service"
        server = ConsoleServer(
            broker,
            allowed_origins=settings.CONSOLES_ORIGINS,
            ticket_max_age=settings.CONSOLE_TICKET_SECONDS,
            hooks=None if relay_only else PortalHooks(),
            ticket_salt=RELAY_SALT if relay_only else SALT,
        )
        ws = await server.start(bind, port)
        what = "relay for the portal" if relay_only else "/ws/events"
        self.stdout.write(f"console server on ws://{bind}:{port}/ws/console/<node>, {what}")
        tasks = [
            loop.create_task(broker.flush_forever()),
            loop.create_task(self.sync_forever(broker, runtime)),
        ]
        if not relay_only:
            tasks.append(loop.create_task(listen_forever(listen_connection, server.events)))
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            ws.close()
            await ws.wait_closed()
            await broker.close()
            broker.flush_logs()
            runtime.shutdown()

    async def sync_forever(self, broker: Broker, runtime: SolRuntime) -> None:
        current: dict[str, Any] = {}
        recorder = StateRecorder()
        shown = -1
        while True:
            try:
                await sync_broker(broker, runtime, current, recorder)
            except Exception:  # the database may be restarting; keep the consoles we have
                log.exception("reading the node list")
            if len(current) != shown:
                shown = len(current)
                self.stdout.write(f"{shown} node consoles")
            await asyncio.sleep(SYNC_SECONDS)
