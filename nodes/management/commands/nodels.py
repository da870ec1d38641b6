"""``nodels [noderange] [attr …]``: node names, or ``node: value`` lines.

Sorted as xCAT's nodels sorts them (Perl's plain ``sort``: by character, so ``node10``
comes before ``node2``); scripts that compare its output with xCAT's rely on it.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from nodes import services
from nodes.attributes import ATTRS
from nodes.models import Node
from nodes.noderange import NoderangeError


class Command(BaseCommand):
    help = "List the nodes a noderange selects (all nodes without one)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("noderange", nargs="?", help="e.g. 'rack1,-node03' or ^/path/file")
        parser.add_argument("attrs", nargs="*", help="attributes to print as 'node: value'")

    def handle(self, *args: Any, **options: Any) -> None:
        unknown = [a for a in options["attrs"] if a not in ATTRS]
        if unknown:
            raise CommandError(f"unknown attribute(s): {', '.join(unknown)}")
        try:
            if options["noderange"]:
                names = services.resolve(options["noderange"], allow_files=True)
            else:
                names = list(Node.objects.order_by("sortkey").values_list("name", flat=True))
        except NoderangeError as e:
            raise CommandError(str(e)) from None
        names = sorted(names)
        if not options["attrs"]:
            for name in names:
                self.stdout.write(name)
            return
        nodes = services.with_groups(Node.objects.filter(name__in=names).select_related("osimage"))
        by_name = {n.name: services.node_attrs(n) for n in nodes}
        for name in names:
            for attr in options["attrs"]:
                self.stdout.write(f"{name}: {by_name[name][attr]}")
