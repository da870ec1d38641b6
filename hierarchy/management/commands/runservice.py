"""``runservice``: the service-node agent (enrol, converge DHCP, start services, heartbeat).

``manage.py`` calls :func:`hierarchy.bootstrap.prepare` for this command before Django
loads settings: that enrols (first start after boot) and loads ``/run/snportal/env``. By the
time this command runs, the settings are the service node's.
"""

from __future__ import annotations

import logging
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from hierarchy import agent, bootstrap


class Command(BaseCommand):
    help = (
        "Run a service node: enrol once (secret from the kernel command line), converge "
        "DHCP for its own nodes, start dnsmasq, its boot web, workers and console server, "
        "heartbeat. Exits non-zero with the reason on a refused enrolment or version skew."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--cmdline", default=bootstrap.DEFAULT_CMDLINE, help="kernel cmdline")
        parser.add_argument("--env", default=bootstrap.DEFAULT_ENV, help="env file (tmpfs)")
        parser.add_argument(
            "--workdir", default="/run/snportal-dnsmasq", help="dnsmasq config, hosts, leases"
        )
        parser.add_argument(
            "--no-dnsmasq", action="store_true", help="do not serve DHCP (another server does)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s runservice: %(message)s")
        if getattr(settings, "ROLE", "") != "service" or not settings.SERVICE_NODE:
            raise CommandError(
                f"runservice needs a service node's environment: {options['env']} is missing "
                "or incomplete (it is written at enrolment; delete it to enrol again)"
            )
        the_agent = agent.Agent.from_settings(
            Path(options["workdir"]), dnsmasq=not options["no_dnsmasq"]
        )
        try:
            the_agent.run(listen=agent.listener(the_agent))
        except agent.AgentError as exc:
            raise CommandError(str(exc)) from None
