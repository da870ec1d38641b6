"""Live updates keep what the operator is doing (issue 11), in a real browser.

Debian's chromium through Playwright against real processes: the portal (pytest-django's
live server) and the console server (``runconsoles``) that LISTENs for the portal's NOTIFY
events and pushes them to the page. Node statuses change through the boot service's own
functions (nodeset, the iPXE script, a status report), which publish the events as in
production; nothing is faked.
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

from images.tests.factories import make_image, make_version
from lab.ports import free_base_port
from nodes import netboot
from nodes.models import Node
from nodes.tests.factories import make_node
from snportal import audit, roles
from testsupport.personas import PASSWORD, make_user
from testsupport.processes import database_url_for_subprocess

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium"),
]
BASE = Path(__file__).resolve().parent.parent
ACTOR = audit.Actor(None, "test@cli")
IMAGE = "busybox-x86_64-netboot-compute"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
def consoles(live_server: Any, settings: Any, tmp_path: Path) -> Iterator[None]:
    """The real console server process, relaying the portal's NOTIFY events to pages."""
    port = free_base_port(1, tcp=True)
    settings.CONSOLES_URL = f"ws://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "SNPORTAL_CONSOLES_DIR": str(tmp_path / "consoles"),
        "SNPORTAL_CONSOLES_PORT": str(port),
        "SNPORTAL_CONSOLES_ORIGINS": live_server.url,
    }
    log = (tmp_path / "runconsoles.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, str(BASE / "manage.py"), "runconsoles"],
        cwd=BASE,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def page(live_server: Any, consoles: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "1")
    make_user("olga", roles.OPERATOR)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 700})
        page.set_default_timeout(20_000)
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=username]", "olga")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        yield page
        browser.close()


@pytest.fixture
def nodes(settings: Any, tmp_path: Path) -> list[str]:
    """40 nodes (more than a screen) and a packed image to netboot them with."""
    settings.IMAGES_DIR = tmp_path / "images"
    image = make_image(IMAGE)
    image.current_version = make_version(image)
    image.save(update_fields=["current_version"])
    names = [f"n{i:02d}" for i in range(1, 41)]
    for i, name in enumerate(names, 1):
        make_node(name, mac=f"52:54:00:00:07:{i:02x}")
    return names


def start_booting(name: str) -> None:
    """nodeset + the node's iPXE script: the status becomes powering-on, with NOTIFY."""
    netboot.nodeset([name], f"osimage={IMAGE}", actor=ACTOR)
    netboot.script_for(Node.objects.get(name=name).mac, address="127.0.0.1")


def open_node_list(page: Any, base: str) -> None:
    """The node list, subscribed to live events (its resync re-render may still follow)."""
    page.goto(f"{base}/nodes/")
    page.wait_for_function(
        "document.querySelector('[data-live-state]').textContent === 'live updates: on'"
    )


def wait_for_rerender(page: Any, name: str) -> None:
    """Until the server re-rendered ``name``'s row: only a re-render fills in its image."""
    page.wait_for_function(
        f"document.querySelector('tr[data-key={name}]').innerText.includes('{IMAGE}')"
    )


def test_node_list_updates_keep_ticks_focus_and_scroll(
    page: Any, live_server: Any, nodes: list[str]
) -> None:
    open_node_list(page, live_server.url)
    page.check("input[name=node][value=n03]")
    page.check("input[name=node][value=n30]")  # the last click: focus stays on it
    page.evaluate("window.scrollTo(0, 350)")

    start_booting("n30")
    start_booting("n31")

    status = "[data-node-status=n31]"
    page.wait_for_function(f"document.querySelector('{status}').textContent === 'powering-on'")
    wait_for_rerender(page, "n31")
    ticked = page.eval_on_selector_all(
        "input[name=node]:checked", "boxes => boxes.map(b => b.value)"
    )
    assert ticked == ["n03", "n30"]
    assert page.evaluate("document.activeElement.value") == "n30"
    assert page.evaluate("window.scrollY") == 350
    assert page.locator("[data-node-status=n30]").inner_text() == "powering-on"


def test_select_all_survives_updates_and_a_filter_being_typed(
    page: Any, live_server: Any, nodes: list[str]
) -> None:
    open_node_list(page, live_server.url)
    page.check("input[aria-label='select all on this page']")
    page.click("input[name=noderange]")
    page.keyboard.type("n0")

    start_booting("n02")
    wait_for_rerender(page, "n02")
    page.keyboard.type("5")

    assert page.is_checked("input[aria-label='select all on this page']")
    assert page.eval_on_selector_all("input[name=node]:not(:checked)", "boxes => boxes.length") == 0
    assert page.input_value("input[name=noderange]") == "n05"
    assert page.evaluate("document.activeElement.name") == "noderange"
    assert page.locator("[data-node-status=n02]").inner_text() == "powering-on"
