"""Plain factories for node tests: ``make_node(**overrides)``, CLI runner."""

from __future__ import annotations

import io
from typing import Any

from django.core.management import call_command

from nodes import services
from snportal import audit


def make_node(name: str = "node01", **attrs: str) -> Any:
    """A node defined through the same service as mkdef, attributes as xCAT text."""
    from nodes.models import Node

    services.save_nodes([(name, attrs)], mode=services.CREATE, actor=ACTOR)
    return Node.objects.get(name=name)


def cli(*args: str, stdin: str = "") -> tuple[str, str]:
    """Run a management command; (stdout, stderr). CommandError propagates."""
    import sys

    out, err = io.StringIO(), io.StringIO()
    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        call_command(*args, stdout=out, stderr=err)
    finally:
        sys.stdin = old
    return out.getvalue(), err.getvalue()


MAC = "52:54:00:00:00:01"
ACTOR = audit.Actor(user_id=None, username="test@cli")


def netboot_node(image: Any, name: str = "n01", mac: str = MAC) -> Any:
    """A node set to netboot ``image``: its boot attempt is open."""
    from nodes.models import Node

    make_node(name, mac=mac)
    nodeset(name, f"osimage={image.imagename}")
    return Node.objects.get(name=name)


def nodeset(name: str, target: str) -> None:
    """``nodeset <name> <target>`` through the service, as the test CLI user."""
    from nodes import netboot

    netboot.nodeset([name], target, actor=ACTOR)


def ipxe_script(client: Any, mac: str = MAC) -> str:
    """The iPXE script the boot service answers ``mac`` with (asserting it answered)."""
    response = client.get("/boot/ipxe", {"mac": mac})
    assert response.status_code == 200
    return response.content.decode()


def kernel_params(script: str) -> dict[str, str]:
    """The ``key=value`` parameters of an iPXE script's kernel line."""
    kernel = next(line for line in script.splitlines() if line.startswith("kernel "))
    return dict(p.split("=", 1) for p in kernel.split()[2:] if "=" in p)
