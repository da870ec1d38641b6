"""Hostile input on every URL: NUL bytes and giant numbers answer 4xx, never a 500.

Walks every pattern of ``get_resolver()`` (portal apps, ``/boot/``, the Django admin) as an
anonymous visitor and as an admin, with GET and POST: NUL in the path, query, form fields,
cookies and headers; numbers beyond bigint in int path segments and in common query and form
fields. A 500 here is a crash an attacker can trigger (and, with DEBUG on, a page that leaks
internals), so the assertion is only "no 5xx".
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DataError
from django.test import Client, RequestFactory

from snportal import roles
from snportal.middleware import HostileInputMiddleware
from snportal.models import AuditEvent
from tests import urlwalk
from tests.urlwalk import BIG
from testsupport.personas import PASSWORD, make_user

pytestmark = pytest.mark.django_db

ROUTES = urlwalk.routes()
# Parameters many views read: paging, ids, counts, times, names, ranges.
NUMERIC_PARAMS = [
    "page", "per_page", "limit", "offset", "n", "id", "pk", "job", "count", "lines",
    "since", "until", "at", "version", "serialspeed", "serialport", "progress", "timeout",
]  # fmt: skip
TEXT_FIELDS = [
    "name", "node", "nodes", "range", "noderange", "q", "mac", "uuid", "serial", "status",
    "token", "reason", "command", "mode", "role", "username", "password", "email", "groups",
    "description", "comment", "comments", "osimage", "image", "attr", "text", "payload",
    "user", "verb", "object", "kind", "next",
]  # fmt: skip


@pytest.fixture(autouse=True)
def _isolated_dirs(settings: Any, tmp_path: Any) -> None:
    settings.IMAGES_DIR = tmp_path / "images"
    settings.CONSOLES_DIR = tmp_path / "consoles"


class Visitor:
    """A client that stays who it is: an admin logged out by POST /accounts/logout/ (or a
    deleted session) is logged in again before the next request."""

    def __init__(self, user: Any | None) -> None:
        self.user = user
        self.client = Client(raise_request_exception=False)

    def request(self, method: str, url: str, data: Any = None, **extra: Any) -> Any:
        if self.user is not None and "_auth_user_id" not in self.client.session:
            self.client.force_login(self.user)
        call = self.client.post if method == "POST" else self.client.get
        return call(url, data, **extra) if data is not None else call(url, **extra)


def assert_no_5xx(responses: list[tuple[str, Any]]) -> None:
    crashed = [f"{what} -> {r.status_code}" for what, r in responses if r.status_code >= 500]
    assert not crashed, "server errors:\n" + "\n".join(crashed)


def assert_nul_refused(responses: list[tuple[str, Any]]) -> None:
    """NUL in the query, a cookie or a form field is a 400 wherever it is sent."""
    refused = ("NUL in the query", "NUL in a cookie", "NUL in form fields")
    wrong = [
        f"{what} -> {r.status_code}"
        for what, r in responses
        if what.endswith(tuple(f"[{kind}]" for kind in refused)) and r.status_code != 400
    ]
    assert not wrong, "NUL not refused with 400:\n" + "\n".join(wrong)


def hostile_requests(visitor: Visitor, url: str) -> list[tuple[str, Any]]:
    """Every hostile variant of one URL, as (description, response)."""
    nul_query = "&".join(f"{p}=a%00b" for p in ("q", "page", "name", "range", "mac"))
    big_query = "&".join(f"{p}={BIG}" for p in NUMERIC_PARAMS)
    done: list[tuple[str, Any]] = []

    def go(what: str, method: str, target: str, data: Any = None, **extra: Any) -> Any:
        response = visitor.request(method, target, data, **extra)
        done.append((f"{method} {target} [{what}]", response))
        return response

    go("plain", "GET", url)
    go("giant numbers in the query", "GET", f"{url}?{big_query}")
    go("NUL in the query", "GET", f"{url}?{nul_query}")
    go("NUL in the path", "GET", url.rstrip("/") + "%00/")
    go(
        "NUL and line breaks in stored headers",
        "GET",
        url,
        HTTP_USER_AGENT="evil\x00agent\r\n",
        HTTP_X_REQUEST_ID="id\x00\r\nSet-Cookie: x=1",
        HTTP_X_FORWARDED_FOR="\x00, not-an-address",
        HTTP_REFERER="http://x/\x00",
    )
    go("NUL in a cookie", "GET", url, HTTP_COOKIE="csrftoken=a\x00b; sessionid=\x00")
    go("NUL in form fields", "POST", url, {f: "a\x00b" for f in TEXT_FIELDS})
    go(
        "NUL in a JSON body",
        "POST",
        url,
        '{"node": "a\\u0000b"}',
        content_type="application/json",
    )
    go("giant numbers in form fields", "POST", url, {f: BIG for f in NUMERIC_PARAMS + TEXT_FIELDS})
    go("over-long text in form fields", "POST", url, {f: "x" * 100_000 for f in TEXT_FIELDS})
    return done


@pytest.mark.parametrize("persona", ["anonymous", "admin"])
@pytest.mark.parametrize("route", ROUTES, ids=[r.text for r in ROUTES])
def test_no_hostile_request_makes_a_server_error(route: urlwalk.Route, persona: str) -> None:
    objects = urlwalk.populate()
    user = make_user("hostile-admin", roles.ADMIN) if persona == "admin" else None
    urls = urlwalk.urls_for(route, objects)
    if "url" not in route.params:
        assert urls, f"no URL could be built for {route.text}"
    visitor = Visitor(user)
    responses: list[tuple[str, Any]] = []
    for url in urls:
        responses += hostile_requests(visitor, url)
    assert_no_5xx(responses)
    assert_nul_refused(responses)


def test_the_walk_covers_the_portal_the_boot_service_and_the_admin() -> None:
    texts = {r.text for r in ROUTES}
    for expected in ("jobs/<int:pk>/", "boot/ipxe", "nodes/<str:name>/", "accounts/login/"):
        assert expected in texts
    assert any(t.startswith("admin/") for t in texts)
    assert any(r.int_params for r in ROUTES)


def test_a_failed_login_with_nul_in_the_user_agent_is_audited_and_throttled(
    operator: Any, settings: Any
) -> None:
    settings.LOGIN_FAILURE_LIMIT = 2
    client = Client(raise_request_exception=False, HTTP_USER_AGENT="bot\x00/1.0")
    for _ in range(2):
        response = client.post("/accounts/login/", {"username": operator.username, "password": "x"})
        assert response.status_code == 200
    rows = AuditEvent.objects.filter(verb="login_failed", object_name=operator.username)
    assert rows.count() == 2 and rows.first().user_agent == "bot/1.0"
    right = client.post("/accounts/login/", {"username": operator.username, "password": PASSWORD})
    assert right.status_code == 200 and b"Too many failed logins" in right.content


def test_a_nul_in_the_request_id_never_reaches_the_response_header(admin_web: Client) -> None:
    response = admin_web.get("/jobs/", HTTP_X_REQUEST_ID="a\x00b\r\nX-Evil: 1")
    assert response.status_code == 200
    assert "\x00" not in response["X-Request-ID"] and "\n" not in response["X-Request-ID"]


def test_a_nul_in_the_query_is_refused_with_a_message_naming_the_place(admin_web: Client) -> None:
    response = admin_web.get("/audit/?user=a%00b")
    assert response.status_code == 400
    assert b"NUL byte" in response.content and b"'user'" in response.content


def test_a_job_id_beyond_bigint_is_not_found(admin_web: Client) -> None:
    assert admin_web.get(f"/jobs/{BIG}/").status_code == 404


def test_a_page_number_beyond_bigint_shows_the_last_page(admin_web: Client) -> None:
    assert admin_web.get(f"/audit/?page={BIG}").status_code == 200


def test_an_escaped_nul_in_a_json_body_is_refused(admin_web: Client) -> None:
    response = admin_web.post(
        "/jobs/check-workers/", '{"node": "a\\u0000b"}', content_type="application/json"
    )
    assert response.status_code == 400 and b"JSON body" in response.content


@pytest.mark.parametrize(
    "error",
    [DataError("integer out of range"), OverflowError("int too large"),
     ValueError("A string literal cannot contain NUL (0x00) characters.")],
)  # fmt: skip
def test_what_the_database_rejects_becomes_a_400_not_a_500(error: Exception) -> None:
    """The safety net behind the parsing sites: no view we know of reaches it any more, so
    the middleware is exercised directly with the errors psycopg and Django raise."""
    middleware = HostileInputMiddleware(lambda request: None)
    response = middleware.process_exception(RequestFactory().get("/jobs/"), error)
    assert response is not None and response.status_code == 400


def test_other_errors_are_not_hidden_as_bad_requests() -> None:
    middleware = HostileInputMiddleware(lambda request: None)
    assert middleware.process_exception(RequestFactory().get("/"), KeyError("x")) is None
