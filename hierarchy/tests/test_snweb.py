"""A service node's web role: boot scripts pointing at itself, artifacts from its cache,
and the management node's cache endpoint that fills it."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from hierarchy.snweb import hash_token
from hierarchy.tests.factories import make_sn
from images.tests.factories import make_image, make_version
from nodes import netboot
from nodes.tests.factories import make_node
from snportal import audit

TOKEN = "sn01-api-token-for-tests"
MAC = "52:54:00:00:01:01"
SN_URL = "http://192.168.78.1"


@pytest.fixture
def packed(settings: Any, tmp_path: Path) -> Any:
    settings.IMAGES_DIR = tmp_path / "images"
    settings.CACHE_DIR = tmp_path / "cache"
    image = make_image()
    bodies = {"kernel": b"K" * 2048, "initrd": b"I" * 512, "rootimg.cpio.zst": b"R" * 4096}
    files = {
        n: {"size": len(b), "sha256": hashlib.sha256(b).hexdigest()} for n, b in bodies.items()
    }
    version = make_version(image, files=files)
    for name, body in bodies.items():
        (version.path / name).write_bytes(body)
    image.current_version = version
    image.save(update_fields=["current_version"])
    sn = make_sn("sn01")
    sn.api_token_hash = hash_token(TOKEN)
    sn.save()
    make_node("c01", mac=MAC, servicenode="sn01", xcatmaster="10.9.9.9")
    netboot.nodeset(["c01"], f"osimage={image.imagename}", actor=audit.Actor(None, "t"))
    return version


@pytest.fixture
def service_role(settings: Any) -> None:
    settings.ROLE = "service"
    settings.SERVICE_NODE = "sn01"
    settings.BOOT_URL = SN_URL
    settings.SN_API_TOKEN = TOKEN


def urls_of(script: str) -> list[str]:
    words = " ".join(line for line in script.splitlines() if line.startswith(("kernel", "initrd")))
    return [w.split("=", 1)[1] if w.startswith("snp.") else w for w in words.split() if "://" in w]


@pytest.mark.django_db
def test_service_node_scripts_point_every_url_at_the_service_node(
    packed: Any, service_role: None, client: Client
) -> None:
    script = client.get("/boot/ipxe", {"mac": MAC}).content.decode()
    urls = urls_of(script)
    assert len(urls) == 4  # kernel, initrd, snp.status, snp.root
    assert all(u.startswith(f"{SN_URL}/boot/") for u in urls), urls


@pytest.mark.django_db
def test_management_node_scripts_keep_the_nodes_xcatmaster(packed: Any, client: Client) -> None:
    script = client.get("/boot/ipxe", {"mac": MAC}).content.decode()
    assert all(u.startswith("http://10.9.9.9/boot/") for u in urls_of(script))


@pytest.mark.django_db(transaction=True)
def test_service_node_serves_artifacts_from_its_cache_filled_by_the_management_node(
    packed: Any, service_role: None, settings: Any, live_server: Any
) -> None:
    settings.MN_URL = live_server.url  # this process plays both: the SN view, the MN endpoint
    sn_web = Client()
    script = sn_web.get("/boot/ipxe", {"mac": MAC}).content.decode()
    kernel_url = next(u for u in urls_of(script) if "/kernel?" in u)
    response = sn_web.get(kernel_url.removeprefix(SN_URL))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"K" * 2048
    cached = settings.CACHE_DIR / "objects" / packed.files["kernel"]["sha256"]
    assert cached.read_bytes() == b"K" * 2048


@pytest.mark.django_db
def test_service_node_answers_503_when_the_management_node_cannot_be_reached(
    packed: Any, service_role: None, settings: Any
) -> None:
    settings.MN_URL = "http://127.0.0.1:9"  # discard port: nothing listens
    sn_web = Client()
    script = sn_web.get("/boot/ipxe", {"mac": MAC}).content.decode()
    kernel_url = next(u for u in urls_of(script) if "/kernel?" in u)
    response = sn_web.get(kernel_url.removeprefix(SN_URL))
    assert response.status_code == 503
    assert b"cannot fetch" in response.content


@pytest.mark.django_db
def test_service_node_records_status_reports_of_its_nodes(
    packed: Any, service_role: None, client: Client
) -> None:
    from nodes.models import Node

    script = client.get("/boot/ipxe", {"mac": MAC}).content.decode()
    token = next(w for w in script.split() if w.startswith("snp.token=")).split("=", 1)[1]
    response = client.post("/boot/status", {"node": "c01", "token": token, "status": "booted"})
    assert response.status_code == 200
    assert Node.objects.get(name="c01").status == "booted"


@pytest.mark.django_db
def test_service_node_mounts_only_the_boot_service(packed: Any, settings: Any) -> None:
    settings.ROOT_URLCONF = "config.urls_service"
    client = Client()
    assert client.get("/boot/ipxe", {"mac": MAC}).status_code == 200
    assert client.get("/accounts/login/").status_code == 404
    assert client.get("/boot/cache/1/kernel").status_code == 404


@pytest.mark.django_db
def test_cache_endpoint_serves_a_service_node_with_a_valid_token(
    packed: Any, client: Client
) -> None:
    response = client.get(
        f"/boot/cache/{packed.pk}/kernel", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"K" * 2048


@pytest.mark.django_db
@pytest.mark.parametrize("header", ["", "Bearer wrong-token", f"Basic {TOKEN}"])
def test_cache_endpoint_refuses_without_a_valid_token(
    packed: Any, client: Client, header: str
) -> None:
    response = client.get(f"/boot/cache/{packed.pk}/kernel", headers={"Authorization": header})
    assert response.status_code == 403


@pytest.mark.django_db
def test_cache_endpoint_refuses_a_revoked_service_node(packed: Any, client: Client) -> None:
    from hierarchy.models import ServiceNode

    ServiceNode.objects.filter(node__name="sn01").update(revoked_at=timezone.now())
    response = client.get(
        f"/boot/cache/{packed.pk}/kernel", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code == 403


@pytest.mark.django_db
def test_runsnweb_refuses_to_run_on_the_management_node() -> None:
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="SNPORTAL_ROLE=service"):
        call_command("runsnweb")
