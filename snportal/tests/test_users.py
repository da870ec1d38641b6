"""Admins manage users; every change is audited without the password."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from snportal import roles
from snportal.models import AuditEvent

pytestmark = pytest.mark.django_db

NEW_USER = {"username": "olga", "email": "", "role": "operator", "password": "s3cret-Passphrase!"}


def test_admin_creates_an_operator(admin_web: Client) -> None:
    response = admin_web.post("/users/new/", NEW_USER)
    assert response.status_code == 302
    user = get_user_model().objects.get(username="olga")
    assert roles.role_of(user) == "operator"
    assert user.check_password(NEW_USER["password"])


def test_user_creation_is_audited_without_the_password(admin_web: Client, admin) -> None:
    admin_web.post("/users/new/", NEW_USER)
    event = AuditEvent.objects.get(verb="user.create")
    assert event.username == admin.username and event.object_name == "olga"
    assert event.after["role"] == "operator"
    assert NEW_USER["password"] not in str(event.after)


def test_operator_cannot_create_users_and_the_attempt_is_audited(operator_web: Client) -> None:
    response = operator_web.post("/users/new/", NEW_USER)
    assert response.status_code == 403
    assert not get_user_model().objects.filter(username="olga").exists()
    assert AuditEvent.objects.filter(verb="user.create", outcome="denied").exists()


def test_duplicate_username_is_refused_with_a_message_naming_it(
    admin_web: Client, operator
) -> None:
    response = admin_web.post("/users/new/", {**NEW_USER, "username": operator.username})
    assert response.status_code == 400
    assert (
        f"A user named &#x27;{operator.username}&#x27; already exists" in response.content.decode()
    )


def test_weak_password_is_refused_on_the_password_field(admin_web: Client) -> None:
    response = admin_web.post("/users/new/", {**NEW_USER, "password": "12345678"})
    assert response.status_code == 400
    assert not get_user_model().objects.filter(username="olga").exists()


def test_changing_a_role_is_audited_as_before_and_after(admin_web: Client, viewer) -> None:
    admin_web.post(f"/users/{viewer.pk}/", {"role": "operator", "is_active": "on"})
    viewer.refresh_from_db()
    assert roles.role_of(viewer) == "operator"
    event = AuditEvent.objects.get(verb="user.update")
    assert event.before == {"role": "viewer"} and event.after == {"role": "operator"}


def test_admin_cannot_demote_themselves(admin_web: Client, admin) -> None:
    response = admin_web.post(f"/users/{admin.pk}/", {"role": "viewer", "is_active": "on"})
    assert response.status_code == 200
    assert roles.role_of(admin) == "admin"


def test_mkuser_creates_a_user_with_a_role(capsys) -> None:
    call_command("mkuser", "scripted", "--role", "viewer")
    out = capsys.readouterr().out
    assert "scripted: created with role viewer" in out and "password" in out
    assert roles.role_of(get_user_model().objects.get(username="scripted")) == "viewer"
    assert AuditEvent.objects.get(verb="user.create").username.endswith("@cli")


def test_ensure_admin_uses_the_configured_password(monkeypatch) -> None:
    monkeypatch.setenv("SNPORTAL_ADMIN_PASSWORD", "from-the-environment-123")
    call_command("ensure_admin")
    user = get_user_model().objects.get(username="admin")
    assert user.is_superuser and user.check_password("from-the-environment-123")


def test_ensure_admin_leaves_an_existing_admin_alone(admin, capsys) -> None:
    call_command("ensure_admin")
    assert "admin account exists" in capsys.readouterr().out
    assert get_user_model().objects.count() == 1


def test_roles_nest_viewer_in_operator_in_admin(admin, operator, viewer) -> None:
    assert viewer.has_perm("nodes.view_node") and not viewer.has_perm("nodes.power_node")
    assert operator.has_perm("nodes.power_node") and not operator.has_perm("nodes.change_node")
    assert admin.has_perm("nodes.change_node")


def test_nobody_is_granted_audit_edits(admin) -> None:
    from django.contrib.auth.models import Group

    admin_group = Group.objects.get(name="admin")
    codes = set(admin_group.permissions.values_list("codename", flat=True))
    assert "change_auditevent" not in codes and "delete_auditevent" not in codes


@pytest.mark.django_db(transaction=True)
def test_roles_come_back_after_a_database_flush() -> None:
    """flush (as transactional tests do) re-runs post_migrate; the three groups return, and
    the app registry is left intact for the next flush."""
    from django.contrib.auth.models import Group

    for _ in range(2):
        call_command("flush", interactive=False, verbosity=0)
        assert set(Group.objects.values_list("name", flat=True)) == set(roles.ROLES)
    assert Group.objects.get(name="operator").permissions.filter(codename="power_node").exists()
