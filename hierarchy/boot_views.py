"""``POST /boot/enrol``: a booted service node trades its one-time secret for its environment.

Node-facing like the rest of ``/boot/`` (no login, no CSRF: the caller is an agent, not a
browser). The secret authenticates; the logic and its refusals live in hierarchy.enrol.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from hierarchy import enrol

#: Longest accepted value per field (a node name, a token_urlsafe(32) secret, a version).
LIMITS = {"node": 100, "secret": 200, "version": 64}


@csrf_exempt
@require_POST
def enrol_view(request: HttpRequest) -> HttpResponse:
    """Form ``node``, ``secret``, ``version`` → 200 ``{"env": {…}}`` once; 4xx with a reason."""
    if getattr(settings, "ROLE", "management") == "service":
        return _error(404, "service nodes enrol with the management node, not with each other")
    values: dict[str, str] = {}
    for name, limit in LIMITS.items():
        value = request.POST.get(name, "")
        if "\x00" in value or len(value) > limit:
            return _error(400, f"{name}: must be at most {limit} characters, without NUL bytes")
        values[name] = value.strip()
    if not values["node"]:
        return _error(400, "node: give the service node's name (snp.node on its command line)")
    outcome = enrol.enrol(
        values["node"],
        values["secret"],
        values["version"],
        address=getattr(request, "client_ip", None),
    )
    if outcome.ok:
        response = JsonResponse({"env": outcome.env})
        response["Cache-Control"] = "no-store"
        return response
    return _error(outcome.status, outcome.message)


def _error(status: int, message: str) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    response["Cache-Control"] = "no-store"
    return response
