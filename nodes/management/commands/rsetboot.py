"""``rsetboot <noderange> net|hd|default|stat``, as xCAT's."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from nodes.management.commands import _power
from nodes.services import BOOTDEV_VERBS
from snportal.management.commands._cli import add_user_argument


class Command(BaseCommand):
    help = "Set or read the next boot device over IPMI (recorded as a job; exit 1 on failure)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("noderange")
        parser.add_argument("action", choices=BOOTDEV_VERBS)
        add_user_argument(parser)
        _power.add_where_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        _power.run(self, "rsetboot", options)
