"""Reserved node names come from the URL patterns: no page can shadow a node's page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.http import HttpResponse
from django.test import override_settings
from django.urls import include, path

from nodes import urls as node_urls
from nodes.attributes import AttributeProblem, check_name, reserved_names


def _page(request):  # pragma: no cover - only resolved, never called
    return HttpResponse("")


# A URLconf like the portal's with one more node page, as a new feature would add it.
urlpatterns = [
    path(
        "nodes/",
        include(([path("racks/", _page, name="racks"), *node_urls.urlpatterns], "nodes")),
    ),
]


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    reserved_names.cache_clear()
    yield
    reserved_names.cache_clear()


def test_every_fixed_first_segment_of_the_node_pages_is_reserved() -> None:
    fixed = {str(p.pattern).split("/")[0] for p in node_urls.urlpatterns} - {""}
    fixed = {s for s in fixed if "<" not in s}
    assert fixed and fixed <= reserved_names()


def test_console_pages_beside_a_node_name_are_reserved_too() -> None:
    assert {"wall", "ticket"} <= reserved_names()
    assert "all" in reserved_names()


def test_a_segment_after_a_name_is_free() -> None:
    """``/nodes/<name>/edit/`` does not make ``edit`` a bad node name."""
    assert "edit" not in reserved_names()
    check_name("edit")


@override_settings(ROOT_URLCONF=__name__)
def test_a_new_page_beside_node_names_reserves_its_segment_at_once() -> None:
    with pytest.raises(AttributeProblem, match="'racks' is reserved"):
        check_name("racks")


def test_a_reserved_name_is_refused_with_the_fix() -> None:
    with pytest.raises(AttributeProblem, match="'unknown-macs' is reserved; choose another name"):
        check_name("unknown-macs")
