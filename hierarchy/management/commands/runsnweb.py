"""``runsnweb``: a service node's web process, the boot service its compute nodes use.

Started by the agent (``runservice``) after dnsmasq: gunicorn (threads, so a worker
waiting for a cache fill does not block the others) on the service node's compute-network
address, with ``SNPORTAL_ROLE=service`` so that only the ``/boot/`` URLs are mounted
(:mod:`config.urls_service`) and artifacts come from the local cache.
"""

from __future__ import annotations

import os
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


def default_bind() -> str:
    """``host:port`` of SNPORTAL_BOOT_URL: where this service node's nodes reach it."""
    url = urlsplit(settings.BOOT_URL)
    if not url.hostname:
        return ""
    host = f"[{url.hostname}]" if ":" in url.hostname else url.hostname
    return f"{host}:{url.port or (443 if url.scheme == 'https' else 80)}"


class Command(BaseCommand):
    help = "Run the service node's boot service (gunicorn, SNPORTAL_ROLE=service)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--bind", default="", help="host:port (default: SNPORTAL_BOOT_URL's host and port)"
        )
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--threads", type=int, default=16)

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.ROLE != "service":
            raise CommandError(
                "runsnweb runs on a service node: set SNPORTAL_ROLE=service, "
                "SNPORTAL_SERVICE_NODE and SNPORTAL_MN_URL (the agent's env file has them)"
            )
        if not settings.SN_API_TOKEN:
            raise CommandError(
                "SNPORTAL_SN_API_TOKEN is not set: the cache cannot pull artifacts from the "
                "management node (enrol first: manage.py runservice)"
            )
        bind = options["bind"] or default_bind()
        if not bind:
            raise CommandError("no address to bind: give --bind or set SNPORTAL_BOOT_URL")
        gunicorn = Path(sys.executable).with_name("gunicorn")
        argv = [
            str(gunicorn),
            "config.wsgi",
            "--bind",
            bind,
            "--workers",
            str(options["workers"]),
            "--worker-class",
            "gthread",
            "--threads",
            str(options["threads"]),
            "--backlog",
            "2048",
            # A cache fill of a large root image can take longer than gunicorn's 30 s.
            "--timeout",
            "600",
            "--chdir",
            str(settings.BASE_DIR),
        ]
        self.stdout.write(f"service node {settings.SERVICE_NODE}: boot service on {bind}")
        self.stdout.flush()
        os.execv(argv[0], argv)  # the agent supervises gunicorn itself, under this pid
