"""Make client-supplied text safe to store, and find NUL bytes in a request.

PostgreSQL refuses a NUL character in any text or JSON value, and a header is whatever the
client sent. Stored client text passes through here once (the request middleware and
:mod:`snportal.audit`), so a hostile ``User-Agent`` can neither fail an insert (which used
to skip the failed-login row, and so the throttle) nor break a response header.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["db_json", "db_text", "find_nul", "header_text"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def header_text(value: Any, max_length: int) -> str:
    """A header value as one clean line: control characters dropped, cut to ``max_length``."""
    return _CONTROL.sub("", str(value or "")).strip()[:max_length]


def db_text(value: Any, max_length: int | None = None) -> str:
    """Text PostgreSQL accepts: NUL characters dropped, cut to the column's length."""
    text = str(value or "").replace("\x00", "")
    return text[:max_length] if max_length is not None else text


def db_json(value: Any) -> Any:
    """A JSON-able value with NUL dropped from every string, keys included."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {db_json(str(k)): db_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [db_json(v) for v in value]
    return value


def find_nul(request: Any) -> str | None:
    """Where a NUL byte hides in the request (path, query, form, cookies, JSON body), or None.

    Reading ``request.POST`` here is what every view does anyway; a JSON body is read
    through ``request.body``, which caches it for the view.
    """
    if "\x00" in request.path:
        return "the URL path"
    for key, values in request.GET.lists():
        if "\x00" in key or any("\x00" in v for v in values):
            return f"the query parameter {_name(key)}"
    for name, value in request.COOKIES.items():
        if "\x00" in name or "\x00" in value:
            return f"the cookie {_name(name)}"
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    content_type = request.content_type or ""
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for key, values in request.POST.lists():
            if "\x00" in key or any("\x00" in v for v in values):
                return f"the form field {_name(key)}"
        for key, upload in request.FILES.items():
            if "\x00" in (upload.name or ""):
                return f"the file name of {_name(key)}"
    elif content_type == "application/json" or content_type.endswith("+json"):
        body = request.body
        if b"\x00" in body:
            return "the JSON body"
        if b"\\u0000" in body.lower():  # an escaped NUL decodes to one
            try:
                data = json.loads(body)
            except ValueError:
                return None  # not JSON at all: the view answers that
            if db_json(data) != data:
                return "the JSON body"
    return None


def _name(key: str) -> str:
    return repr(key.replace("\x00", "\\0"))
