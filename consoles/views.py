"""Console pages."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from nodes.models import Node


def index(request: HttpRequest) -> HttpResponse:
    nodes = Node.objects.only("name", "status")[:500]
    return render(request, "consoles/index.html", {"nodes": nodes})
