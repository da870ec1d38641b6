"""Node pages."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from nodes.models import Node


def node_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(Node.objects.all(), 100).get_page(request.GET.get("page"))
    return render(request, "nodes/node_list.html", {"page": page})
