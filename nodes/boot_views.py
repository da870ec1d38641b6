"""The node-facing boot service: iPXE scripts, image artifacts, status reports.

No login here (nodes have no browser session; ``/boot/`` is public in
``snportal.middleware``). Each endpoint reveals only the requesting node's own boot data:
artifacts need a token of that node's current boot attempt, reports are accepted only with
it (lifetime: nodes/boot_tokens.py). Script requests and reports past the per-node or
per-address limits get 429 before anything is written (nodes/boot_limits.py).
Artifacts stream from disk in chunks (never read whole into memory), with Content-Length,
a strong ETag (the file's sha256) and single-range support; behind nginx, set
``SNPORTAL_BOOT_ACCEL_REDIRECT`` and nginx sends the file itself (docs/netboot.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseForbidden,
    HttpResponseNotFound,
    QueryDict,
    StreamingHttpResponse,
)
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from nodes import boot_limits, extensions, netboot

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 256 * 1024


def _text(body: str, status: int = 200) -> HttpResponse:
    response = HttpResponse(body, content_type="text/plain; charset=utf-8", status=status)
    response["Cache-Control"] = "no-store"
    return response


def _client(request: HttpRequest) -> str | None:
    """The requesting address (``client_ip`` of the request middleware when present)."""
    return getattr(request, "client_ip", None) or request.META.get("REMOTE_ADDR")


def _field(data: QueryDict, name: str, limit: int = 500) -> str:
    """A request field as text PostgreSQL can store (no NUL), cut to ``limit`` characters."""
    return data.get(name, "").replace("\x00", "")[:limit]


def _throttled(exc: boot_limits.Throttled) -> HttpResponse:
    response = _text(f"{exc}\n", status=429)
    response["Retry-After"] = "60"
    return response


@require_GET
def ipxe_script(request: HttpRequest) -> HttpResponse:
    """``GET /boot/ipxe?mac=…[&uuid=…&serial=…]``: this node's script for its boot state."""
    try:
        body = netboot.script_for(
            _field(request.GET, "mac", 64),
            uuid=_field(request.GET, "uuid", 64),
            serial=_field(request.GET, "serial", 64),
            address=_client(request),
        )
    except boot_limits.Throttled as exc:
        return _throttled(exc)
    return _text(body)


@require_GET
def artifact(request: HttpRequest, image: str, version: str, filename: str) -> HttpResponse:
    """A version's kernel, initrd or root image, for the node whose boot was given it."""
    try:
        path, sha256 = netboot.artifact_path(
            image, version, filename, _field(request.GET, "node", 100), _field(request.GET, "t")
        )
    except PermissionError as exc:
        return HttpResponseForbidden(f"{exc}\n", content_type="text/plain")
    except FileNotFoundError:
        return HttpResponseNotFound(
            "no such file in this image version\n", content_type="text/plain"
        )
    except extensions.ArtifactUnavailable as exc:  # a service node's cache could not fetch it
        return _text(f"artifact unavailable on this service node: {exc}\n", status=503)
    if not path.is_file():
        return HttpResponseNotFound(
            "image version files are missing on disk\n", content_type="text/plain"
        )
    etag = f'"{sha256}"'
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
        response["ETag"] = etag
        return response
    # nginx maps the image store; a service node's cache is not laid out like it.
    accel = getattr(settings, "BOOT_ACCEL_REDIRECT", "") if settings.ROLE != "service" else ""
    if accel:
        response = HttpResponse(content_type="application/octet-stream")
        response["X-Accel-Redirect"] = f"{accel.rstrip('/')}/{image}/versions/{version}/{filename}"
        response["ETag"] = etag
        return response
    return _serve(request, path, etag)


def _serve(request: HttpRequest, path: Path, etag: str) -> HttpResponse:
    size = path.stat().st_size
    match = _RANGE.match(request.headers.get("Range", ""))
    if match and (match.group(1) or match.group(2)):
        first, last = match.groups()
        if first:
            start, end = int(first), min(int(last) if last else size - 1, size - 1)
        else:  # suffix range: the last N bytes
            start, end = max(0, size - int(last)), size - 1
        if start > end or start >= size:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        response = StreamingHttpResponse(
            _chunks(path, start, end - start + 1),
            status=206,
            content_type="application/octet-stream",
        )
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    else:
        # FileResponse hands the open file to the server (wsgi.file_wrapper → sendfile).
        response = FileResponse(path.open("rb"), content_type="application/octet-stream")
        response["Content-Length"] = str(size)
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    return response


def _chunks(path: Path, start: int, length: int) -> Iterator[bytes]:
    with path.open("rb") as f:
        f.seek(start)
        while length > 0:
            data = f.read(min(CHUNK, length))
            if not data:
                return
            length -= len(data)
            yield data


@csrf_exempt
@require_POST
def status_report(request: HttpRequest) -> HttpResponse:
    """``POST /boot/status`` (node, token, status[, reason]) from the initrd and the image."""
    try:
        accepted = netboot.accept_report(
            _field(request.POST, "node", 100),
            _field(request.POST, "token", 100),
            _field(request.POST, "status", 40),
            _field(request.POST, "reason"),
            address=_client(request),
        )
    except boot_limits.Throttled as exc:
        return _throttled(exc)
    if not accepted:
        return _text("refused: wrong, stale or expired token\n", status=403)
    return _text("ok\n")
