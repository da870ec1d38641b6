"""The ticket a page needs to open the console server's live-events socket."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from consoles import services, tickets

EVENTS_PATH = "/ws/events"


@require_GET
def events_ticket(request: HttpRequest) -> JsonResponse:
    """``{"url": "ws://…/ws/events?ticket=…"}``. Every logged-in role may watch events
    (they carry what the pages already show); the ticket names the user and no console."""
    token = services.mint_ticket(
        request.user, [], tickets.VIEW, getattr(request, "client_ip", None)
    )
    base = services.websocket_base(request)
    response = JsonResponse({"url": f"{base}{EVENTS_PATH}?ticket={token}"})
    response["Cache-Control"] = "no-store"
    return response
