"""Every page needs login; roles decide who may act."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

# The only paths an anonymous client may open. Node-facing boot endpoints (/boot/) join later.
PUBLIC = ("/accounts/login/", "/static/", "/boot/", "/healthz")


def all_paths() -> list[str]:
    """One concrete path per URL pattern, converters filled with plausible values."""
    paths: list[str] = []

    def walk(patterns, prefix: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                route = prefix + str(p.pattern)
                route = re.sub(r"<int:\w+>", "1", route)
                route = re.sub(r"<(?:str|slug|path):\w+>|<\w+>", "x", route)
                route = route.replace("^", "").replace("$", "").replace("\\Z", "")
                if "(?P" in route or "(" in route:  # regex routes (admin internals)
                    route = re.sub(r"\(\?P<\w+>[^)]*\)", "1", route)
                paths.append("/" + route)

    walk(get_resolver().url_patterns, "")
    return sorted(set(paths))


def test_url_walk_finds_the_portal_pages() -> None:
    paths = all_paths()
    assert "/jobs/" in paths and "/audit/" in paths and "/users/" in paths


@pytest.mark.parametrize("path", all_paths())
def test_anonymous_is_sent_to_login_everywhere_but_public_paths(path: str, client: Client) -> None:
    if path.startswith(PUBLIC):
        return
    response = client.get(path)
    assert response.status_code == 302, f"{path} answered {response.status_code} to anonymous"
    assert response["Location"].startswith("/accounts/login/?next=")


def test_dashboard_shows_real_counts(viewer_web: Client) -> None:
    from nodes.models import Node

    Node.objects.create(name="n1")
    Node.objects.create(name="n2")
    response = viewer_web.get("/")
    assert response.status_code == 200
    assert b'data-testid="node-count">2<' in response.content


def test_layout_names_the_user_and_role(operator_web: Client, operator) -> None:
    html = operator_web.get("/").content.decode()
    assert operator.username in html and "operator" in html


def test_viewer_cannot_open_users_page(viewer_web: Client) -> None:
    assert viewer_web.get("/users/").status_code == 403


def test_operator_cannot_open_users_page(operator_web: Client) -> None:
    assert operator_web.get("/users/").status_code == 403


def test_django_admin_is_for_admins_only(operator_web: Client, admin_web: Client) -> None:
    assert operator_web.get("/admin/").status_code == 302
    assert admin_web.get("/admin/").status_code == 200
