"""nodeset, the node-facing boot service and status reports (no VM; see tests/ for qemu)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from images.tests.factories import make_image
from nodes import netboot
from nodes.models import Node, NodeEvent
from nodes.tests.bootkit import MAC, ipxe_script, kernel_params, netboot_node
from nodes.tests.factories import ACTOR, cli, make_node
from snportal.models import AuditEvent, Job

pytestmark = pytest.mark.django_db


def test_nodeset_sets_many_nodes_in_a_few_queries(packed, django_assert_max_num_queries) -> None:
    for i in range(30):
        make_node(f"n{i:02d}", mac=f"52:54:00:00:01:{i:02x}")
    names = [f"n{i:02d}" for i in range(30)]
    with django_assert_max_num_queries(10):
        results = netboot.nodeset(names, f"osimage={packed.imagename}", actor=ACTOR)
    assert all(r.ok for r in results.values())
    assert Node.objects.filter(currstate=f"netboot {packed.imagename}").count() == 30
    assert NodeEvent.objects.filter(kind="nodeset").count() == 30
    assert AuditEvent.objects.filter(verb="node.nodeset").count() == 1


def test_nodeset_refuses_a_node_without_a_mac_and_says_how_to_fix_it(packed) -> None:
    make_node("n01")
    results = netboot.nodeset(["n01"], f"osimage={packed.imagename}", actor=ACTOR)
    assert not results["n01"].ok and "mac=" in results["n01"].error


def test_nodeset_refuses_an_image_that_was_never_packed() -> None:
    make_node("n01", mac=MAC)
    image = make_image("busybox-x86_64-netboot-fresh")
    results = netboot.nodeset(["n01"], f"osimage={image.imagename}", actor=ACTOR)
    assert "run packimage busybox-x86_64-netboot-fresh first" in results["n01"].error
    assert Node.objects.get(name="n01").currstate == ""


def test_nodeset_cli_prints_xcat_lines(packed) -> None:
    make_node("n01", mac=MAC)
    out, _ = cli("nodeset", "n01", f"osimage={packed.imagename}")
    assert out.strip() == f"n01: netboot {packed.imagename}"
    out, _ = cli("nodeset", "n01", "stat")
    assert out.strip() == f"n01: netboot {packed.imagename}"


def test_netboot_script_carries_the_boot_protocol(client: Client, packed) -> None:
    node = netboot_node(packed)
    text = ipxe_script(client)
    assert text.startswith("#!ipxe")
    params = kernel_params(text)
    node.refresh_from_db()
    assert params["snp.node"] == "n01" and params["snp.token"] == node.boot_token
    assert params["snp.status"] == "http://10.0.2.100/boot/status"
    assert params["snp.sha256"] == packed.current_version.files["rootimg.cpio.zst"]["sha256"]
    assert "console=ttyS0,115200n8" in text


def test_a_node_with_xcatmaster_is_sent_to_it(client: Client, packed) -> None:
    make_node("n01", mac=MAC, xcatmaster="192.0.2.5:8080")
    netboot.nodeset(["n01"], f"osimage={packed.imagename}", actor=ACTOR)
    assert "snp.status=http://192.0.2.5:8080/boot/status" in ipxe_script(client)


def test_local_boot_and_offline_states_render_their_scripts(client: Client, packed) -> None:
    make_node("n01", mac=MAC)
    netboot.nodeset(["n01"], "boot", actor=ACTOR)
    assert "exit" in ipxe_script(client) and "kernel" not in ipxe_script(client)
    netboot.nodeset(["n01"], "offline", actor=ACTOR)
    assert "offline" in ipxe_script(client)


def test_artifacts_need_the_node_s_current_token(client: Client, packed) -> None:
    netboot_node(packed)
    kernel_url = next(
        line for line in ipxe_script(client).splitlines() if line.startswith("kernel ")
    )
    url = kernel_url.split()[1].removeprefix("http://10.0.2.100")
    assert client.get(url).status_code == 200
    assert client.get(url.replace("&t=", "&t=x")).status_code == 403


def test_another_node_s_token_does_not_open_this_image(client: Client, packed) -> None:
    netboot_node(packed)
    make_node("n02", mac="52:54:00:00:00:02")
    ipxe_script(client)
    token = Node.objects.get(name="n01").boot_token
    response = client.get(
        f"/boot/images/{packed.imagename}/{packed.current_version.version}/kernel",
        {"node": "n02", "t": token},
    )
    assert response.status_code == 403


def test_artifacts_support_ranges_and_etags(client: Client, packed) -> None:
    netboot_node(packed)
    ipxe_script(client)
    node = Node.objects.get(name="n01")
    url = f"/boot/images/{packed.imagename}/{packed.current_version.version}/rootimg.cpio.zst"
    query = {"node": "n01", "t": node.boot_token}
    full = client.get(url, query)
    body = b"".join(full.streaming_content)
    assert full["Content-Length"] == str(len(body)) == "2048"
    part = client.get(url, query, HTTP_RANGE="bytes=10-19")
    assert part.status_code == 206 and part["Content-Range"] == "bytes 10-19/2048"
    assert b"".join(part.streaming_content) == body[10:20]
    tail = client.get(url, query, HTTP_RANGE="bytes=-5")
    assert b"".join(tail.streaming_content) == body[-5:]
    assert client.get(url, query, HTTP_RANGE="bytes=4000-").status_code == 416
    assert client.get(url, query, HTTP_IF_NONE_MATCH=full["ETag"]).status_code == 304


def test_status_report_with_the_token_moves_the_node_on(client: Client, packed) -> None:
    netboot_node(packed)
    params = kernel_params(ipxe_script(client))
    response = client.post(
        "/boot/status", {"node": "n01", "token": params["snp.token"], "status": "netbooting"}
    )
    assert response.status_code == 200
    assert Node.objects.get(name="n01").status == "netbooting"


def test_status_report_with_a_wrong_token_is_refused_and_noted(client: Client, packed) -> None:
    netboot_node(packed)
    ipxe_script(client)
    response = client.post("/boot/status", {"node": "n01", "token": "guess", "status": "booted"})
    assert response.status_code == 403
    node = Node.objects.get(name="n01")
    assert node.status != "booted"
    assert NodeEvent.objects.filter(node=node, kind="rejected").exists()


def test_a_failed_report_keeps_its_reason(client: Client, packed) -> None:
    netboot_node(packed)
    token = kernel_params(ipxe_script(client))["snp.token"]
    client.post(
        "/boot/status",
        {"node": "n01", "token": token, "status": "failed", "reason": "checksum mismatch"},
    )
    node = Node.objects.get(name="n01")
    assert (node.status, node.statusdetail) == ("failed", "checksum mismatch")


def test_a_node_silent_past_its_timeout_fails_with_its_last_stage(client: Client, packed) -> None:
    netboot_node(packed)
    ipxe_script(client)
    Node.objects.filter(name="n01").update(
        status="netbooting", statustime=timezone.now() - timedelta(hours=1)
    )
    assert netboot.mark_stuck() == ["n01"]
    node = Node.objects.get(name="n01")
    assert node.status == "failed"
    assert "while netbooting; last stage: script served" in node.statusdetail


def test_viewer_cannot_netboot(viewer_web: Client, packed) -> None:
    make_node("n01", mac=MAC)
    response = viewer_web.post(
        "/nodes/netboot/", {"node": "n01", "osimage": packed.imagename, "confirm": "1"}
    )
    assert response.status_code == 403
    assert not Job.objects.exists()


def test_operator_is_asked_to_confirm_then_a_job_is_queued(
    operator_web: Client, packed, django_capture_on_commit_callbacks
) -> None:
    make_node("n01", mac=MAC)
    page = operator_web.post("/nodes/netboot/", {"node": "n01"})
    assert page.status_code == 200 and b"Netboot 1 node" in page.content
    assert packed.imagename.encode() in page.content
    with django_capture_on_commit_callbacks() as callbacks:
        response = operator_web.post(
            "/nodes/netboot/", {"node": "n01", "osimage": packed.imagename, "confirm": "1"}
        )
    job = Job.objects.get(kind="rinstall")
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    assert job.params["nodes"] == ["n01"]
    request_row = AuditEvent.objects.get(verb="node.rinstall.request")
    assert request_row.username == "oscar-operator" and request_row.ip == "127.0.0.1"
    from django_q.models import OrmQ

    assert not OrmQ.objects.exists()  # queued for the workers only after commit
    for callback in callbacks:
        callback()
    assert OrmQ.objects.count() == 1


def test_unknown_macs_page_lists_them(viewer_web: Client, client: Client) -> None:
    client.get("/boot/ipxe", {"mac": "52:54:00:aa:bb:cc"})
    assert b"52:54:00:aa:bb:cc" in viewer_web.get("/nodes/unknown-macs/").content


def test_rinstall_cli_names_each_node_that_cannot_be_powered(packed) -> None:
    from django.core.management.base import CommandError

    make_node("n01", mac=MAC)
    with pytest.raises(CommandError, match="1 of 1 node"):
        cli("rinstall", "n01", f"osimage={packed.imagename}")
    job = Job.objects.get(kind="rinstall")
    assert "no BMC address" in job.results["n01"]["error"]
    assert Node.objects.get(name="n01").currstate == f"netboot {packed.imagename}"
