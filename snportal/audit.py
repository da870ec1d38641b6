"""The audit trail: who did what, to what, from where, with which outcome.

Call :func:`record` from views, services and commands. It copies names so the row survives
deletions and masks secrets in before/after so a password never reaches the table.
"""

from __future__ import annotations

import contextvars
import getpass
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from snportal.lib.untrusted import db_json, db_text, header_text
from snportal.models import AuditEvent

MASK = "*******"
_SECRET_KEY = re.compile(r"pass(word)?|secret|token|key$", re.IGNORECASE)


@dataclass(frozen=True)
class Actor:
    """Who is acting and from where; a request or a CLI session."""

    user_id: int | None
    username: str
    ip: str | None = None
    user_agent: str = ""
    request_id: str = ""


_current: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("audit_actor", default=None)


def actor_from_request(request: Any) -> Actor:
    """The actor of a web request (the middleware stamps ip, agent and request id)."""
    user = getattr(request, "user", None)
    authenticated = bool(user is not None and user.is_authenticated)
    return Actor(
        user_id=user.pk if authenticated else None,
        username=user.get_username() if authenticated else "",
        ip=getattr(request, "client_ip", None),
        user_agent=getattr(request, "user_agent", ""),
        request_id=getattr(request, "request_id", ""),
    )


def cli_actor(username: str | None = None) -> Actor:
    """The actor of a management command: the portal user named, else ``<os user>@cli``."""
    from django.contrib.auth import get_user_model

    if username:
        user = get_user_model().objects.filter(username=username).first()
        if user is not None:
            return Actor(user_id=user.pk, username=user.username, user_agent="cli")
    return Actor(user_id=None, username=f"{getpass.getuser()}@cli", user_agent="cli")


def set_actor(actor: Actor | None) -> contextvars.Token:
    """Make ``actor`` the default for :func:`record` in this context (CLI, job bodies)."""
    return _current.set(actor)


def reset_actor(token: contextvars.Token) -> None:
    """Undo a :func:`set_actor`."""
    _current.reset(token)


def current_actor() -> Actor | None:
    return _current.get()


def mask_secrets(data: Any) -> Any:
    """A copy of ``data`` with every secret-looking key's value replaced by the mask."""
    if isinstance(data, Mapping):
        return {
            k: (MASK if _SECRET_KEY.search(str(k)) and v not in (None, "") else mask_secrets(v))
            for k, v in data.items()
        }
    if isinstance(data, list | tuple):
        return [mask_secrets(v) for v in data]
    return data


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[dict, dict]:
    """Only the keys that changed, as (before, after) — what an audit row should show."""
    keys = sorted(set(before) | set(after))
    changed = [k for k in keys if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in changed}, {k: after.get(k) for k in changed}


# One verb prefix per object type: the type's name unless named here. Every osimage verb is
# image.* (image.create … image.genimage, image.rollback); tests/test_audit_verbs.py lists
# every verb in use.
VERB_PREFIX = {"osimage": "image"}


def verb(object_type: str, action: str) -> str:
    """The audit verb for ``action`` on an object of ``object_type``: ``verb("osimage", "x")``
    is ``image.x``, so generic code (lsdef --show-secrets) uses each type's one prefix."""
    return f"{VERB_PREFIX.get(object_type, object_type)}.{action}"


def record(verb: str, **fields: Any) -> AuditEvent:
    """Append one audit row: ``build``'s row (same keyword arguments), saved.

    The actor comes from ``request``, ``actor`` or the context.
    """
    event = build(verb, **fields)
    event.save()
    return event


def build(
    verb: str,
    *,
    request: Any = None,
    actor: Actor | None = None,
    obj: Any = None,
    object_type: str = "",
    object_name: str = "",
    before: Any = None,
    after: Any = None,
    outcome: str = AuditEvent.Outcome.SUCCESS,
    message: str = "",
) -> AuditEvent:
    """An unsaved audit row (for ``bulk_create``), every field cleaned to fit its column.

    Names, agents and messages may carry client input; NUL characters or over-long values
    must never make the insert fail, or a refused login would leave no row (and no throttle).
    """
    if actor is None:
        actor = actor_from_request(request) if request is not None else current_actor()
    actor = actor or Actor(user_id=None, username="system")
    if obj is not None:
        object_type = object_type or obj._meta.model_name
        object_name = object_name or str(obj)
    return AuditEvent(
        user_id=actor.user_id,
        username=db_text(actor.username, 150),
        ip=actor.ip,
        user_agent=header_text(actor.user_agent, 300),
        request_id=header_text(actor.request_id, 36),
        verb=db_text(verb, 64),
        object_type=db_text(object_type, 64),
        object_id=db_text(getattr(obj, "pk", "") or "", 64),
        object_name=db_text(object_name, 255),
        before=db_json(mask_secrets(before)),
        after=db_json(mask_secrets(after)),
        outcome=outcome,
        message=db_text(message),
    )
