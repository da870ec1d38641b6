"""The osimage edit page: the name is fixed, and the page says so with a disabled field."""

from __future__ import annotations

import pytest
from django.test import Client

from images.tests.factories import make_image


@pytest.mark.django_db
def test_the_image_name_is_disabled_when_editing(admin_web: Client) -> None:
    image = make_image()
    html = admin_web.get(f"/images/{image.imagename}/edit/").content.decode()
    field = html[html.index('name="imagename"') :].split(">", 1)[0]
    assert " disabled" in field


@pytest.mark.django_db
def test_the_image_name_is_editable_for_a_new_image(admin_web: Client) -> None:
    html = admin_web.get("/images/new/").content.decode()
    field = html[html.index('name="imagename"') :].split(">", 1)[0]
    assert " disabled" not in field
