"""Service-node enrolment: arming, the one-time secret, refusals, the role's least privilege.

The database role tests run against the real PostgreSQL of the test run: roles are
cluster-wide, so each test names its service node uniquely and drops the role afterwards.
"""

from __future__ import annotations

import hashlib
import tomllib
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.conf import settings as django_settings
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client

import snportal
from hierarchy import enrol, pgrole
from hierarchy.models import ServiceNode
from images.tests.factories import make_image, make_version
from nodes import netboot
from nodes.models import Node, NodeEvent
from nodes.tests.factories import cli, make_node
from snportal import audit
from snportal.models import AuditEvent

ACTOR = audit.Actor(None, "test@cli")
SN_MAC = "52:54:00:78:00:01"


@pytest.fixture
def packed(settings: Any, tmp_path: Path) -> Any:
    """A service image with a current version (files on disk are not needed here)."""
    settings.IMAGES_DIR = tmp_path / "images"
    image = make_image("busybox-x86_64-netboot-service")
    files = {n: {"size": 1, "sha256": "ab" * 32} for n in ("kernel", "initrd", "rootimg.cpio.zst")}
    image.current_version = make_version(image, files=files)
    image.save(update_fields=["current_version"])
    return image


def unique_name() -> str:
    """A service-node name no other test run uses (its role is cluster-wide)."""
    return f"sn{uuid.uuid4().hex[:8]}"


@pytest.fixture
def sn_name(request: Any) -> Any:
    name = unique_name()
    yield name
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [pgrole.role_name(name)])
        exists = cursor.fetchone()
    if exists:
        pgrole.drop(pgrole.role_name(name))


def make_servicenode(name: str, packed_image: Any = None) -> ServiceNode:
    attrs = {"groups": "service", "mac": SN_MAC}
    make_node(name, **attrs)
    node = Node.objects.get(name=name)
    return ServiceNode.objects.create(
        node=node, address="192.168.78.1/24", compute_mac="52:54:00:78:10:01"
    )


def render_secret(client: Client, mac: str = SN_MAC) -> str:
    """The snp.enrol value of the service node's current iPXE script ("" if none)."""
    text = client.get("/boot/ipxe", {"mac": mac}).content.decode()
    kernel = next((line for line in text.splitlines() if line.startswith("kernel ")), "")
    params = dict(p.split("=", 1) for p in kernel.split()[2:] if "=" in p)
    return params.get("snp.enrol", "")


def armed(name: str, packed_image: Any) -> ServiceNode:
    make_servicenode(name)
    netboot.nodeset([name], f"osimage={packed_image.imagename}", actor=ACTOR)
    return ServiceNode.objects.get(node__name=name)


def post_enrol(client: Client, name: str, secret: str, version: str | None = None) -> Any:
    return client.post(
        "/boot/enrol",
        {"node": name, "secret": secret, "version": version or snportal.__version__},
    )


def test_the_version_is_the_one_pyproject_declares() -> None:
    pyproject = tomllib.loads((Path(django_settings.BASE_DIR) / "pyproject.toml").read_text())
    assert snportal.__version__ == pyproject["project"]["version"]


@pytest.mark.django_db
def test_nodeset_of_a_service_node_arms_its_enrolment(packed, sn_name) -> None:
    sn = armed(sn_name, packed)
    assert sn.enrol_armed
    assert AuditEvent.objects.filter(verb="servicenode.arm", object_name=sn_name).exists()


@pytest.mark.django_db
def test_nodeset_of_a_compute_node_arms_nothing(packed) -> None:
    make_node("c01", mac="52:54:00:78:00:20")
    netboot.nodeset(["c01"], f"osimage={packed.imagename}", actor=ACTOR)
    assert not ServiceNode.objects.exists()
    assert render_secret(Client(), "52:54:00:78:00:20") == ""


