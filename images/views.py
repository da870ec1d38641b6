"""OS image pages."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from images.models import OsImage


def image_list(request: HttpRequest) -> HttpResponse:
    images = OsImage.objects.select_related("source")
    return render(request, "images/image_list.html", {"images": images})
