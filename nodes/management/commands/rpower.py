"""``rpower <noderange> on|off|softoff|reset|boot|cycle|stat|state|status``, as xCAT's."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from nodes.management.commands import _power
from nodes.services import POWER_ALIASES, POWER_VERBS
from snportal.management.commands._cli import add_user_argument


class Command(BaseCommand):
    help = "Control or read node power over IPMI (recorded as a job; exit 1 if any node fails)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("noderange")
        parser.add_argument("action", choices=(*POWER_VERBS, *POWER_ALIASES))
        add_user_argument(parser)
        _power.add_where_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        _power.run(self, "rpower", options)
