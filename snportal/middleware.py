"""Request stamping, hostile-input refusal and the "every page needs login" rule."""

from __future__ import annotations

import ipaddress
import logging
import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.db import DataError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

from snportal.lib.untrusted import find_nul, header_text

log = logging.getLogger(__name__)
# A request id a client may choose: printable, no spaces, as long as the column.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:@+-]{1,36}$")

# Paths open without login: the login page itself, static files, and node-facing boot endpoints
# (nodes have no browser session; those views check per-node tokens themselves).
PUBLIC_PREFIXES = ("/accounts/login/", "/static/", "/boot/", "/healthz")


class RequestContextMiddleware:
    """Give every request an id, the client address and the user agent for the audit trail."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Headers are the client's to choose: only clean values reach the audit trail and the
        # response (snportal.lib.untrusted).
        offered = request.headers.get("X-Request-ID", "")
        request.request_id = offered if _REQUEST_ID.match(offered) else str(uuid.uuid4())
        request.client_ip = client_ip(request)
        request.user_agent = header_text(request.headers.get("User-Agent", ""), 300)
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        return response


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or the first X-Forwarded-For hop when behind a trusted proxy.

    Only a well-formed address counts: the value goes into an inet column.
    """
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = _address(request.headers.get("X-Forwarded-For", "").split(",")[0])
        if forwarded:
            return forwarded
    return _address(request.META.get("REMOTE_ADDR", ""))


def _address(raw: str) -> str | None:
    try:
        return str(ipaddress.ip_address(raw.strip()))
    except ValueError:
        return None


class HostileInputMiddleware:
    """Answer 400, with the place named, for input no view should ever see or choke on.

    A NUL byte anywhere (path, query, form, cookie, JSON body) is refused before any view
    or session lookup runs: PostgreSQL cannot store or even compare it. A value the database
    still rejects (a number beyond bigint, text too long for a column) becomes a 400 here
    instead of a 500, as a safety net behind the checks at each parsing site.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        where = find_nul(request)
        if where:
            return _bad_request(
                f"Bad request: a NUL byte (\\0) in {where}. Remove it and try again."
            )
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DataError | OverflowError) or _is_nul_error(exception):
            log.warning("refused input the database rejects on %s: %s", request.path, exception)
            return _bad_request(
                "Bad request: a value is out of range or too long for this field "
                "(e.g. a number beyond 9223372036854775807). Correct it and try again."
            )
        return None


def _is_nul_error(exception: Exception) -> bool:
    """psycopg refuses NUL in a query parameter with a plain ValueError."""
    return isinstance(exception, ValueError) and "NUL (0x00)" in str(exception)


def _bad_request(message: str) -> HttpResponse:
    return HttpResponseBadRequest(message + "\n", content_type="text/plain; charset=utf-8")


class LoginRequiredEverywhereMiddleware:
    """Deny by default: a new page is private unless it is listed in PUBLIC_PREFIXES."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.user.is_authenticated and not request.path.startswith(PUBLIC_PREFIXES):
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        return self.get_response(request)


class DeniedAuditMiddleware:
    """Every refused change leaves a ``denied`` audit row, however the view refused it.

    Views refuse through :func:`snportal.actions.deny` (which records the verb and marks the
    request); any other 403 to a POST (a view's own check, a CSRF failure) is recorded here
    under the URL's name. The node-facing ``/boot/`` service records its refusals in the node
    timeline instead: unauthenticated floods must not fill the audit trail. For the same
    reason anonymous 403s (a forged or cookieless CSRF POST) are not recorded: failed logins
    have their own throttled audit, and anything else an anonymous client may POST changes
    nothing.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code == 403
            and request.method not in ("GET", "HEAD", "OPTIONS")
            and not getattr(request, "denial_audited", False)
            and not request.path.startswith("/boot/")
            and getattr(getattr(request, "user", None), "is_authenticated", False)
        ):
            from snportal import audit
            from snportal.actions import view_verb

            audit.record(
                view_verb(request),
                request=request,
                outcome="denied",
                message=f"refused with 403: {response.reason_phrase}",
            )
        return response
