"""``rcons <node> [-s]``: an interactive console through the console server, as xCAT's.

The terminal goes raw and every key goes to the node, except the escape sequence
``Ctrl-e c`` followed by ``.`` (disconnect), ``b`` (send a serial break) or ``?`` (help),
as with xCAT's conserver client. ``-s`` (spy) watches read-only. The command mints its
ticket with the console services (it runs with the database, like every verb) and connects
like a browser would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import struct
import sys
import termios
import tty
from argparse import ArgumentParser
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from consoles import services, tickets
from snportal.management.base import PortalCommand

ESCAPE = b"\x05c"  # Ctrl-e c
HELP = "\r\n[rcons: Ctrl-e c . disconnect, Ctrl-e c b send break, Ctrl-e c ? this help]\r\n"
CHANNEL = struct.Struct("!H")


class Command(PortalCommand):
    help = "Open a node's serial console in this terminal (exit: Ctrl-e c .)."
    permission = "consoles.view_console"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("node")
        parser.add_argument("-s", "--spy", action="store_true", help="read-only")
        parser.add_argument(
            "--server",
            help="console server websocket base (default ws://CONSOLES_BIND:CONSOLES_PORT)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(pk=self.who.user_id).first()
        mode = services.mode_for(user, tickets.VIEW if options["spy"] else tickets.WRITE)
        node = options["node"]
        token = services.mint_for(self.who, [node], mode)
        base = (options["server"] or services.local_websocket_base()).rstrip("/")
        url = f"{base}/ws/console/{node}?ticket={token}"
        try:
            code = asyncio.run(Session(mode).run(url))
        except InvalidStatus as exc:
            body = exc.response.body.decode(errors="replace").strip()
            raise CommandError(f"{node}: console server refused: {body}") from None
        except OSError as exc:
            raise CommandError(f"cannot reach the console server at {base}: {exc}") from None
        if code:
            raise CommandError(code)


class Session:
    """One terminal attached to one console until the escape or the server closes it."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.out = sys.stdout.buffer
        self.pending = b""  # a possibly incomplete escape sequence held back from the node

    async def run(self, url: str) -> str:
        fd = sys.stdin.fileno()
        saved = termios.tcgetattr(fd) if os.isatty(fd) else None
        async with connect(url, compression=None, open_timeout=10) as ws:
            spy = "read-only " if self.mode == tickets.VIEW else ""
            self.note(f"[rcons: connected {spy}(Ctrl-e c ? for help)]")
            if saved is not None:
                tty.setraw(fd)
            keys: asyncio.Queue[bytes] = asyncio.Queue()
            loop = asyncio.get_running_loop()
            loop.add_reader(fd, lambda: keys.put_nowait(os.read(fd, 4096)))
            try:
                return await self.pump(ws, keys)
            finally:
                loop.remove_reader(fd)
                if saved is not None:
                    termios.tcsetattr(fd, termios.TCSADRAIN, saved)

    async def pump(self, ws: Any, keys: asyncio.Queue[bytes]) -> str:
        receiving = asyncio.ensure_future(self.receive(ws))
        try:
            while not receiving.done():
                key_task = asyncio.ensure_future(keys.get())
                await asyncio.wait({key_task, receiving}, return_when=asyncio.FIRST_COMPLETED)
                if not key_task.done():
                    key_task.cancel()
                    break
                data = key_task.result()
                if not data:  # stdin closed: keep watching until the server closes
                    await receiving
                    break
                if await self.keys(ws, data) == "exit":
                    self.note("[rcons: disconnected]")
                    return ""
        finally:
            receiving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            return await receiving
        return ""

    async def keys(self, ws: Any, data: bytes) -> str:
        """Send keys, intercepting Ctrl-e c <x>; returns "exit" for Ctrl-e c ."""
        buffer, self.pending = self.pending + data, b""
        while buffer:
            at = buffer.find(b"\x05")
            if at < 0:
                await self.send(ws, buffer)
                return ""
            await self.send(ws, buffer[:at])
            rest = buffer[at:]
            if len(rest) < 3 and ESCAPE.startswith(rest[:2]):
                self.pending = rest  # wait for the rest of the sequence
                return ""
            if rest[:2] != ESCAPE:
                await self.send(ws, rest[:1])
                buffer = rest[1:]
                continue
            command, buffer = rest[2:3], rest[3:]
            if command == b".":
                return "exit"
            if command == b"b" and self.mode == tickets.WRITE:
                await ws.send(json.dumps({"type": "break", "ch": 0}))
                self.note("[rcons: break sent]")
            else:
                self.note(HELP.strip())
        return ""

    async def send(self, ws: Any, data: bytes) -> None:
        if data and self.mode == tickets.WRITE:
            await ws.send(CHANNEL.pack(0) + data)

    async def receive(self, ws: Any) -> str:
        """Write console bytes; show state changes; the close reason ends the session."""
        try:
            async for frame in ws:
                if isinstance(frame, bytes):
                    self.out.write(frame[CHANNEL.size :])
                    self.out.flush()
                    continue
                msg = json.loads(frame)
                if msg["type"] in ("state", "error"):
                    text = msg.get("state", "error")
                    self.note(f"[rcons: {text}{': ' + msg['message'] if msg['message'] else ''}]")
        except ConnectionClosed:
            pass
        reason = ws.close_reason or ""
        return f"console closed: {reason}" if reason else "console server closed the connection"

    def note(self, text: str) -> None:
        self.out.write(f"\r\n{text}\r\n".encode())
        self.out.flush()