@pytest.mark.django_db
def test_an_armed_service_nodes_script_carries_a_fresh_secret_kept_only_hashed(
    packed,
    sn_name,
) -> None:
    armed(sn_name, packed)
    first, second = render_secret(Client()), render_secret(Client())
    assert first and second and first != second
    stored = ServiceNode.objects.get(node__name=sn_name).enrol_secret_hash
    assert stored == hashlib.sha256(second.encode()).hexdigest()


@pytest.mark.django_db
def test_enrolment_answers_the_environment_once(packed, sn_name, settings) -> None:
    settings.SN_DATABASE_HOST = "127.0.0.1"
    armed(sn_name, packed)
    client = Client()
    response = post_enrol(client, sn_name, render_secret(client))
    assert response.status_code == 200
    env = response.json()["env"]
    assert env["DATABASE_URL"].startswith(f"postgresql://snp_sn_{sn_name}:")
    assert "@127.0.0.1:" in env["DATABASE_URL"]
    assert env["SNPORTAL_CLUSTER_NAME"] == env["SNPORTAL_SERVICE_NODE"] == sn_name
    assert env["SNPORTAL_BOOT_URL"] == "http://192.168.78.1"
    assert env["SECRET_KEY"] == settings.SECRET_KEY
    sn = ServiceNode.objects.get(node__name=sn_name)
    assert not sn.enrol_armed and sn.enrolled_at and sn.db_role == f"snp_sn_{sn_name}"
    assert sn.api_token_hash == hashlib.sha256(env["SNPORTAL_SN_API_TOKEN"].encode()).hexdigest()


@pytest.mark.django_db
def test_a_second_enrolment_is_refused_until_rearmed(packed, sn_name, settings) -> None:
    settings.SN_DATABASE_HOST = "127.0.0.1"
    armed(sn_name, packed)
    client = Client()
    secret = render_secret(client)
    assert post_enrol(client, sn_name, secret).status_code == 200
    again = post_enrol(client, sn_name, secret)
    assert again.status_code == 403
    assert again.json()["error"] == (
        f"enrolment of {sn_name} is not armed: run nodeset {sn_name} "
        f"osimage={packed.imagename} to re-arm"
    )


@pytest.mark.django_db
def test_an_unarmed_service_node_is_refused(sn_name) -> None:
    make_servicenode(sn_name)
    response = post_enrol(Client(), sn_name, "anything")
    assert response.status_code == 403
    assert "is not armed" in response.json()["error"]


@pytest.mark.django_db
def test_a_wrong_secret_is_refused_audited_and_on_the_timeline(packed, sn_name) -> None:
    armed(sn_name, packed)
    render_secret(Client())
    response = post_enrol(Client(), sn_name, "guessed")
    assert response.status_code == 403
    assert ServiceNode.objects.get(node__name=sn_name).enrol_armed  # still armed for the real one
    assert AuditEvent.objects.filter(
        verb="servicenode.enrol", object_name=sn_name, outcome="denied"
    ).exists()
    assert NodeEvent.objects.filter(node__name=sn_name, kind="rejected").exists()


@pytest.mark.django_db
def test_version_skew_is_refused_naming_both_versions(packed, sn_name) -> None:
    armed(sn_name, packed)
    client = Client()
    response = post_enrol(client, sn_name, render_secret(client), version="0.0.9")
    assert response.status_code == 409
    message = response.json()["error"]
    assert "0.0.9" in message and snportal.__version__ in message
    assert "version skew" in ServiceNode.objects.get(node__name=sn_name).state


@pytest.mark.django_db
def test_enrolment_refuses_a_nul_byte_with_400(sn_name) -> None:
    make_servicenode(sn_name)
    response = Client().post("/boot/enrol", {"node": sn_name, "secret": "a\x00b", "version": "1"})
    assert response.status_code == 400


