"""A BMC password is nowhere in clear: pages, forms, lsdef, audit rows, job logs, the database."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client

from nodes.tests.factories import cli

pytestmark = pytest.mark.django_db
SECRET = "Zq7-very-secret-bmc-pw"
NEW_SECRET = "Zq7-rotated-bmc-pw"


@pytest.fixture
def defined(admin_web: Client) -> None:
    """A node created and changed through the browser, the CLI and a CSV import."""
    admin_web.post(
        "/nodes/new/",
        {
            "name": "node01",
            "bmc": "127.0.0.1:9",
            "bmcusername": "admin",
            "bmcpassword": SECRET,
            "mgt": "ipmi",
            "netboot": "ipxe",
        },
    )
    cli("chdef", "node01", f"bmcpassword={NEW_SECRET}")
    csv = f"name,bmcpassword\nnode02,{SECRET}\n"
    preview = admin_web.post("/nodes/import/", {"text": csv})
    admin_web.post("/nodes/import/", {"payload": preview.context["payload"]})


def all_text_in_the_database() -> str:
    """Every row of every table in the public schema, as PostgreSQL prints it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        tables = [row[0] for row in cursor.fetchall()]
        chunks = []
        for table in tables:
            cursor.execute(f"SELECT string_agg(t::text, E'\\n') FROM \"{table}\" t")
            chunks.append(cursor.fetchone()[0] or "")
    return "\n".join(chunks)


def test_the_password_is_not_in_any_page(defined: None, admin_web: Client) -> None:
    from nodes.models import Node

    pk = Node.objects.get(name="node01").pk
    pages = ["/nodes/", "/nodes/node01/", "/nodes/node01/edit/", "/audit/", "/nodes/node02/"]
    for path in [*pages, f"/admin/nodes/node/{pk}/change/"]:
        html = admin_web.get(path).content.decode()
        assert SECRET not in html and NEW_SECRET not in html, path


def test_the_password_is_not_in_lsdef_output(defined: None) -> None:
    for args in (("lsdef", "-l", "all"), ("lsdef", "-z", "all"), ("nodels", "all", "bmcpassword")):
        out, err = cli(*args)
        assert SECRET not in out + err and NEW_SECRET not in out + err


def test_the_password_is_not_in_the_audit_trail(defined: None) -> None:
    from snportal.models import AuditEvent

    rows = "\n".join(str((r.before, r.after, r.message)) for r in AuditEvent.objects.all())
    assert "bmcpassword" in rows  # the change is recorded…
    assert SECRET not in rows and NEW_SECRET not in rows  # …but not the value


def test_the_password_is_not_in_the_database_in_clear(defined: None) -> None:
    dump = all_text_in_the_database()
    assert "node01" in dump  # the dump does hold the inventory
    assert SECRET not in dump and NEW_SECRET not in dump
