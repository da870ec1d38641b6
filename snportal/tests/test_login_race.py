"""The login throttle holds under parallel guesses: check-and-record is one atomic step."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client

from snportal import roles
from snportal.models import AuditEvent
from testsupport.personas import make_user

GUESSES = 15


def logins_in_parallel(credentials: list[tuple[str, str]]) -> list[int]:
    """Wrong-password logins released at the same instant, one thread (and one database
    connection) each, as an attacker's parallel requests would arrive; their statuses."""
    barrier = threading.Barrier(len(credentials))
    statuses: list[int] = []

    def guess(username: str, password: str) -> None:
        try:
            client = Client()
            barrier.wait()
            response = client.post("/accounts/login/", {"username": username, "password": password})
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=guess, args=pair) for pair in credentials]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


@pytest.mark.django_db(transaction=True)
def test_parallel_guesses_check_at_most_the_limit_of_passwords(settings) -> None:
    settings.LOGIN_FAILURE_LIMIT = 5
    make_user("target", roles.OPERATOR)
    statuses = logins_in_parallel([("target", f"x{n}") for n in range(GUESSES)])
    assert statuses == [200] * GUESSES
    checked = AuditEvent.objects.filter(verb="login_failed", object_name="target").count()
    assert checked == 5


@pytest.mark.django_db(transaction=True)
def test_parallel_guesses_across_accounts_from_one_address_are_bounded_too(settings) -> None:
    settings.LOGIN_FAILURE_LIMIT = 1  # per address: 4 failures
    make_user("target", roles.OPERATOR)
    statuses = logins_in_parallel([(f"user{n}", "x") for n in range(GUESSES)])
    assert len(statuses) == GUESSES
    assert AuditEvent.objects.filter(verb="login_failed", ip="127.0.0.1").count() == 4
