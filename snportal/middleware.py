"""Request stamping and the "every page needs login" rule."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse

# Paths open without login: the login page itself, static files, and node-facing boot endpoints
# (nodes have no browser session; those views check per-node tokens themselves).
PUBLIC_PREFIXES = ("/accounts/login/", "/static/", "/boot/", "/healthz")


class RequestContextMiddleware:
    """Give every request an id, the client address and the user agent for the audit trail."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = request.headers.get("X-Request-ID", "")[:36] or str(uuid.uuid4())
        request.client_ip = client_ip(request)
        request.user_agent = request.headers.get("User-Agent", "")[:300]
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        return response


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or the first X-Forwarded-For hop when behind a trusted proxy."""
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.headers.get("X-Forwarded-For", "")
        if forwarded:
            return forwarded.split(",")[0].strip() or None
    return request.META.get("REMOTE_ADDR") or None


class LoginRequiredEverywhereMiddleware:
    """Deny by default: a new page is private unless it is listed in PUBLIC_PREFIXES."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.user.is_authenticated and not request.path.startswith(PUBLIC_PREFIXES):
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        return self.get_response(request)
