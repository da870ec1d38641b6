"""The words of xCAT's rpower and rsetboot, defined once.

The web forms, the CLI's argument choices, the service's validation and the IPMI driver all
check against these tuples, so a verb cannot be offered in one place and refused in another.
"""

from __future__ import annotations

POWER_VERBS = ("on", "off", "softoff", "reset", "boot", "cycle", "stat", "state")
# Other words xCAT users type for a verb: ``rpower node status`` reads the power state.
POWER_ALIASES = {"status": "stat"}
# The next boot device of a diskless node: the network, its disk, or what the BIOS says;
# ``stat`` reads it back.
BOOTDEV_VERBS = ("net", "hd", "default", "stat")
# Verbs that read the state instead of changing it.
READ_VERBS = ("stat", "state")
