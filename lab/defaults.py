"""What turning the lab on changes in the settings (``SNPORTAL_LAB=1``; tests; ``make run``).

The product's defaults know nothing of the lab. The lab's qemu guests reach the portal at
``GUEST_PORTAL`` through their user network's ``guestfwd`` (:mod:`lab.vm`), so with the lab
on, that address is where nodes boot from and a host name the web process answers to,
unless the operator set ``SNPORTAL_BOOT_URL`` or ``ALLOWED_HOSTS`` explicitly.
Pure: no Django import, so the settings module can call it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from typing import Any

#: The portal as a lab guest sees it (slirp guestfwd); the same value as ``lab.vm``'s.
GUEST_PORTAL = "10.0.2.100"


def apply(settings: MutableMapping[str, Any], environ: Mapping[str, str] = os.environ) -> None:
    """Install the lab app and its address into a settings namespace (``globals()``)."""
    if "lab" not in settings["INSTALLED_APPS"]:
        settings["INSTALLED_APPS"] = [*settings["INSTALLED_APPS"], "lab"]
    if "SNPORTAL_BOOT_URL" not in environ:
        settings["BOOT_URL"] = f"http://{GUEST_PORTAL}"
    if "ALLOWED_HOSTS" not in environ and GUEST_PORTAL not in settings["ALLOWED_HOSTS"]:
        settings["ALLOWED_HOSTS"] = [*settings["ALLOWED_HOSTS"], GUEST_PORTAL]
