"""Where to go back to after a form: a ``next`` the client sent, only if it stays on this site.

A bare ``startswith("/")`` lets ``//evil.example`` and ``/\\evil.example`` through (browsers
read both as another host), and ``javascript:…`` in a link is script. Django's own check
decides instead, the same one its login view applies.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request: HttpRequest, candidate: str | None, fallback: str) -> str:
    """``candidate`` if it is a path on this host (https only when the request is), else
    ``fallback``. Only absolute paths: ``redirect("x")`` would look ``x`` up as a view name."""
    if (
        candidate
        and candidate.startswith("/")
        and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return candidate
    return fallback
