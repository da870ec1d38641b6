"""``wcons <noderange>``: print the console wall's address for those nodes (xCAT opens xterms)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.management.base import CommandError
from django.urls import reverse

from nodes import noderange
from nodes.management.base import NodeCommand


class Command(NodeCommand):
    help = "Print the URL of the console wall for a noderange (open it in a browser)."
    permission = "consoles.view_console"

    def handle(self, *args: Any, **options: Any) -> None:
        expr = options["noderange"]
        names = self.nodes(expr)
        if not names:
            raise CommandError(f"{expr}: no nodes")
        # The wall resolves its range itself: a ^file is sent as the names it holds.
        query = urlencode({"range": noderange.compress(names) if expr.startswith("^") else expr})
        self.stdout.write(f"{settings.PORTAL_URL}{reverse('consoles:wall')}?{query}")
        self.stderr.write(f"{len(names)} consoles: {noderange.compress(names)}")
