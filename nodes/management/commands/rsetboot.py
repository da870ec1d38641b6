"""``rsetboot <noderange> net|hd|default|stat``, as xCAT's."""

from __future__ import annotations

from nodes.management.commands.rpower import Command as PowerCommand
from nodes.verbs import BOOTDEV_VERBS


class Command(PowerCommand):
    help = "Set or read the next boot device over IPMI (recorded as a job; exit 1 on failure)."
    verb = "rsetboot"
    words = {"action": {"choices": BOOTDEV_VERBS}}
