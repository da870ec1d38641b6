"""Every refused change is a 403 with a ``denied`` audit row, on every URL of the portal.

Walks every pattern of ``get_resolver()`` and POSTs as a viewer (who may change nothing) and
as an anonymous visitor, with real objects in the URL. A new view that forgets its permission
check shows up here as a 2xx; one that refuses without auditing, as a 403 with no row.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from snportal.models import AuditEvent
from tests import urlwalk

pytestmark = pytest.mark.django_db

ROUTES = urlwalk.routes()
# POSTs a viewer may make, and why: they change nothing another user can see.
VIEWER_MAY_POST = {
    "consoles:ticket": "a read-only console ticket (the role's own mode)",
    "logout": "ends the viewer's own session",
    "login": "an already logged-in visitor is sent on",
    "admin:login": "the admin's own login form (a viewer is not staff)",
    "admin:logout": "ends the viewer's own session",
}
# Open without login: the login form itself, the node-facing boot service (per-node tokens,
# refusals go to the node timeline) and the liveness probe.
PUBLIC = ("accounts/login/", "boot/", "healthz")
# Views that audit a read (who looked at a console log), not a change.
READ_VERBS = {"console.log"}
FORM = {"name": "x", "node": urlwalk.NODE, "role": "admin", "email": "e@example.org"}


@pytest.fixture(autouse=True)
def _isolated_dirs(settings: Any, tmp_path: Any) -> None:
    settings.IMAGES_DIR = tmp_path / "images"
    settings.CONSOLES_DIR = tmp_path / "consoles"


def existing_urls(route: urlwalk.Route, objects: dict[str, Any]) -> list[str]:
    """The route's URLs that name objects that exist (no giant or unknown values)."""
    return [
        u
        for u in urlwalk.urls_for(route, objects)
        if urlwalk.BIG not in u and "no-such-thing" not in u
    ]


def state() -> dict[str, int]:
    """Row counts a change would move (every change is also audited, checked separately)."""
    from django.contrib.auth import get_user_model

    from images.models import OsImage
    from nodes.models import Group, Node
    from snportal.models import Job

    models = (get_user_model(), Node, Group, OsImage, Job)
    return {m.__name__: m.objects.count() for m in models}


@pytest.mark.parametrize("route", ROUTES, ids=[r.text for r in ROUTES])
def test_a_viewer_post_changes_nothing_and_every_refusal_is_audited(
    route: urlwalk.Route, viewer_web: Client, viewer: Any
) -> None:
    """Pages that only read may ignore the method (200, or 405); a state-changing view must
    answer 403 and leave exactly one ``denied`` row. Either way nothing changes: no row
    count moves and no audit row other than a refusal (or an audited read) appears."""
    if route.text.startswith(PUBLIC) or route.name in VIEWER_MAY_POST:
        pytest.skip(f"{route.text}: {VIEWER_MAY_POST.get(route.name, 'public endpoint')}")
    objects = urlwalk.populate()
    for url in existing_urls(route, objects):
        before, last_id = (
            state(),
            AuditEvent.objects.order_by("-id").values_list("id", flat=True)[0],
        )
        response = viewer_web.post(url, FORM)
        new_rows = list(AuditEvent.objects.filter(id__gt=last_id))
        if url.startswith("/admin/"):  # the admin refuses non-staff by sending them to log in
            assert response.status_code == 302 and "/admin/login/" in response["Location"], url
        else:
            assert response.status_code in (200, 403, 404, 405), (
                f"POST {url} -> {response.status_code}"
            )
        assert state() == before, f"POST {url} as a viewer changed data"
        changes = [r for r in new_rows if r.outcome != "denied" and r.verb not in READ_VERBS]
        assert not changes, f"POST {url} as a viewer: {[(r.verb, r.outcome) for r in changes]}"
        if response.status_code == 403:
            denied = [r for r in new_rows if r.outcome == "denied"]
            assert len(denied) == 1, f"POST {url}: 403 with {len(denied)} denied rows"
            assert denied[0].username == viewer.username and denied[0].verb, url


@pytest.mark.parametrize("route", ROUTES, ids=[r.text for r in ROUTES])
def test_an_anonymous_post_is_sent_to_login(route: urlwalk.Route, client: Client) -> None:
    if route.text.startswith(PUBLIC):
        pytest.skip("public endpoint")
    objects = urlwalk.populate()
    for url in existing_urls(route, objects):
        response = client.post(url, FORM)
        assert response.status_code == 302, f"POST {url} -> {response.status_code}"
        assert "/login/" in response["Location"], url


def test_a_viewer_editing_a_user_is_refused_and_audited(viewer_web: Client, operator: Any) -> None:
    response = viewer_web.post(
        f"/users/{operator.pk}/", {"role": "admin", "is_active": "on", "email": ""}
    )
    assert response.status_code == 403
    row = AuditEvent.objects.get(outcome="denied")
    assert (row.verb, row.object_name) == ("user.update", str(operator.pk))


def test_a_refusal_by_a_view_s_own_check_is_audited_by_the_safety_net(
    operator_web: Client, settings: Any
) -> None:
    """A CSRF failure is a 403 no view decided: the middleware still records it."""
    client = Client(enforce_csrf_checks=True)
    client.cookies = operator_web.cookies
    response = client.post("/jobs/check-workers/")
    assert response.status_code == 403
    assert AuditEvent.objects.filter(outcome="denied", verb="snportal:check_workers").exists()


def test_anonymous_csrf_failures_do_not_fill_the_audit_trail(db: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    for _ in range(20):
        assert client.post("/accounts/login/", {"username": "x"}).status_code == 403
    assert not AuditEvent.objects.filter(outcome="denied").exists()
