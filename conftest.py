"""Shared test fixtures: personas (admin, operator, viewer), logged-in clients, factories."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client

from snportal import roles

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_user(username: str, role: str | None, **extra: Any) -> Any:
    """A user with one role (or none), password ``PASSWORD``."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username=username, password=PASSWORD, **extra)
    if role == roles.ADMIN:
        user.is_staff = user.is_superuser = True
        user.save()
    if role:
        roles.set_role(user, role)
    return user


@pytest.fixture
def admin(db: Any) -> Any:
    return make_user("alice-admin", roles.ADMIN)


@pytest.fixture
def operator(db: Any) -> Any:
    return make_user("oscar-operator", roles.OPERATOR)


@pytest.fixture
def viewer(db: Any) -> Any:
    return make_user("victor-viewer", roles.VIEWER)


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_web(admin: Any) -> Client:
    return logged_in(admin)


@pytest.fixture
def operator_web(operator: Any) -> Client:
    return logged_in(operator)


@pytest.fixture
def viewer_web(viewer: Any) -> Client:
    return logged_in(viewer)


def database_url_for_subprocess() -> str:
    """A DATABASE_URL naming the test database, for real worker/server subprocesses."""
    from django.db import connection

    s = connection.settings_dict
    host = s.get("HOST") or s.get("OPTIONS", {}).get("host", "")
    auth = quote(s.get("USER") or "", safe="")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"], safe="")
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgresql://{auth}@{quote(host, safe='')}{port}/{s['NAME']}"
