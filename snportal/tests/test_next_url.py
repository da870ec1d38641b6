"""A ``next`` the client sends is followed only when it stays on this site."""

from __future__ import annotations

import pytest
from django.test import Client

from testsupport.personas import PASSWORD

pytestmark = pytest.mark.django_db

OFFSITE = [
    "//evil.example/",
    "/\\evil.example/",
    "/\\/evil.example/",
    "https:evil.example",
    "https://evil.example/",
    "http:/evil.example",
    "javascript:alert(1)",
    "\\\\evil.example",
    " //evil.example",
    "nodes:list",
]


@pytest.mark.parametrize("target", OFFSITE)
def test_login_never_redirects_off_site(operator, client: Client, target: str) -> None:
    response = client.post(
        "/accounts/login/", {"username": operator.username, "password": PASSWORD, "next": target}
    )
    assert response.status_code == 302 and response["Location"] == "/"


def test_login_follows_a_next_on_this_site(operator, client: Client) -> None:
    response = client.post(
        "/accounts/login/",
        {"username": operator.username, "password": PASSWORD, "next": "/nodes/?q=a"},
    )
    assert response["Location"] == "/nodes/?q=a"


@pytest.mark.parametrize("target", OFFSITE)
@pytest.mark.parametrize("action", ["power", "setboot", "netboot"])
def test_node_actions_never_send_back_off_site(
    operator_web: Client, action: str, target: str
) -> None:
    """An invalid selection sends the operator back to ``next``: only to a path here."""
    response = operator_web.post(f"/nodes/{action}/", {"next": target, "action": "nonsense"})
    assert response.status_code == 302 and response["Location"] == "/nodes/"


@pytest.mark.parametrize("target", OFFSITE)
def test_the_netboot_cancel_link_never_points_off_site(operator_web: Client, target: str) -> None:
    from nodes.tests.factories import make_node

    make_node("node01")
    response = operator_web.post("/nodes/netboot/", {"next": target, "node": "node01"})
    assert response.status_code == 200
    assert b'href="/nodes/">Cancel' in response.content
