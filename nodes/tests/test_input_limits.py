"""Bounds on what one request may make the portal do: CSV uploads, request bodies, and
noderanges typed into pages (hostile input from any logged-in user, or from anyone)."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings

from nodes.models import Node
from nodes.tests.factories import make_node
from snportal.lib import secrets

HEADER = "name,groups\n"


def rows(count: int) -> str:
    return HEADER + "".join(f"node{i:05d},compute\n" for i in range(1, count + 1))


@override_settings(CSV_MAX_BYTES=1024)
def test_a_csv_file_over_the_byte_limit_is_refused_with_the_limit(admin_web: Client) -> None:
    upload = SimpleUploadedFile("nodes.csv", rows(100).encode(), content_type="text/csv")
    response = admin_web.post("/nodes/import/", {"file": upload})
    assert response.status_code == 400
    assert "at most 1024 bytes" in response.content.decode()
    assert not Node.objects.exists()


@override_settings(CSV_MAX_BYTES=1024)
def test_pasted_csv_over_the_byte_limit_is_refused(admin_web: Client) -> None:
    response = admin_web.post("/nodes/import/", {"text": rows(100)})
    assert response.status_code == 400
    assert "at most 1024 characters" in response.content.decode()


@override_settings(CSV_MAX_ROWS=2)
def test_a_csv_over_the_row_limit_is_refused(admin_web: Client) -> None:
    response = admin_web.post("/nodes/import/", {"text": rows(3)})
    assert response.status_code == 400
    assert "at most 2 rows" in response.content.decode()
    assert admin_web.post("/nodes/import/", {"text": rows(2)}).status_code == 200


def test_a_csv_cell_larger_than_the_csv_module_reads_is_a_form_error(admin_web: Client) -> None:
    # Python's csv module raises on a field over 128 KiB: this used to be a 500.
    response = admin_web.post("/nodes/import/", {"text": HEADER + "node1," + "x" * 200_000})
    assert response.status_code == 400
    assert "field larger than field limit" in response.content.decode()


def test_the_confirm_step_of_a_csv_at_the_limit_fits_in_a_request() -> None:
    # The preview sends the CSV back encrypted; the body limit must leave room for it.
    token = secrets.encrypt("x" * settings.CSV_MAX_BYTES, settings.SECRETS_KEYS)
    assert len(token) + 4096 < settings.REQUEST_MAX_BYTES <= settings.DATA_UPLOAD_MAX_MEMORY_SIZE


@override_settings(REQUEST_MAX_BYTES=4096)
def test_an_over_large_body_is_refused_unread_even_without_login(client: Client) -> None:
    response = client.post(
        "/accounts/login/", data=b"x" * 10_000, content_type="application/octet-stream"
    )
    assert response.status_code == 413
    assert b"at most 4096 bytes" in response.content


@override_settings(REQUEST_MAX_BYTES=4096)
def test_an_over_large_upload_is_refused_before_the_view(admin_web: Client) -> None:
    upload = SimpleUploadedFile("nodes.csv", b"x" * 10_000, content_type="text/csv")
    assert admin_web.post("/nodes/import/", {"file": upload}).status_code == 413


def test_a_garbled_content_length_is_a_400(client: Client) -> None:
    response = client.generic("POST", "/accounts/login/", b"", CONTENT_LENGTH="12abc")
    assert response.status_code == 400


# --- noderanges typed into pages --------------------------------------------------------------

HOSTILE = ",".join(f"r{i}[1-99999]" for i in range(50))


def test_a_hostile_noderange_in_the_node_list_filter_is_a_fast_400(viewer_web: Client) -> None:
    make_node("node01")
    start = time.perf_counter()
    response = viewer_web.get("/nodes/", {"noderange": HOSTILE})
    assert time.perf_counter() - start < 1.0
    assert response.status_code == 400
    assert "noderange too large" in response.content.decode()


def test_a_backtracking_regex_in_the_node_list_filter_answers_at_once(viewer_web: Client) -> None:
    make_node("a" * 40)
    start = time.perf_counter()
    response = viewer_web.get("/nodes/", {"noderange": "/(a|aa)+$x"})
    assert time.perf_counter() - start < 1.0
    assert response.status_code == 200


def test_a_hostile_noderange_on_the_boot_progress_page_is_a_400(viewer_web: Client) -> None:
    response = viewer_web.get("/nodes/progress/", {"range": HOSTILE})
    assert response.status_code == 400


@override_settings(NODERANGE_MAX=1000)
def test_the_noderange_limit_is_a_setting(viewer_web: Client) -> None:
    response = viewer_web.get("/nodes/", {"noderange": "a[1-1001]"})
    assert response.status_code == 400 and "past 1000 names" in response.content.decode()


def test_a_hostile_range_for_the_console_wall_is_a_400(viewer_web: Client) -> None:
    assert viewer_web.get("/consoles/wall/", {"range": HOSTILE}).status_code == 400
