"""``rnetboot``: xCAT's other name for rinstall on diskless nodes; same arguments."""

from __future__ import annotations

from nodes.management.commands.rinstall import Command as RinstallCommand


class Command(RinstallCommand):
    pass
