"""A service node's journal forwarded to the portal, and the page that shows it."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from hierarchy import syslogfwd
from hierarchy.models import SyslogLine
from hierarchy.tests.factories import make_sn

pytestmark = pytest.mark.django_db


def journal_line(n: int, message: str, program: str = "dnsmasq", priority: int = 6) -> str:
    return json.dumps(
        {
            "__CURSOR": f"s=abc;i={n}",
            "__REALTIME_TIMESTAMP": str(1_764_590_400_000_000 + n * 1_000_000),
            "_HOSTNAME": "sn01",
            "SYSLOG_IDENTIFIER": program,
            "PRIORITY": str(priority),
            "MESSAGE": message,
        }
    )


def fake_journal(tmp_path: Path, lines: list[str]) -> list[str]:
    """A subprocess that prints journal JSON lines like ``journalctl -f -o json`` and ends."""
    feed = tmp_path / "journal.jsonl"
    feed.write_text("\n".join(lines) + "\n")
    code = "import sys; sys.stdout.write(open(sys.argv[1]).read()); sys.stdout.flush()"
    return [sys.executable, "-c", code, str(feed)]


def test_the_forwarder_writes_journal_lines_from_a_subprocess_in_batches(
    tmp_path: Path, django_assert_max_num_queries: Any
) -> None:
    make_sn("sn01")
    lines = [journal_line(i, f"DHCPACK(eth1) 192.168.78.{i}") for i in range(1, 51)]
    lines.insert(10, "not json at all")
    cursor = tmp_path / "journal.cursor"
    forwarder = syslogfwd.Forwarder(
        "sn01", command=fake_journal(tmp_path, lines), cursor_file=cursor, batch=20
    )
    with django_assert_max_num_queries(8):  # service node lookup + 3 INSERTs + one trim
        assert forwarder.run(threading.Event()) == 50
    rows = SyslogLine.objects.order_by("time")
    assert rows.count() == 50
    first = rows.first()
    assert (first.host, first.program, first.message) == (
        "sn01",
        "dnsmasq",
        "DHCPACK(eth1) 192.168.78.1",
    )
    assert cursor.read_text().strip() == "s=abc;i=50"


def test_a_restarted_forwarder_continues_after_the_saved_cursor(tmp_path: Path) -> None:
    cursor = tmp_path / "journal.cursor"
    cursor.write_text("s=abc;i=7\n")
    forwarder = syslogfwd.Forwarder("sn01", cursor_file=cursor)
    assert "--after-cursor=s=abc;i=7" in forwarder.command
    assert forwarder.command[0] == "journalctl"


def test_binary_journal_messages_and_odd_priorities_are_kept_readable() -> None:
    record = json.loads(journal_line(1, "x"))
    record["MESSAGE"] = list(b"kernel: \xffoops")
    record["PRIORITY"] = "99"
    entry = syslogfwd.parse(json.dumps(record))
    assert entry is not None
    assert entry.message.startswith("kernel: ") and entry.severity == 7


def add_lines(sn: Any) -> None:
    forwarder = syslogfwd.Forwarder("sn01", command=["true"])
    forwarder.write(
        [
            syslogfwd.parse(journal_line(1, "DHCPACK(eth1) 192.168.78.10 c01")),
            syslogfwd.parse(journal_line(2, "Started snportal-agent.service", "systemd")),
            syslogfwd.parse(journal_line(3, "<script>alert(1)</script>", "evil", priority=3)),
        ]
    )


def test_viewer_reads_the_syslog_page_of_a_service_node(viewer_web: Client) -> None:
    add_lines(make_sn("sn01"))
    response = viewer_web.get("/hierarchy/sn01/syslog/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "DHCPACK(eth1) 192.168.78.10 c01" in body
    assert "Started snportal-agent.service" in body
    assert "<script>alert(1)</script>" not in body  # escaped


def test_the_syslog_page_filters_by_text_and_by_program(viewer_web: Client) -> None:
    add_lines(make_sn("sn01"))
    by_text = viewer_web.get("/hierarchy/sn01/syslog/", {"q": "dhcpack"}).content.decode()
    assert "DHCPACK" in by_text and "snportal-agent" not in by_text
    by_program = viewer_web.get("/hierarchy/sn01/syslog/", {"program": "systemd"}).content.decode()
    assert "snportal-agent" in by_program and "DHCPACK" not in by_program


def test_anonymous_is_sent_to_login_for_the_syslog_page(client: Client) -> None:
    make_sn("sn01")
    response = client.get("/hierarchy/sn01/syslog/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_service_node_page_links_to_its_syslog(viewer_web: Client) -> None:
    make_sn("sn01")
    body = viewer_web.get("/nodes/sn01/").content.decode()
    assert 'href="/hierarchy/sn01/syslog/"' in body


def test_the_syslog_page_of_an_unknown_service_node_is_404(viewer_web: Client) -> None:
    assert viewer_web.get("/hierarchy/nope/syslog/").status_code == 404
