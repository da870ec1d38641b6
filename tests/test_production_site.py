"""The site as production runs it: collectstatic, gunicorn, DEBUG=0, every page answers.

With DEBUG=0 the manifest static storage resolves every ``{% static %}`` at render time, so
a file that ``collectstatic`` could not process makes every page a 500 while the test suite
(DEBUG=1) stays green. This test runs the real production path: ``collectstatic`` into a
temporary STATIC_ROOT, gunicorn with production settings and fresh random keys (plain http
on 127.0.0.1, so no SSL redirect and no secure-only cookies), an admin logs in through the
form, and every page of the navigation, every list and detail URL with objects present and
every static file those pages load answers 200.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import secrets
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lab.ports import free_base_port
from snportal import roles
from tests import urlwalk
from testsupport.personas import PASSWORD, make_user
from testsupport.processes import database_url_for_subprocess
from testsupport.waiting import wait_until

BASE = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
_LINK = re.compile(r'(?:href|src)="(/[^"#]*)"')


def production_env(static_root: Path, images_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "SNPORTAL_SECRETS_KEY": secrets.token_urlsafe(32),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "STATIC_ROOT": str(static_root),
        "SNPORTAL_IMAGES_DIR": str(images_dir),
        "LOG_LEVEL": "WARNING",
    }


@pytest.fixture
def site(tmp_path: Path, settings: Any) -> Iterator[str]:
    """gunicorn serving the test database with production settings; yields its base URL."""
    settings.IMAGES_DIR = tmp_path / "images"
    env = production_env(tmp_path / "static", settings.IMAGES_DIR)
    collect = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=BASE,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert collect.returncode == 0, collect.stderr[-3000:]
    port = free_base_port(1, tcp=True)
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "config.wsgi", "--bind",
         f"127.0.0.1:{port}", "--workers", "2", "--timeout", "60"],
        cwd=BASE, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:

        def healthy() -> bool:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=2).read()
                return True
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()[-3000:]
                return False

        wait_until(healthy, 60, 0.3, message="gunicorn did not answer")
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


class Browser:
    """Cookies, CSRF and plain GETs over real HTTP (no Django test client)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> tuple[int, str]:
        try:
            with self.opener.open(self.base + path, timeout=30) as response:
                return response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8", "replace")

    def login(self, username: str, password: str) -> None:
        status, html = self.get("/accounts/login/")
        assert status == 200, html[:2000]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)[1]
        data = urllib.parse.urlencode(
            {"username": username, "password": password, "csrfmiddlewaretoken": token}
        ).encode()
        request = urllib.request.Request(
            self.base + "/accounts/login/", data=data, headers={"Referer": self.base + "/"}
        )
        with self.opener.open(request, timeout=30) as response:
            assert response.url.rstrip("/") == self.base, "login did not reach the dashboard"


def test_production_settings_serve_every_page(site: str, settings: Any) -> None:
    # The server checks passwords with production's hashers, not the tests' fast MD5.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    admin = make_user("prod-admin", roles.ADMIN)
    objects = urlwalk.populate()
    browser = Browser(site)
    browser.login(admin.username, PASSWORD)

    status, dashboard = browser.get("/")
    assert status == 200, dashboard[:3000]
    nav = re.search(r"<nav.*?</nav>", dashboard, re.S)[0]
    pages = {link for link in _LINK.findall(nav) if not link.startswith("/static/")}
    assert {"/images/", "/nodes/", "/jobs/", "/audit/", "/users/"} <= pages

    for route in urlwalk.routes():
        if route.text.startswith(("admin/", "boot/", "accounts/logout/")):
            continue
        for url in urlwalk.urls_for(route, objects):
            if urlwalk.BIG not in url and "no-such-thing" not in url:
                pages.add(url)

    failures: list[str] = []
    statics: set[str] = set()
    for page in sorted(pages):
        status, html = browser.get(page)
        if status >= 500 or (page in nav and status != 200):
            failures.append(f"{page} -> {status}")
        statics |= {s for s in _LINK.findall(html) if s.startswith("/static/")}
    for detail in (f"/nodes/{urlwalk.NODE}/", f"/images/{urlwalk.IMAGE}/",
                   f"/nodes/groups/{urlwalk.GROUP}/", f"/jobs/{objects['job'].pk}/",
                   f"/users/{objects['user'].pk}/", f"/consoles/{urlwalk.NODE}/"):  # fmt: skip
        status, _ = browser.get(detail)
        if status != 200:
            failures.append(f"{detail} -> {status}")
    assert not failures, "\n".join(failures)

    assert statics, "pages load no static files?"
    for path in sorted(statics):
        status, _ = browser.get(path)
        assert status == 200, f"{path} -> {status}"
    assert all(re.search(r"\.[0-9a-f]{12}\.", s) for s in statics), "manifest names not used"
