"""The ticket a page needs to open the live-events socket (``/ws/events``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from snportal import tickets
from snportal.live import EVENTS_PATH


def mint_ticket(user: Any, nodes: list[str], mode: str, ip: str | None = None) -> str:
    """A ticket for ``user``; the caller checked the permissions and the mode."""
    return tickets.mint(
        user_id=user.pk if user and user.is_authenticated else None,
        username=user.get_username() if user else "",
        nodes=list(nodes),
        mode=mode,
        ip=ip,
    )


def websocket_base(request: HttpRequest) -> str:
    """``ws://host:port`` browsers use to reach the websocket server (the console server's
    port, or SNPORTAL_CONSOLES_URL)."""
    if settings.CONSOLES_URL:
        return settings.CONSOLES_URL.rstrip("/")
    host = request.get_host()
    host = host[: host.index("]") + 1] if host.startswith("[") else host.split(":")[0]
    scheme = "wss" if request.is_secure() else "ws"
    return f"{scheme}://{host}:{settings.CONSOLES_PORT}"


@require_GET
def events_ticket(request: HttpRequest) -> JsonResponse:
    """``{"url": "ws://…/ws/events?ticket=…"}``. Every logged-in role may watch events
    (they carry what the pages already show); the ticket names the user and no console."""
    token = mint_ticket(request.user, [], tickets.VIEW, getattr(request, "client_ip", None))
    response = JsonResponse({"url": f"{websocket_base(request)}{EVENTS_PATH}?ticket={token}"})
    response["Cache-Control"] = "no-store"
    return response
