"""Console pages and tickets: who may open what, and in which mode."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from consoles import tickets
from consoles.capture import ConsoleLog
from nodes.models import Group, Node, NodeGroup
from snportal.models import AuditEvent


def make_node(name: str, **overrides: Any) -> Node:
    fields = {"bmc": "127.0.0.1:16000", "bmcusername": "admin", "cons": "ipmi"} | overrides
    return Node.objects.create(name=name, **fields)


def granted(response: Any) -> tickets.Ticket:
    url = response.json()["url"]
    return tickets.verify(url.split("ticket=", 1)[1], 30)


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_login() -> None:
    make_node("n1")
    response = Client().get("/consoles/n1/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


@pytest.mark.django_db
def test_a_viewer_sees_a_read_only_console_without_send_break(viewer_web: Client) -> None:
    make_node("n1")
    page = viewer_web.get("/consoles/n1/").content.decode()
    assert 'data-testid="read-only"' in page and "Send Break" not in page


@pytest.mark.django_db
def test_an_operator_sees_send_break_and_no_read_only_badge(operator_web: Client) -> None:
    make_node("n1")
    page = operator_web.get("/consoles/n1/").content.decode()
    assert "Send Break" in page and 'data-testid="read-only"' not in page


@pytest.mark.django_db
def test_a_viewer_gets_a_view_ticket_even_when_asking_to_write(viewer_web: Client) -> None:
    make_node("n1")
    response = viewer_web.post("/consoles/ticket/", {"node": "n1", "mode": "write"})
    grant = granted(response)
    assert (grant.mode, grant.nodes, grant.username) == ("view", ("n1",), "victor-viewer")
    assert "/ws/console/n1?ticket=" in response.json()["url"]


@pytest.mark.django_db
def test_an_operator_gets_a_write_ticket(operator_web: Client) -> None:
    make_node("n1")
    assert granted(operator_web.post("/consoles/ticket/", {"node": "n1"})).mode == "write"


@pytest.mark.django_db
def test_a_user_without_role_gets_no_ticket(db: Any) -> None:
    from testsupport.personas import logged_in, make_user

    make_node("n1")
    response = logged_in(make_user("nobody", None)).post("/consoles/ticket/", {"node": "n1"})
    assert response.status_code == 403


@pytest.mark.django_db
def test_a_wall_ticket_names_every_node_of_the_group(viewer_web: Client) -> None:
    lab = Group.objects.create(name="lab")
    for name in ("lab01", "lab02", "other"):
        node = make_node(name)
        if name.startswith("lab"):
            NodeGroup.objects.create(node=node, group=lab)
    response = viewer_web.post("/consoles/ticket/", {"range": "lab"})
    assert granted(response).nodes == ("lab01", "lab02")
    assert "/ws/wall?ticket=" in response.json()["url"]


@pytest.mark.django_db
def test_the_wall_page_shows_one_tile_per_node_with_its_status(viewer_web: Client) -> None:
    make_node("lab01", status="booted")
    make_node("lab02")
    page = viewer_web.get("/consoles/wall/", {"range": "lab01,lab02"}).content.decode()
    assert page.count("data-tile=") == 2 and "booted" in page


@pytest.mark.django_db
def test_the_wall_page_explains_an_unknown_noderange(viewer_web: Client) -> None:
    page = viewer_web.get("/consoles/wall/", {"range": "ghost01"}).content.decode()
    assert "ghost01" in page and "data-tile=" not in page


@pytest.mark.django_db
def test_the_console_list_links_every_ipmi_console(viewer_web: Client) -> None:
    make_node("n1")
    make_node("n2", cons="")
    page = viewer_web.get("/consoles/").content.decode()
    assert "/consoles/n1/" in page and "/consoles/n2/" not in page


@pytest.fixture
def n1_log(settings: Any, tmp_path: Path) -> Callable[..., None]:
    """Node n1 and its console log in CONSOLES_DIR; call it with (unix time, bytes) entries,
    each written at that time."""
    settings.CONSOLES_DIR = tmp_path
    make_node("n1")

    def write(*entries: tuple[float, bytes]) -> None:
        now = [entries[0][0]]
        log = ConsoleLog(tmp_path, "n1", clock=lambda: now[0])
        for when, data in entries:
            now[0] = when
            log.write(data)
        log.close()

    return write


@pytest.mark.django_db
def test_the_log_downloads_as_an_audited_attachment(
    viewer_web: Client, n1_log: Callable[..., None]
) -> None:
    n1_log((time.time(), b"Linux version 6.1\r\n"))
    response = viewer_web.get("/consoles/n1/log/")
    assert response["Content-Disposition"] == 'attachment; filename="n1.log"'
    assert b"".join(response.streaming_content) == b"Linux version 6.1\r\n"
    assert AuditEvent.objects.filter(verb="console.log", object_name="n1").exists()


@pytest.mark.django_db
def test_the_log_answers_what_the_console_said_at_a_time(
    viewer_web: Client, n1_log: Callable[..., None]
) -> None:
    start = time.time() - 600
    n1_log((start, b"early\r\n"), (start + 300, b"later\r\n"))
    at = dt.datetime.fromtimestamp(start + 310, dt.UTC).isoformat(timespec="seconds")
    response = viewer_web.get("/consoles/n1/log/", {"at": at})
    assert response.content == b"later\r\n"
