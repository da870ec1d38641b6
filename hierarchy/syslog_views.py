"""A service node's forwarded syslog (hierarchy.syslogfwd), paged, filtered by text/program."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from hierarchy.models import ServiceNode, SyslogLine
from snportal.actions import permission_required

PAGE_SIZE = 200
SEVERITIES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")


@permission_required("hierarchy.view_syslogline")
def syslog(request: HttpRequest, name: str) -> HttpResponse:
    """``/hierarchy/<sn>/syslog/?q=…&program=…``: newest first; every role may read it."""
    sn = get_object_or_404(ServiceNode.objects.select_related("node"), node__name=name)
    text = request.GET.get("q", "").strip()[:200]
    program = request.GET.get("program", "").strip()[:100]
    lines = SyslogLine.objects.filter(servicenode=sn)
    if text:
        lines = lines.filter(message__icontains=text)
    if program:
        lines = lines.filter(program=program)
    page = Paginator(lines.order_by("-time", "-id"), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    rows = [(line, SEVERITIES[min(line.severity, 7)]) for line in page.object_list]
    return render(
        request,
        "hierarchy/syslog.html",
        {
            "sn": sn,
            "page": page,
            "rows": rows,
            "q": text,
            "program": program,
            "query": query.urlencode(),
        },
    )
