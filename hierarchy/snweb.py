"""The management node's side of the service nodes' artifact cache: ``GET /boot/cache/…``.

A service node fills its cache (:mod:`hierarchy.cache`) from here, presenting the API token
it received at enrolment as ``Authorization: Bearer <token>``. Only its sha256 is stored
(``ServiceNode.api_token_hash``); a revoked service node gets 403 like an unknown token.
Unlike ``/boot/images/…`` no boot token is needed: a service node serves whole versions
to its nodes, and its own boot tokens are checked where it serves them.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from django.http import FileResponse, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from hierarchy.models import ServiceNode

__all__ = ["authenticate", "cache_file", "hash_token"]

log = logging.getLogger(__name__)


def hash_token(token: str) -> str:
    """What ``ServiceNode.api_token_hash`` holds for an API token: its sha256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def authenticate(request: HttpRequest) -> ServiceNode | None:
    """The service node whose (unrevoked) API token the request carries, else None."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    digest = hash_token(token.strip())
    sn = (
        ServiceNode.objects.select_related("node")
        .filter(api_token_hash=digest, revoked_at__isnull=True)
        .first()
    )
    if sn is None or not hmac.compare_digest(sn.api_token_hash, digest):
        return None
    return sn


def _text(body: str, status: int) -> HttpResponse:
    return HttpResponse(body, content_type="text/plain; charset=utf-8", status=status)


@require_GET
def cache_file(request: HttpRequest, version_id: int, filename: str) -> HttpResponse:
    """One file of an image version, whole, for a service node's cache."""
    from images.models import ImageVersion

    sn = authenticate(request)
    if sn is None:
        return _text("a valid, unrevoked service-node API token is required\n", 403)
    version = ImageVersion.objects.select_related("image").filter(pk=version_id).first()
    if version is None or filename not in version.files:
        return _text(f"image version {version_id} has no file {filename!r}\n", 404)
    path = version.path / filename
    if not path.is_file():
        return _text("image version files are missing on disk\n", 404)
    size = path.stat().st_size
    log.info(
        "cache pull: %s gets %s of %s@%s (%d bytes)",
        sn.name,
        filename,
        version.image.imagename,
        version.version,
        size,
    )
    response = FileResponse(path.open("rb"), content_type="application/octet-stream")
    response["Content-Length"] = str(size)
    response["ETag"] = f'"{version.files[filename]["sha256"]}"'
    return response
