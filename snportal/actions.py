"""The one shape every permission check takes: a decorator, a denied audit row, a 403.

:func:`permission_required` is the only way a view checks a permission, so the rule is
written once: a user whose role lacks the permission gets 403, and if they tried a change
(any method but GET/HEAD/OPTIONS) an audit row with outcome ``denied`` says who, what and
from where. :func:`action` is its form for state-changing views: POST only as well.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from functools import wraps
from typing import Any, NoReturn

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_POST

from snportal import audit

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def permission_required(
    permission: str,
    verb: str = "",
    *,
    post_only: bool = False,
    methods: Collection[str] | None = None,
    object_type: str = "",
    name_field: str = "",
    as_json: bool = False,
) -> Callable:
    """Decorate a view that needs ``permission``.

    ``verb`` names a refused change in the audit (default: the URL's name); ``post_only``
    answers other methods 405; ``methods`` limits the check to those methods (a page any
    role may read whose POST changes something); the refused object is the URL's ``name``
    or ``pk``, or the POST field ``name_field``; ``as_json`` refuses with
    ``{"error": …}`` for views that scripts call. The wrapped view carries
    ``permission_required`` (the permission) so tests can list every guarded view.
    """

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            checked = methods is None or request.method in methods
            if checked and not request.user.has_perm(permission):
                name = _object_name(request, kwargs, name_field)
                try:
                    refuse(request, permission, verb, name, object_type)
                except PermissionDenied as exc:
                    if as_json:
                        return JsonResponse({"error": str(exc)}, status=403)
                    raise
            return view(request, *args, **kwargs)

        wrapper.permission_required = permission  # type: ignore[attr-defined]
        return require_POST(wrapper) if post_only else wrapper

    return decorate


def action(permission: str, verb: str, **options: Any) -> Callable:
    """A state-changing view: :func:`permission_required`, POST only."""
    return permission_required(permission, verb, post_only=True, **options)


def _object_name(request: HttpRequest, kwargs: dict[str, Any], field: str) -> str:
    if field:
        return str(request.POST.get(field, ""))
    return str(kwargs.get("name") or kwargs.get("pk") or "")


def refuse(
    request: HttpRequest, permission: str, verb: str = "", name: str = "", object_type: str = ""
) -> NoReturn:
    """403; a refused change (not a read) is audited first through :func:`deny`."""
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
