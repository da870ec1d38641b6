"""The whole workflow in a real browser (Debian's chromium via Playwright), against real
processes: the portal (pytest-django's live server), a django-q2 worker (``qcluster``), the
console server (``runconsoles``), and two qemu lab nodes behind ipmi_sim BMCs.

An admin copies the service image definition and edits its postinstall (definitions are
the admin's); an operator builds and packs it watching the live log, netboots the two lab
nodes with it, and watches the console wall and the dashboard reach ``booted`` without
reloading; a viewer sees the same pages without action buttons and is refused when forcing
an action. Screenshots of the key pages go to ``SNPORTAL_SCREENSHOTS_DIR`` (``make
screenshots`` points it at docs/screenshots/), otherwise to a temporary directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from images.services import copycds
from images.tests.factories import ACTOR
from nodes.models import Node
from snportal import roles
from snportal.models import AuditEvent
from tests.labkit import start_qemu_lab, stop_qemu_lab
from testsupport.browser import chromium, log_in
from testsupport.personas import make_user
from testsupport.processes import database_url_for_subprocess

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium"),
]
BASE = Path(__file__).resolve().parent.parent
SOURCE = "busybox-x86_64-netboot-service"
CUSTOM = "busybox-x86_64-netboot-mysvc"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(BASE / "manage.py"), *args],
        cwd=BASE,
        env={**os.environ, **env},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


@pytest.fixture
def portal(live_server: Any, settings: Any, tmp_path: Path) -> Iterator[Any]:
    """Worker and console server processes beside the live web server; a qemu lab."""
    settings.IMAGES_DIR = tmp_path / "images"
    console_port = free_port()
    settings.CONSOLES_URL = f"ws://127.0.0.1:{console_port}"
    env = {
        "DATABASE_URL": database_url_for_subprocess(),
        "SNPORTAL_IMAGES_DIR": str(settings.IMAGES_DIR),
        "SNPORTAL_CONSOLES_DIR": str(tmp_path / "consoles"),
        "SNPORTAL_CONSOLES_PORT": str(console_port),
        "SNPORTAL_CONSOLES_ORIGINS": live_server.url,
        "SNPORTAL_WORKERS": "1",
    }
    copycds("busybox", actor=ACTOR)
    lab = start_qemu_lab(live_server, tmp_path, memory_mb=256)
    Node.objects.filter(name__in=["lab01", "lab02"]).update(cons="ipmi")
    worker = start(["qcluster"], env, tmp_path / "qcluster.log")
    consoles = start(["runconsoles"], env, tmp_path / "runconsoles.log")
    try:
        yield live_server
    finally:
        for proc in (worker, consoles):
            proc.terminate()  # the leader only: qcluster stops its own children
        for proc in (worker, consoles):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        stop_qemu_lab(lab)


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "1")
    with chromium() as launched:
        yield launched


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    out = Path(os.environ.get("SNPORTAL_SCREENSHOTS_DIR") or tmp_path / "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    return out


def session(browser: Any, base: str, username: str) -> Any:
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    page.set_default_timeout(30_000)
    log_in(page, base, username)
    return page


def mark_no_reload(page: Any) -> None:
    """A flag that only survives if the page is never reloaded."""
    page.evaluate("window.__stillTheSamePage = true")


def still_same_page(page: Any) -> bool:
    return page.evaluate("window.__stillTheSamePage === true")


def wait_for_job(page: Any, timeout_ms: int = 120_000) -> str:
    """On a job page: wait (without reloading) for the job to finish; its final status."""
    mark_no_reload(page)
    page.wait_for_function(
        "['succeeded','failed','cancelled'].includes("
        "document.querySelector('[data-testid=job-status]')?.innerText)",
        timeout=timeout_ms,
    )
    assert still_same_page(page), "the job page reloaded instead of updating live"
    return page.locator("[data-testid=job-status]").inner_text()


def test_operator_builds_netboots_and_watches_two_nodes_boot_live(
    portal: Any, browser: Any, shots: Path
) -> None:
    base = portal.url
    make_user("ada", roles.ADMIN)
    make_user("otto", roles.OPERATOR)
    make_user("vic", roles.VIEWER)

    # Admin: copy the service definition and edit its postinstall (xCAT's lsdef -z | mkdef -z).
    admin = session(browser, base, "ada")
    admin.goto(f"{base}/images/{SOURCE}/")
    admin.click("text=Copy as new definition")
    admin.fill("input[name=imagename]", CUSTOM)
    admin.click("button:has-text('Copy')")
    admin.wait_for_url(f"{base}/images/{CUSTOM}/edit/")
    postinstall = admin.locator("textarea[name=postinstall]")
    postinstall.fill(postinstall.input_value() + '\necho "walkthrough was here" > "$1/etc/motd"\n')
    admin.click("button:has-text('Save')")
    admin.wait_for_url(f"{base}/images/{CUSTOM}/")
    admin.screenshot(path=str(shots / "image-detail.png"), full_page=True)

    # Operator: build and pack, watching the job's log grow without reloading.
    op = session(browser, base, "otto")
    op.goto(f"{base}/images/{CUSTOM}/")
    op.click("button:has-text('Build (genimage)')")
    op.wait_for_url(f"{base}/jobs/*/")
    assert wait_for_job(op) == "succeeded", op.locator("[data-testid=job-log]").inner_text()
    assert "postinstall" in op.locator("[data-testid=job-log]").inner_text()
    op.screenshot(path=str(shots / "job-genimage.png"), full_page=True)
    op.goto(f"{base}/images/{CUSTOM}/")
    op.click("button:has-text('Pack (packimage)')")
    op.wait_for_url(f"{base}/jobs/*/")
    assert wait_for_job(op) == "succeeded"

    # Operator: open the dashboard and the console wall, then netboot both lab nodes.
    dashboard = op.context.new_page()
    dashboard.goto(f"{base}/")
    dashboard.wait_for_selector("text=live updates: on")
    mark_no_reload(dashboard)
    wall = op.context.new_page()
    wall.goto(f"{base}/consoles/wall/?range=lab01,lab02")
    mark_no_reload(wall)
    op.goto(f"{base}/nodes/?noderange=lab")
    op.check("input[name=node][value=lab01]")
    op.check("input[name=node][value=lab02]")
    op.click("[data-testid=netboot-button]")
    op.select_option("select[name=osimage]", CUSTOM)
    op.click("button:has-text('Netboot 2 nodes')")
    op.wait_for_url(f"{base}/jobs/*/")
    assert wait_for_job(op) == "succeeded"
    op.click("[data-testid=boot-progress-link]")
    mark_no_reload(op)

    # Everything reaches booted live: progress rows, dashboard counter, wall tiles.
    op.wait_for_function(
        "document.querySelectorAll('[data-testid^=progress-] .badge.text-bg-success').length == 2",
        timeout=150_000,
    )
    dashboard.wait_for_function(
        "document.querySelector('[data-status-count=booted]').innerText.trim() === '2'",
        timeout=30_000,
    )
    wall.wait_for_function(
        "[...document.querySelectorAll('[data-tile] .xterm-rows')]"
        ".every((rows) => rows.innerText.includes('snportal'))",
        timeout=30_000,
    )
    wall.wait_for_function(
        "[...document.querySelectorAll('[data-tile] [data-status]')]"
        ".every((status) => status.innerText.trim() === 'booted')",
        timeout=30_000,
    )
    for page in (op, dashboard, wall):
        assert still_same_page(page), f"{page.url} reloaded instead of updating live"
    assert set(Node.objects.values_list("status", flat=True)) == {"booted"}
    op.screenshot(path=str(shots / "boot-progress.png"), full_page=True)
    dashboard.screenshot(path=str(shots / "dashboard.png"), full_page=True)
    wall.screenshot(path=str(shots / "console-wall.png"), full_page=True)
    op.goto(f"{base}/nodes/lab01/")
    op.screenshot(path=str(shots / "node-timeline.png"), full_page=True)

    # Viewer: the same pages, no action buttons, and forcing an action is refused.
    viewer = session(browser, base, "vic")
    viewer.goto(f"{base}/images/{CUSTOM}/")
    assert viewer.locator("text=Build (genimage)").count() == 0
    viewer.goto(f"{base}/nodes/")
    assert viewer.locator("[data-testid=netboot-button]").count() == 0
    assert viewer.locator("[data-testid=power-buttons]").count() == 0
    status = viewer.evaluate(
        """async () => {
            const token = document.cookie.split('; ').find((c) => c.startsWith('csrftoken='));
            const body = new URLSearchParams({node: 'lab01', action: 'off'});
            const r = await fetch('/nodes/power/', {method: 'POST', body,
                headers: {'X-CSRFToken': token.split('=')[1]}});
            return r.status;
        }"""
    )
    assert status == 403
    assert AuditEvent.objects.filter(username="vic", outcome="denied").exists()
    viewer.goto(f"{base}/consoles/wall/?range=lab01,lab02")
    assert viewer.locator("[data-testid=read-only]").is_visible()
