"""Boot tokens are scoped to one boot attempt and expire; the boot service refuses floods.

The hostile side is a plain HTTP client that knows a node's MAC and name (both are easy
to learn on a node network): it must get neither the real node's token nor a way to
break its boot, and its floods must not fill the node's timeline or the unknown-MAC list.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from lab.bmcsim import Lab
from lab.ports import free_base_port
from nodes import netboot
from nodes.models import Node, NodeEvent, UnknownMac
from nodes.tests.bootkit import MAC, ipxe_script, kernel_params, netboot_node, nodeset
from nodes.tests.factories import cli, make_node

pytestmark = pytest.mark.django_db


def artifact(client: Client, packed: Any, token: str, filename: str = "kernel") -> int:
    version = packed.current_version
    url = f"/boot/images/{packed.imagename}/{version.version}/{filename}"
    return client.get(url, {"node": "n01", "t": token}).status_code


def report(client: Client, token: str, status: str, node: str = "n01", **extra: Any) -> int:
    data = {"node": node, "token": token, "status": status}
    return client.post("/boot/status", data, **extra).status_code


def test_a_second_script_request_neither_reveals_nor_revokes_the_first_token(
    client: Client, packed
) -> None:
    netboot_node(packed)
    real = kernel_params(ipxe_script(client))["snp.token"]
    stranger = kernel_params(ipxe_script(client))["snp.token"]
    assert stranger != real
    assert artifact(client, packed, real) == 200
    assert report(client, real, "netbooting") == 200


def test_every_script_with_a_token_is_a_node_event_with_the_client_address(
    client: Client, packed
) -> None:
    node = netboot_node(packed)
    client.get("/boot/ipxe", {"mac": MAC}, REMOTE_ADDR="127.0.0.7")
    served = NodeEvent.objects.get(node=node, message__startswith="script served: netboot")
    assert served.data["address"] == "127.0.0.7" and served.data["token_issue"] == 1
    assert "token 1 of at most 3, from 127.0.0.7" in served.message


def test_a_boot_attempt_issues_a_limited_number_of_tokens(client: Client, packed) -> None:
    node = netboot_node(packed)
    for _ in range(3):
        assert "snp.token=" in ipxe_script(client)
    refused = ipxe_script(client)
    assert "snp.token=" not in refused and "kernel" not in refused
    assert "already issued 3 boot scripts" in refused
    assert NodeEvent.objects.filter(node=node, message__startswith="script refused").exists()


def test_a_node_gets_no_token_outside_a_boot_attempt(client: Client, packed) -> None:
    netboot_node(packed)
    Node.objects.filter(name="n01").update(boot_armed_at=timezone.now() - timedelta(hours=1))
    text = ipxe_script(client)
    assert "snp.token=" not in text and "no boot attempt is open" in text
    assert Node.objects.get(name="n01").boot_tokens == []


def test_a_node_refused_a_token_says_how_to_open_an_attempt_and_asks_again(
    client: Client, packed
) -> None:
    netboot_node(packed)
    Node.objects.filter(name="n01").update(boot_armed_at=timezone.now() - timedelta(hours=1))
    text = ipxe_script(client)
    assert "rinstall n01" in text
    assert text.rstrip().endswith("reboot") and "poweroff" not in text


def test_a_booted_node_asking_again_gets_no_new_token(client: Client, packed) -> None:
    netboot_node(packed)
    token = kernel_params(ipxe_script(client))["snp.token"]
    for status in ("netbooting", "booting", "booted"):
        assert report(client, token, status) == 200
    assert "snp.token=" not in ipxe_script(client)


def test_the_first_report_binds_the_attempt_to_its_token(client: Client, packed) -> None:
    netboot_node(packed)
    first = kernel_params(ipxe_script(client))["snp.token"]
    second = kernel_params(ipxe_script(client))["snp.token"]
    assert report(client, second, "netbooting") == 200
    assert artifact(client, packed, first, "rootimg.cpio.zst") == 403
    assert report(client, first, "booting") == 403
    assert artifact(client, packed, second, "rootimg.cpio.zst") == 200


def test_nodeset_and_rinstall_open_a_new_attempt_that_forgets_old_tokens(
    client: Client, packed
) -> None:
    netboot_node(packed)
    old = kernel_params(ipxe_script(client))["snp.token"]
    nodeset("n01", f"osimage={packed.imagename}")
    assert artifact(client, packed, old) == 403
    assert "snp.token=" in ipxe_script(client)


def test_nodeset_boot_closes_the_boot_attempt(client: Client, packed) -> None:
    netboot_node(packed)
    nodeset("n01", "boot")
    assert Node.objects.get(name="n01").boot_armed_at is None


def test_a_booted_node_s_token_no_longer_opens_the_image(client: Client, packed) -> None:
    netboot_node(packed)
    token = kernel_params(ipxe_script(client))["snp.token"]
    for status in ("netbooting", "booting", "booted"):
        assert report(client, token, status) == 200
    assert artifact(client, packed, token, "rootimg.cpio.zst") == 403
    assert artifact(client, packed, token, "kernel") == 403


def test_a_booted_node_may_repeat_its_report_during_the_grace_only(
    client: Client, packed, settings: Any
) -> None:
    node = netboot_node(packed)
    token = kernel_params(ipxe_script(client))["snp.token"]
    for status in ("netbooting", "booting", "booted"):
        report(client, token, status)
    events = NodeEvent.objects.filter(node=node).count()
    assert report(client, token, "booted") == 200  # report-booted retrying
    assert NodeEvent.objects.filter(node=node).count() == events  # nothing new to tell
    assert report(client, token, "failed") == 403  # nothing else after booted
    Node.objects.filter(pk=node.pk).update(
        statustime=timezone.now() - timedelta(seconds=settings.BOOT_TOKEN_GRACE + 1)
    )
    assert report(client, token, "booted") == 403


def test_a_failed_boot_s_token_is_dead(client: Client, packed) -> None:
    netboot_node(packed)
    token = kernel_params(ipxe_script(client))["snp.token"]
    assert report(client, token, "failed") == 200
    assert report(client, token, "booted") == 403
    assert artifact(client, packed, token) == 403
    assert Node.objects.get(name="n01").status == "failed"


def test_a_token_expires_with_the_boot_state_timeout(client: Client, packed, settings: Any) -> None:
    netboot_node(packed)
    token = kernel_params(ipxe_script(client))["snp.token"]
    report(client, token, "netbooting")
    late = timezone.now() - timedelta(seconds=settings.BOOT_TIMEOUTS["netbooting"] + 1)
    Node.objects.filter(name="n01").update(statustime=late)
    # Before the stuck-node schedule has even run: the token is already dead.
    assert artifact(client, packed, token, "rootimg.cpio.zst") == 403
    assert report(client, token, "booting") == 403


@pytest.fixture
def one_bmc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab(tmp_path_factory.mktemp("lab")) as lab:
        lab.start(1, free_base_port(1), "tokens-lab-pw")
        yield lab


def test_rpower_reset_of_a_netboot_node_opens_a_boot_attempt(
    client: Client, packed, one_bmc: Lab
) -> None:
    bmc = one_bmc.bmcs[0]
    make_node(
        "n01",
        bmc=f"{bmc.host}:{bmc.port}",
        bmcusername=bmc.user,
        bmcpassword=bmc.password,
        mac=MAC,
    )
    nodeset("n01", f"osimage={packed.imagename}")
    Node.objects.filter(name="n01").update(boot_armed_at=None)  # that attempt is over
    assert "snp.token=" not in ipxe_script(client)
    cli("rpower", "n01", "reset")
    assert "snp.token=" in ipxe_script(client)


# --- floods -------------------------------------------------------------------------------


def test_a_status_report_flood_gets_429_without_filling_the_timeline(
    client: Client, packed, settings: Any
) -> None:
    settings.BOOT_RATE_PER_NODE = 5
    node = netboot_node(packed)
    ipxe_script(client)
    before = NodeEvent.objects.filter(node=node).count()
    codes = [report(client, "guess", "booted") for _ in range(20)]
    assert codes == [403] * 5 + [429] * 15
    assert NodeEvent.objects.filter(node=node).count() == before + 5


def test_a_flood_from_one_address_over_many_nodes_is_cut_off(
    client: Client, packed, settings: Any
) -> None:
    settings.BOOT_RATE_PER_ADDRESS = 10
    for i in range(20):
        make_node(f"m{i:02d}")
    codes = [report(client, "guess", "booted", node=f"m{i:02d}") for i in range(20)]
    assert codes == [403] * 10 + [429] * 10
    assert NodeEvent.objects.filter(kind="rejected").count() == 10
    # Another address still gets through.
    assert report(client, "guess", "booted", node="m00", REMOTE_ADDR="127.0.0.2") == 403


def test_script_requests_are_limited_per_node(client: Client, packed, settings: Any) -> None:
    settings.BOOT_RATE_PER_NODE = 3
    netboot_node(packed)
    codes = [client.get("/boot/ipxe", {"mac": MAC}).status_code for _ in range(6)]
    assert codes == [200] * 3 + [429] * 3


def test_a_flood_of_made_up_macs_records_a_bounded_number(client: Client, settings: Any) -> None:
    settings.BOOT_UNKNOWN_MACS_PER_MINUTE = 5
    for i in range(12):
        mac = f"52:54:00:ab:00:{i:02x}"
        assert client.get("/boot/ipxe", {"mac": mac}).status_code == 200
    assert UnknownMac.objects.count() == 5
    # A MAC already recorded still counts its requests.
    client.get("/boot/ipxe", {"mac": "52:54:00:ab:00:00"})
    assert UnknownMac.objects.get(mac="52:54:00:ab:00:00").requests == 2


def test_nul_bytes_in_boot_requests_are_no_server_error(client: Client, packed) -> None:
    netboot_node(packed)
    version = packed.current_version
    url = f"/boot/images/{packed.imagename}/{version.version}/kernel"
    responses = [
        client.get("/boot/ipxe", {"mac": "52:54:00:aa:bb:cc", "serial": "S\x00N"}),
        client.post("/boot/status", {"node": "n\x0001", "token": "t\x00", "status": "booted"}),
        client.get(url, {"node": "n01\x00", "t": "x\x00"}),
    ]
    assert [r.status_code for r in responses if r.status_code >= 500] == []


def test_an_unknown_mac_s_serial_is_stored_without_control_characters() -> None:
    netboot.script_for("52:54:00:aa:bb:cc", serial="S\x00N\x1b", address="127.0.0.1")
    assert UnknownMac.objects.get(mac="52:54:00:aa:bb:cc").serial == "SN"
