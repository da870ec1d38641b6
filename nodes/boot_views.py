"""The node-facing boot service: iPXE scripts, image artifacts, status reports.

No login here (nodes have no browser session; ``/boot/`` is public in
``snportal.middleware``). Each endpoint reveals only the requesting node's own boot data:
artifacts need that node's current boot token, reports are accepted only with it.
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
    StreamingHttpResponse,
)
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from nodes import netboot

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 256 * 1024


def _text(body: str, status: int = 200) -> HttpResponse:
    response = HttpResponse(body, content_type="text/plain; charset=utf-8", status=status)
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def ipxe_script(request: HttpRequest) -> HttpResponse:
    """``GET /boot/ipxe?mac=…[&uuid=…&serial=…]``: this node's script for its boot state."""
    body = netboot.script_for(
        request.GET.get("mac", ""),
        uuid=request.GET.get("uuid", ""),
        serial=request.GET.get("serial", ""),
        address=request.META.get("REMOTE_ADDR"),
    )
    return _text(body)


@require_GET
def artifact(request: HttpRequest, image: str, version: str, filename: str) -> HttpResponse:
    """A version's kernel, initrd or root image, for the node whose boot was given it."""
    try:
        path, sha256 = netboot.artifact_path(
            image, version, filename, request.GET.get("node", ""), request.GET.get("t", "")
        )
    except PermissionError as exc:
        return HttpResponseForbidden(f"{exc}\n", content_type="text/plain")
    except FileNotFoundError:
        return HttpResponseNotFound(
            "no such file in this image version\n", content_type="text/plain"
        )
    if not path.is_file():
        return HttpResponseNotFound(
            "image version files are missing on disk\n", content_type="text/plain"
        )
    etag = f'"{sha256}"'
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
        response["ETag"] = etag
        return response
    accel = getattr(settings, "BOOT_ACCEL_REDIRECT", "")
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
    accepted = netboot.accept_report(
        request.POST.get("node", ""),
        request.POST.get("token", ""),
        request.POST.get("status", ""),
        request.POST.get("reason", ""),
    )
    return _text("ok\n") if accepted else _text("refused: wrong or stale token\n", status=403)
