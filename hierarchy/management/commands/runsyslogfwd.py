"""``runsyslogfwd``: forward this service node's journal to the portal (hierarchy.syslogfwd)."""

from __future__ import annotations

import signal
import threading
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from hierarchy.syslogfwd import Forwarder


class Command(BaseCommand):
    help = "Follow the journal (journalctl -f -o json) and write it as this SN's syslog lines."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--cursor-file",
            type=Path,
            default=None,
            help="where the last forwarded journal cursor is kept (default <var>/journal.cursor)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.ROLE != "service" or not settings.SERVICE_NODE:
            raise CommandError(
                "runsyslogfwd runs on a service node (SNPORTAL_ROLE=service, "
                "SNPORTAL_SERVICE_NODE=<name>)"
            )
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        cursor = options["cursor_file"] or Path(settings.VAR_DIR) / "journal.cursor"
        cursor.parent.mkdir(parents=True, exist_ok=True)
        forwarder = Forwarder(settings.SERVICE_NODE, cursor_file=cursor)
        self.stdout.write(f"forwarding the journal of {settings.SERVICE_NODE}")
        self.stdout.flush()
        written = forwarder.run(stop)
        self.stdout.write(f"{written} line(s) forwarded")