@pytest.mark.django_db
def test_snenrol_arms_and_revokes_from_the_cli(sn_name) -> None:
    make_servicenode(sn_name)
    out, _ = cli("snenrol", "--arm", sn_name)
    assert out.strip() == f"{sn_name}: armed (enrols once at its next boot)"
    assert ServiceNode.objects.get(node__name=sn_name).enrol_armed
    cli("snenrol", "--revoke", sn_name)
    sn = ServiceNode.objects.get(node__name=sn_name)
    assert not sn.enrol_armed and sn.revoked_at and sn.state == "revoked"
    assert AuditEvent.objects.filter(verb="servicenode.revoke", object_name=sn_name).exists()


@pytest.mark.django_db
def test_snenrol_refuses_a_node_that_is_not_a_service_node() -> None:
    make_node("c01")
    with pytest.raises(CommandError, match="not a service node.*groups=service"):
        cli("snenrol", "--arm", "c01")


@pytest.mark.django_db
def test_snenrol_needs_the_enrol_permission(viewer, sn_name) -> None:
    make_servicenode(sn_name)
    with pytest.raises(CommandError, match="may not do this"):
        cli("snenrol", "--arm", sn_name, "--user", viewer.username)


def role_exists(role: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        return cursor.fetchone() is not None


@pytest.mark.django_db(transaction=True)
def test_the_issued_role_does_a_service_nodes_work_and_nothing_more(
    packed,
    sn_name,
    settings,
) -> None:
    settings.SN_DATABASE_HOST = "127.0.0.1"  # as SNPORTAL_SN_DATABASE_HOST=127.0.0.1 would
    armed(sn_name, packed)
    make_node("c01", servicenode=sn_name, mac="52:54:00:78:00:20", bmcpassword="s3cret")
    client = Client()
    env = post_enrol(client, sn_name, render_secret(client)).json()["env"]
    node_id = Node.objects.get(name="c01").pk
    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as sn:
        sn.execute("UPDATE nodes_node SET status = 'booted' WHERE id = %s", [node_id])
        sn.execute(
            "INSERT INTO nodes_nodeevent (node_id, time, kind, message, data) "
            "VALUES (%s, now(), 'status', 'booted', '{}')",
            [node_id],
        )
        sn.execute(
            "UPDATE hierarchy_servicenode SET heartbeat = now() "
            "WHERE node_id = (SELECT id FROM nodes_node WHERE name = %s)",
            [sn_name],
        )
        # rpower runs on the service node: it decrypts BMC passwords (docs/security.md).
        sn.execute("SELECT bmcpassword_encrypted FROM nodes_node WHERE id = %s", [node_id])
        for forbidden in (
            "UPDATE auth_user SET is_superuser = true",
            "SELECT password FROM auth_user",
            "DELETE FROM snportal_auditevent",
            "SELECT message FROM snportal_auditevent",
            "SELECT session_data FROM django_session",
            "UPDATE nodes_node SET mac = '52:54:00:00:00:99'",
            "UPDATE nodes_node SET bmcpassword_encrypted = ''",
            "UPDATE hierarchy_servicenode SET enrol_armed = true",
            "DELETE FROM nodes_node",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                sn.execute(forbidden)
    assert Node.objects.get(pk=node_id).status == "booted"


@pytest.mark.django_db(transaction=True)
def test_revoke_drops_the_role_and_ends_its_sessions(packed, sn_name, settings) -> None:
    settings.SN_DATABASE_HOST = "127.0.0.1"
    armed(sn_name, packed)
    client = Client()
    env = post_enrol(client, sn_name, render_secret(client)).json()["env"]
    role = f"snp_sn_{sn_name}"
    sn = psycopg.connect(env["DATABASE_URL"], autocommit=True)
    sn.execute("SELECT 1")
    enrol.revoke([sn_name], actor=ACTOR)
    assert not role_exists(role)
    with pytest.raises(psycopg.OperationalError):
        sn.execute("SELECT 1")
    sn.close()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(env["DATABASE_URL"]).close()
    row = ServiceNode.objects.get(node__name=sn_name)
    assert row.db_role == "" and row.api_token_hash == "" and row.revoked_at
