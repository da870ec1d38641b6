"""The shape every state-changing view takes: POST only, permission checked, denial audited.

Later apps declare their actions with :func:`action` so that the rule is written once:
a viewer who forges a POST gets 403 and leaves an audit row saying so.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST

from snportal import audit

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def action(permission: str, verb: str) -> Callable:
    """Decorate a view as an action needing ``permission``; ``verb`` names it in the audit."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @require_POST
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.has_perm(permission):
                deny(request, permission, verb, str(kwargs.get("name") or kwargs.get("pk") or ""))
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def require_perm(
    request: HttpRequest, permission: str, verb: str = "", name: str = "", object_type: str = ""
) -> None:
    """403 unless the user holds ``permission``; for pages that GET a form and POST a change
    (user edit, node edit) a refused POST is audited as ``verb`` like an action's."""
    if not request.user.has_perm(permission):
        if request.method in SAFE_METHODS:
            raise PermissionDenied(f"Your role may not open this page ({permission}).")
        deny(request, permission, verb, name, object_type)


def deny(
    request: HttpRequest, permission: str, verb: str = "", name: str = "", object_type: str = ""
) -> NoReturn:
    """Refuse a change: one ``denied`` audit row (who, what, from where), then 403.

    The one place every refused change goes through; :class:`snportal.middleware.
    DeniedAuditMiddleware` audits any other 403 to a POST, so no refusal goes unrecorded.
    """
    audit.record(
        verb or view_verb(request),
        request=request,
        object_type=object_type,
        object_name=name,
        outcome="denied",
        message=f"missing permission {permission}",
    )
    request.denial_audited = True
    raise PermissionDenied(f"Your role may not do this ({permission}).")


def view_verb(request: HttpRequest) -> str:
    """A verb for a refusal no view named: the URL's name (``snportal:user_edit``)."""
    match = getattr(request, "resolver_match", None)
    return match.view_name if match is not None and match.view_name else request.path[:64]
