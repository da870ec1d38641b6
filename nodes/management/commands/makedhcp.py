"""``makedhcp``: write the dnsmasq configuration and the TFTP directory for netboot."""

from __future__ import annotations

import subprocess
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError

from nodes import dhcp
from nodes.models import Node
from snportal.management.base import PortalCommand


class Command(PortalCommand):
    help = (
        "Write dnsmasq.conf (host entries by MAC/IP, PXE ROM → iPXE → /boot/ipxe chain) under "
        "SNPORTAL_DHCP_DIR and the TFTP directory (chain.ipxe, iPXE binaries) under "
        "SNPORTAL_TFTP_DIR; --check validates the result with dnsmasq --test."
    )
    permission = "admin"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--interface", default="", help="listen only here (e.g. eth1)")
        parser.add_argument("--range", dest="dhcp_range", default="", help="dnsmasq dhcp-range")
        parser.add_argument("--domain", default="")
        parser.add_argument("--check", action="store_true", help="run dnsmasq --test on it")

    def handle(self, *args: Any, **opts: Any) -> None:
        hosts = [
            dhcp.HostEntry(name, mac, ip)
            for name, mac, ip in Node.objects.exclude(mac="").values_list("name", "mac", "ip")
        ]
        missing = dhcp.write_tftp_dir(settings.TFTP_DIR, settings.BOOT_URL)
        for line in missing:
            self.stderr.write(f"Warning: missing {line}")
        settings.DHCP_DIR.mkdir(parents=True, exist_ok=True)
        conf = settings.DHCP_DIR / "dnsmasq.conf"
        conf.write_text(
            dhcp.dnsmasq_config(
                hosts,
                tftp_dir=settings.TFTP_DIR,
                interface=opts["interface"],
                dhcp_range=opts["dhcp_range"],
                domain=opts["domain"],
            )
        )
        self.stdout.write(f"{conf}: {len(hosts)} host(s); TFTP {settings.TFTP_DIR}")
        if opts["check"]:
            result = subprocess.run(
                ["dnsmasq", "--test", f"--conf-file={conf}"], capture_output=True, text=True
            )
            if result.returncode != 0:
                raise CommandError(f"dnsmasq rejects {conf}: {result.stderr.strip()}")
            self.stdout.write(result.stderr.strip())
