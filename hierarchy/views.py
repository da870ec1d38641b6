"""Service nodes pages: the list with liveness, and snmove as a POST action."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from hierarchy import routing, services
from hierarchy.models import ServiceNode
from nodes import noderange
from nodes.services import resolve
from snportal import audit
from snportal.actions import action
from snportal.defs import DefError


def rows() -> list[dict]:
    """Each service node with its liveness and node counts (three queries in all)."""
    names = services.service_node_names()
    have = {
        sn.node.name: sn
        for sn in ServiceNode.objects.select_related("node").filter(node__name__in=names)
    }
    counts = services.node_counts()
    now = timezone.now()
    out = []
    for name in names:
        sn = have.get(name)
        age = (now - sn.heartbeat).total_seconds() if sn is not None and sn.heartbeat else None
        out.append(
            {
                "name": name,
                "sn": sn,
                "fresh": routing.is_fresh(sn, now),
                "age": None if age is None else int(age),
                "counts": counts.get(name, {"primary": 0, "any": 0}),
            }
        )
    return out


@login_required
def servicenode_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "hierarchy/servicenode_list.html",
        {"rows": rows(), "section": "hierarchy", "timeout": routing.heartbeat_timeout()},
    )


@action("hierarchy.move_servicenode", "node.snmove")
def snmove(request: HttpRequest) -> HttpResponse:
    spec = request.POST.get("noderange", "").strip()
    dest = request.POST.get("servicenode", "").strip()
    if not spec or not dest:
        return HttpResponse(
            "snmove: give noderange (the nodes) and servicenode (the destination)",
            status=400,
            content_type="text/plain",
        )
    try:
        report = services.snmove(resolve(spec), dest, actor=audit.actor_from_request(request))
    except (noderange.NoderangeError, DefError) as e:
        return HttpResponse(f"snmove: {e}", status=400, content_type="text/plain")
    messages.info(
        request,
        f"snmove: {len(report.moved)} node(s) now served by {dest}"
        + (f"; queued work of {len(report.requeued)} job(s) moved" if report.requeued else ""),
    )
    return redirect("hierarchy:list")
