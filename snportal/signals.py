"""Login, logout and failed-login audit rows."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from snportal import audit


@receiver(user_logged_in)
def audit_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit.record("login", request=request, object_type="user", object_name=user.get_username())


@receiver(user_logged_out)
def audit_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is None:
        return
    actor = audit.actor_from_request(request)
    actor = audit.Actor(user.pk, user.get_username(), actor.ip, actor.user_agent, actor.request_id)
    audit.record("logout", actor=actor, object_type="user", object_name=user.get_username())


@receiver(user_login_failed)
def audit_failed_login(sender: Any, credentials: dict, request: Any = None, **kwargs: Any) -> None:
    username = str(credentials.get("username", ""))[:150]
    actor = audit.actor_from_request(request) if request is not None else None
    actor = audit.Actor(
        None,
        username,
        actor.ip if actor else None,
        actor.user_agent if actor else "",
        actor.request_id if actor else "",
    )
    audit.record(
        "login_failed",
        actor=actor,
        object_type="user",
        object_name=username,
        outcome="failure",
        message=kwargs.get("reason", "") or "wrong username or password",
    )
