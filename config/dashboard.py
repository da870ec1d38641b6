"""The dashboard page: status counts, active and failed jobs, failed and stuck nodes.

It composes the core (jobs, audit) with the product apps (nodes, images), so it belongs to
the project, not to the core app. A fixed number of queries whatever the node count.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from images.models import OsImage
from nodes.models import Node
from snportal.models import AuditEvent, Job

# Boot order, as Node.Status declares it.
STATUS_ORDER = list(Node.Status.values)


def status_counts() -> list[tuple[str, str, int]]:
    """(status value, label, count) for every status, zeros included, in boot order."""
    counts = dict(Node.objects.values_list("status").annotate(n=Count("id")).order_by())
    labels = dict(Node.Status.choices)
    return [(s, labels[s], counts.get(s, 0)) for s in STATUS_ORDER]


def stuck_nodes(limit: int = 20) -> list[Node]:
    """Nodes past their state's timeout that the minute schedule has not failed yet."""
    now = timezone.now()
    late = Q()
    for status, seconds in settings.BOOT_TIMEOUTS.items():
        late |= Q(status=status, statustime__lt=now - timedelta(seconds=seconds))
    return list(Node.objects.filter(late).order_by("statustime")[:limit])


def context() -> dict[str, Any]:
    counts = status_counts()
    return {
        "status_counts": counts,
        "node_count": sum(c for _, _, c in counts),
        "image_count": OsImage.objects.count(),
        "active_jobs": list(
            Job.objects.filter(status__in=(Job.Status.RUNNING, Job.Status.QUEUED))
            .defer("log", "results", "params")
            .order_by("-created")[:10]
        ),
        "failed_nodes": list(
            Node.objects.filter(status=Node.Status.FAILED)
            .only("name", "statusdetail", "statustime")
            .order_by("-statustime")[:10]
        ),
        "failed_jobs": list(
            Job.objects.filter(status=Job.Status.FAILED)
            .defer("log", "results", "params")
            .order_by("-finished")[:5]
        ),
        "stuck_nodes": stuck_nodes(),
        "recent_audit": list(AuditEvent.objects.all()[:8]),
    }


def dashboard(request: HttpRequest) -> HttpResponse:
    """The home page (``snportal:dashboard``)."""
    return render(request, "snportal/dashboard.html", context())
