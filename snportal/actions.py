"""The shape every state-changing view takes: POST only, permission checked, denial audited.

Later apps declare their actions with :func:`action` so that the rule is written once:
a viewer who forges a POST gets 403 and leaves an audit row saying so.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST

from snportal import audit


def action(permission: str, verb: str) -> Callable:
    """Decorate a view as an action needing ``permission``; ``verb`` names it in the audit."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @require_POST
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.has_perm(permission):
                audit.record(
                    verb,
                    request=request,
                    object_name=str(kwargs.get("name") or kwargs.get("pk") or ""),
                    outcome="denied",
                    message=f"missing permission {permission}",
                )
                raise PermissionDenied(f"Your role may not do this ({permission}).")
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def require_perm(request: HttpRequest, permission: str) -> None:
    """For GET pages that only some roles may open (e.g. Users): 403 otherwise."""
    if not request.user.has_perm(permission):
        raise PermissionDenied(f"Your role may not open this page ({permission}).")
