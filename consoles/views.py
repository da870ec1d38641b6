"""Console pages: the node list, one node's console, the console wall, tickets and logs.

Every page needs ``consoles.view_console`` (viewers and up). The browser never talks to
the console server without a ticket from :func:`ticket`, which checks that permission
again and gives ``write`` mode only to ``consoles.write_console`` holders.
"""

from __future__ import annotations

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render

from consoles import capture, services
from nodes import noderange
from nodes import services as node_services
from nodes.models import Node
from snportal import audit, tickets
from snportal.actions import permission_required

VIEW_PERM = "consoles.view_console"
# More tiles than this on one wall would make every browser crawl; refine the noderange.
WALL_LIMIT = 200


@permission_required(VIEW_PERM)
def index(request: HttpRequest) -> HttpResponse:
    nodes = Node.objects.filter(cons="ipmi").exclude(bmc="").only("name", "status")[:1000]
    return render(request, "consoles/index.html", {"nodes": nodes})


@permission_required(VIEW_PERM)
def console(request: HttpRequest, name: str) -> HttpResponse:
    node = get_object_or_404(Node, name=name)
    context = {"node": node, "mode": services.mode_for(request.user)}
    return render(request, "consoles/console.html", context)


@permission_required(VIEW_PERM)
def wall(request: HttpRequest) -> HttpResponse:
    expr = request.GET.get("range", "").strip()
    names, error = node_services.resolve_typed(expr) if expr else ([], "")
    status = 400 if error else 200
    if len(names) > WALL_LIMIT:
        error = f"{len(names)} nodes: a wall shows at most {WALL_LIMIT}; narrow the range"
        names = []
    statuses = dict(Node.objects.filter(name__in=names).values_list("name", "status"))
    tiles = [{"name": n, "status": statuses.get(n) or Node.Status.UNKNOWN.label} for n in names]
    context = {
        "range": expr,
        "tiles": tiles,
        "error": error,
        "mode": services.mode_for(request.user),
    }
    return render(request, "consoles/wall.html", context, status=status)


@permission_required(VIEW_PERM, post_only=True, as_json=True)
def ticket(request: HttpRequest) -> JsonResponse:
    """``{"url": "ws://…?ticket=…", "mode": …}`` for one console or a wall (``range``)."""
    mode = services.mode_for(request.user, request.POST.get("mode", tickets.WRITE))
    base = services.websocket_base(request)
    if node := request.POST.get("node"):
        if not Node.objects.filter(name=node).exists():
            return JsonResponse({"error": f"no node {node}"}, status=404)
        names, path = [node], f"/ws/console/{node}"
    else:
        try:
            names = node_services.resolve(request.POST.get("range", ""))
        except noderange.NoderangeError as exc:
            return JsonResponse({"error": str(exc)}, status=400)
        names, path = names[:WALL_LIMIT], "/ws/wall"
    token = services.mint_ticket(request.user, names, mode, getattr(request, "client_ip", None))
    return JsonResponse({"url": f"{base}{path}?ticket={token}", "mode": mode, "nodes": names})


@permission_required(VIEW_PERM)
def log(request: HttpRequest, name: str) -> HttpResponse:
    """The node's console log (current file), or 64 KiB from a time (``?at=10:42``)."""
    node = get_object_or_404(Node, name=name)
    at = request.GET.get("at", "").strip()
    audit.record("console.log", request=request, object_type="node", object_name=node.name,
                 message=f"at {at}" if at else "whole log")  # fmt: skip
    if at:
        try:
            when = services.parse_when(at)
        except ValueError as exc:
            return HttpResponse(str(exc), status=400, content_type="text/plain")
        data = capture.read_at(settings.CONSOLES_DIR, node.name, when)
        response = HttpResponse(data, content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{node.name}-{at}.log"'
        return response
    path = settings.CONSOLES_DIR / f"{node.name}.log"
    if not path.exists():
        return HttpResponse(
            "no console log for this node yet\n", status=404, content_type="text/plain"
        )
    return FileResponse(open(path, "rb"), as_attachment=True, filename=f"{node.name}.log")
