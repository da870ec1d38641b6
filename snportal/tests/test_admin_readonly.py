"""The Django admin shows data but never changes it: changes go through validated, audited
portal services."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin import site as admin_site
from django.contrib.auth.models import Group as AuthGroup
from django.test import Client, RequestFactory

from nodes.models import Group

pytestmark = pytest.mark.django_db

EVIL = "<script>alert(1)</script>"


def registry() -> list[tuple[Any, Any]]:
    return list(admin_site._registry.items())


def test_every_registered_model_admin_is_read_only(admin: Any) -> None:
    request = RequestFactory().get("/admin/")
    request.user = admin
    assert registry(), "nothing registered?"
    for model, model_admin in registry():
        name = model._meta.label
        assert not model_admin.has_add_permission(request), name
        assert not model_admin.has_change_permission(request), name
        assert not model_admin.has_delete_permission(request), name
        assert not model_admin.get_actions(request), name
        assert model_admin.has_view_permission(request), name


def test_auth_users_and_groups_and_the_job_queue_are_covered_too() -> None:
    labels = {model._meta.label for model, _ in registry()}
    assert {"auth.User", "auth.Group", "nodes.Group", "django_q.Schedule"} <= labels


def test_a_superuser_cannot_create_a_group_through_the_admin(admin_web: Client) -> None:
    response = admin_web.post("/admin/nodes/group/add/", {"name": EVIL, "description": ""})
    assert response.status_code == 403
    assert not Group.objects.filter(name=EVIL).exists()


def test_a_superuser_cannot_delete_or_rename_through_the_admin(admin_web: Client) -> None:
    group = AuthGroup.objects.get(name="viewer")
    url = f"/admin/auth/group/{group.pk}"
    assert admin_web.post(f"{url}/delete/", {"post": "yes"}).status_code == 403
    assert admin_web.post(f"{url}/change/", {"name": EVIL}).status_code == 403
    assert AuthGroup.objects.filter(name="viewer").exists()


def test_a_superuser_can_still_browse_the_admin(admin_web: Client) -> None:
    assert admin_web.get("/admin/nodes/node/").status_code == 200
