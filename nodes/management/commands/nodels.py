"""``nodels [noderange] [attr …]``: node names, or ``node: value`` lines.

Sorted as xCAT's nodels sorts them (Perl's plain ``sort``: by character, so ``node10``
comes before ``node2``); scripts that compare its output with xCAT's rely on it.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError

from nodes import services
from nodes.attributes import ATTRS
from nodes.management.base import NodeCommand
from nodes.models import Node


class Command(NodeCommand):
    help = "List the nodes a noderange selects (all nodes without one)."
    noderange_nargs = "?"

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("attrs", nargs="*", help="attributes to print as 'node: value'")

    def handle(self, *args: Any, **options: Any) -> None:
        unknown = [a for a in options["attrs"] if a not in ATTRS]
        if unknown:
            raise CommandError(f"unknown attribute(s): {', '.join(unknown)}")
        if options["noderange"]:
            names = self.nodes(options["noderange"])
        else:
            names = list(Node.objects.order_by("sortkey").values_list("name", flat=True))
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
