"""The boot protocol from a test's side: a node set to netboot, its iPXE script, the kernel
parameters in it. Shared by the netboot and boot-token tests."""

from __future__ import annotations

from typing import Any

from nodes.tests.factories import ACTOR, make_node

MAC = "52:54:00:00:00:01"


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
