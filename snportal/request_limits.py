"""Refuse an over-large request body before anything reads it.

Django bounds form fields it keeps in memory (DATA_UPLOAD_MAX_MEMORY_SIZE) but streams
uploaded files to disk without any limit, and the CSRF middleware parses every POST
before a view can look at it: a multi-gigabyte upload to the login page would fill the
disk. Every body is read through ``CONTENT_LENGTH`` (a request without it is read as
empty), so checking that header first bounds them all.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

__all__ = ["RequestSizeLimitMiddleware"]


class RequestSizeLimitMiddleware:
    """413 for a body over ``settings.REQUEST_MAX_BYTES``, 400 for a bad Content-Length."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        raw = request.META.get("CONTENT_LENGTH") or "0"
        try:
            size = int(raw)
        except ValueError:
            size = -1
        if size < 0 or len(raw) > 20:
            return HttpResponseBadRequest("Content-Length is not a byte count.\n")
        limit = settings.REQUEST_MAX_BYTES
        if size > limit:
            return HttpResponse(
                f"Request body too large: {size} bytes; at most {limit} bytes are accepted "
                f"(a nodes CSV import takes files up to {settings.CSV_MAX_BYTES} bytes; "
                "SNPORTAL_CSV_MAX_BYTES sets both).\n",
                status=413,
                content_type="text/plain; charset=utf-8",
            )
        return self.get_response(request)
