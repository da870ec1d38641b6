"""Names written straight into the database (bypassing validation, as the Django admin used
to) render as text on every page that shows them, delete confirmations included.

Two payloads: ``<img onerror=…>`` (caught by HTML escaping) and ``');alert(1);('`` (which HTML
escaping does NOT stop inside an inline ``onsubmit="…"`` handler: the browser decodes the
entities before running the JavaScript). The page check parses each page like a browser
and fails on the payload in any script element, event-handler attribute or ``javascript:``
link.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from django.utils.html import escape

from images.models import OsImage
from images.tests.factories import make_image
from nodes.models import Group, Node, NodeGroup
from snportal.models import AuditEvent, Job

pytestmark = pytest.mark.django_db

# No "/" in either: the names must also work in URL paths (/nodes/<name>/).
TAG = "<img src=x onerror=alert(1)>"
QUOTE = "');alert(1);('"


class ScriptSinks(HTMLParser):
    """Collects what a browser would run: script bodies, on* attributes, javascript: URLs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.runnable: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_script = tag == "script"
        for name, value in attrs:
            value = value or ""
            if name.startswith("on") or value.strip().lower().startswith("javascript:"):
                self.runnable.append(f"<{tag} {name}={value!r}>")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.runnable.append(data)


def assert_rendered_as_text(html: str, page: str) -> None:
    assert TAG not in html, f"{page}: unescaped {TAG}"
    parser = ScriptSinks()
    parser.feed(html)
    leaked = [code for code in parser.runnable if "alert(1)" in code]
    assert not leaked, f"{page}: payload reaches script: {leaked}"


@pytest.fixture
def hostile_names(settings: Any, tmp_path: Any) -> dict[str, Any]:
    """Objects named like attacks, written with the ORM (no form, no service validation)."""
    settings.IMAGES_DIR = tmp_path / "images"
    settings.CONSOLES_DIR = tmp_path / "consoles"
    objects: dict[str, Any] = {}
    for payload in (TAG, QUOTE):
        group = Group.objects.create(name=f"g{payload}", description=payload)
        node = Node.objects.create(name=f"n{payload}", comments=payload)
        NodeGroup.objects.create(node=node, group=group)
        image = make_image(f"busybox-x86_64-netboot-{len(objects)}")
        OsImage.objects.filter(pk=image.pk).update(imagename=f"i{payload}")
        job = Job.objects.create(kind="rpower", target=payload, func="x", log=payload)
        AuditEvent.objects.create(
            username=payload, verb=payload, object_name=payload, user_agent=payload,
            message=payload,
        )  # fmt: skip
        objects[payload] = {"group": group, "node": node, "job": job, "image": f"i{payload}"}
    return objects


def pages_for(o: dict[str, Any]) -> list[str]:
    node, group = quote(o["node"].name, safe=""), quote(o["group"].name, safe="")
    image = quote(o["image"], safe="")
    return [
        "/",
        "/nodes/",
        f"/nodes/?range={group}",
        "/nodes/groups/",
        f"/nodes/groups/{group}/",
        f"/nodes/{node}/",
        f"/nodes/{node}/edit/",
        f"/nodes/progress/?range={group}",
        "/images/",
        f"/images/{image}/",
        "/consoles/",
        f"/consoles/{node}/",
        f"/consoles/wall/?range={group}",
        "/jobs/",
        f"/jobs/{o['job'].pk}/",
        "/audit/",
        "/users/",
        "/admin/nodes/group/",
        f"/admin/nodes/group/{o['group'].pk}/change/",
        f"/admin/nodes/node/{o['node'].pk}/change/",
    ]


@pytest.mark.parametrize("payload", [TAG, QUOTE])
def test_hostile_names_render_as_text_on_every_page(
    admin_web: Client, hostile_names: dict[str, Any], payload: str
) -> None:
    shown = 0
    for page in pages_for(hostile_names[payload]):
        response = admin_web.get(page)
        assert response.status_code in (200, 400, 404), f"{page} -> {response.status_code}"
        html = response.content.decode()
        assert_rendered_as_text(html, page)
        shown += escape(payload) in html
    assert shown >= 10  # the names really are on the pages, escaped


def test_the_group_delete_confirmation_carries_the_name_as_data(
    admin_web: Client, hostile_names: dict[str, Any]
) -> None:
    group = hostile_names[QUOTE]["group"]
    html = admin_web.get(f"/nodes/groups/{quote(group.name, safe='')}/").content.decode()
    assert 'data-confirm="Delete group g&#x27;);alert(1);(&#x27;? Its nodes remain."' in html
    assert "onsubmit" not in html


def test_the_admin_delete_confirmation_is_gone(
    admin_web: Client, hostile_names: dict[str, Any]
) -> None:
    group = hostile_names[TAG]["group"]
    assert admin_web.get(f"/admin/nodes/group/{group.pk}/delete/").status_code == 403
