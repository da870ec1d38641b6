"""Login, logout, failed logins and their throttle, all in the audit trail."""

from __future__ import annotations

import pytest
from django.test import Client

from snportal.models import AuditEvent
from testsupport.personas import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_page_is_styled_and_open(client: Client) -> None:
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b"bootstrap.min.css" in response.content


def test_successful_login_is_audited_with_address_and_agent(operator) -> None:
    client = Client(HTTP_USER_AGENT="pytest-browser/1.0")
    response = client.post(
        "/accounts/login/", {"username": operator.username, "password": PASSWORD}
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(verb="login")
    assert (event.username, event.user_id) == (operator.username, operator.pk)
    assert event.ip == "127.0.0.1"
    assert event.user_agent == "pytest-browser/1.0"
    assert event.request_id


def test_failed_login_is_audited_as_failure(operator, client: Client) -> None:
    client.post("/accounts/login/", {"username": operator.username, "password": "wrong"})
    event = AuditEvent.objects.get(verb="login_failed")
    assert event.object_name == operator.username
    assert event.outcome == "failure"
    assert event.user_id is None


def test_logout_is_audited(operator, client: Client) -> None:
    client.post("/accounts/login/", {"username": operator.username, "password": PASSWORD})
    client.post("/accounts/logout/")
    assert AuditEvent.objects.filter(verb="logout", username=operator.username).exists()


def test_repeated_failures_lock_the_account_even_with_the_right_password(
    operator, client: Client, settings
) -> None:
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(3):
        client.post("/accounts/login/", {"username": operator.username, "password": "wrong"})
    response = client.post(
        "/accounts/login/", {"username": operator.username, "password": PASSWORD}
    )
    assert response.status_code == 200
    assert b"Too many failed logins" in response.content
    assert "_auth_user_id" not in client.session


def test_failures_for_one_account_do_not_lock_another(operator, viewer, settings) -> None:
    settings.LOGIN_FAILURE_LIMIT = 3
    attacker = Client()
    for _ in range(3):
        attacker.post("/accounts/login/", {"username": operator.username, "password": "wrong"})
    other = Client(REMOTE_ADDR="127.0.0.9")
    response = other.post("/accounts/login/", {"username": viewer.username, "password": PASSWORD})
    assert response.status_code == 302
