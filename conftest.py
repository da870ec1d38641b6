"""Shared test fixtures: personas (admin, operator, viewer) and logged-in clients.

The helpers behind them live in ``testsupport/``; test modules import them from there.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from snportal import roles

# Re-exported for tests written against conftest; new code imports from testsupport.
from testsupport.personas import PASSWORD, logged_in, make_user
from testsupport.processes import database_url_for_subprocess
from testsupport.waiting import wait_until

__all__ = ["PASSWORD", "database_url_for_subprocess", "logged_in", "make_user", "wait_until"]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def admin(db: Any) -> Any:
    return make_user("alice-admin", roles.ADMIN)


@pytest.fixture
def operator(db: Any) -> Any:
    return make_user("oscar-operator", roles.OPERATOR)


@pytest.fixture
def viewer(db: Any) -> Any:
    return make_user("victor-viewer", roles.VIEWER)


@pytest.fixture
def admin_web(admin: Any) -> Client:
    return logged_in(admin)


@pytest.fixture
def operator_web(operator: Any) -> Client:
    return logged_in(operator)


@pytest.fixture
def viewer_web(viewer: Any) -> Client:
    return logged_in(viewer)
