"""Users with one role each and logged-in test clients: the personas every test speaks of."""

from __future__ import annotations

from typing import Any

from django.test import Client

from snportal import roles

PASSWORD = "correct-horse-battery-staple"


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


def logged_in(user: Any) -> Client:
    """A test client with ``user``'s session, without going through the login form."""
    client = Client()
    client.force_login(user)
    return client
