"""User accounts: one service for the Users page and ``manage.py mkuser``."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from snportal import audit, roles


@transaction.atomic
def create_user(
    username: str,
    password: str,
    role: str,
    *,
    email: str = "",
    actor: audit.Actor | None = None,
    request: Any = None,
) -> Any:
    """Create an account with one role and audit it (the password is never recorded)."""
    user = get_user_model().objects.create_user(username=username, email=email, password=password)
    if role == roles.ADMIN:
        user.is_staff = True
        user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
    roles.set_role(user, role)
    audit.record(
        "user.create",
        request=request,
        actor=actor,
        obj=user,
        object_type="user",
        after={"username": username, "email": email, "role": role, "password": password},
    )
    return user


@transaction.atomic
def update_user(user: Any, *, role: str, is_active: bool, email: str, request: Any = None) -> None:
    """Change a user's role, active flag or email; audit the difference."""
    before = {"role": roles.role_of(user), "is_active": user.is_active, "email": user.email}
    user.is_active = is_active
    user.email = email
    user.is_staff = user.is_superuser = role == roles.ADMIN
    user.save()
    roles.set_role(user, role)
    after = {"role": role, "is_active": is_active, "email": email}
    b, a = audit.diff(before, after)
    if b or a:
        audit.record(
            "user.update", request=request, obj=user, object_type="user", before=b, after=a
        )
