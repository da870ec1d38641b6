"""``wcons <noderange>``: print the console wall's address for those nodes (xCAT opens xterms)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from nodes import noderange
from nodes.services import resolve


class Command(BaseCommand):
    help = "Print the URL of the console wall for a noderange (open it in a browser)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("noderange")

    def handle(self, *args: Any, **options: Any) -> None:
        expr = options["noderange"]
        try:
            names = resolve(expr)
        except noderange.NoderangeError as exc:
            raise CommandError(str(exc)) from None
        if not names:
            raise CommandError(f"{expr}: no nodes")
        query = urlencode({"range": expr})
        self.stdout.write(f"{settings.PORTAL_URL}{reverse('consoles:wall')}?{query}")
        self.stderr.write(f"{len(names)} consoles: {noderange.compress(names)}")
