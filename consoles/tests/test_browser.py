"""Headless chromium opens consoles the way an operator does, and sees the output in xterm."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from consoles.tests.conftest import ServerThread
from nodes.models import Node
from snportal import roles
from testsupport.browser import chromium, log_in
from testsupport.personas import make_user
from testsupport.waiting import wait_until

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium"),
]


@pytest.fixture
def page(live_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "1")
    with chromium() as browser:
        yield browser.new_page(viewport={"width": 1400, "height": 900})


@pytest.fixture
def consoles(live_server: Any, settings: Any, tmp_path: Path) -> Iterator[ServerThread]:
    server = ServerThread(None, tmp_path, origins=(live_server.url,))
    settings.CONSOLES_URL = f"ws://127.0.0.1:{server.port}"
    yield server
    server.stop()


def terminal_text(page: Any, selector: str = "[data-testid=terminal]") -> str:
    return page.locator(f"{selector} .xterm-rows").inner_text()


def test_an_operator_watches_boot_output_and_types_into_the_console(
    page: Any, live_server: Any, consoles: ServerThread
) -> None:
    make_user("olga", roles.OPERATOR)
    Node.objects.create(name="lab01", bmc="127.0.0.1:16000", cons="ipmi")
    consoles.add_node("lab01")
    consoles.feed("lab01", b"SeaBIOS (version 1.16)\r\nLinux version 6.1.0-56-amd64\r\n")
    log_in(page, live_server.url, "olga")
    page.goto(f"{live_server.url}/consoles/lab01/")
    page.wait_for_function(
        "document.querySelector('[data-testid=terminal] .xterm-rows')"
        "?.innerText.includes('Linux version')"
    )
    assert page.locator("[data-testid=console-state]").inner_text() == "connected"
    consoles.feed("lab01", b"lab01 login: ")
    page.wait_for_function(
        "document.querySelector('[data-testid=terminal] .xterm-rows').innerText.includes('login:')"
    )
    page.locator("[data-testid=terminal]").click()
    page.keyboard.type("root\n")
    wait_until(
        lambda: b"root\r" in consoles.sources["lab01"].typed,
        10,
        0.05,
        message="typed keys never reached the console",
    )
    assert "SeaBIOS" in terminal_text(page)


def test_a_viewer_gets_a_read_only_wall_of_live_tiles(
    page: Any, live_server: Any, consoles: ServerThread
) -> None:
    make_user("vera", roles.VIEWER)
    names = [f"lab{i:02d}" for i in range(1, 51)]
    for name in names:
        Node.objects.create(name=name, bmc="127.0.0.1:16000", cons="ipmi", status="booting")
        consoles.add_node(name)
    log_in(page, live_server.url, "vera")
    page.goto(f"{live_server.url}/consoles/wall/?range=lab01-lab50")
    assert page.locator("[data-testid=read-only]").is_visible()
    page.wait_for_function("document.querySelectorAll('[data-tile] .badge.text-bg-success')"
                           ".length === 50")  # fmt: skip
    started = time.monotonic()
    for second in range(3):  # 50 consoles × 20 lines a second, for 3 seconds
        for line in range(20):
            for name in names:
                consoles.feed(name, b"%s boot line %d.%d\r\n" % (name.encode(), second, line))
        time.sleep(max(0.0, started + second + 1 - time.monotonic()))
    page.wait_for_function(
        "[...document.querySelectorAll('[data-tile] .xterm-rows')]"
        ".every((rows) => rows.innerText.includes('boot line 2.19'))",
        timeout=15000,
    )
    # The page still answers promptly while 50 terminals render.
    lag = page.evaluate(
        "() => new Promise((done) => { const t = performance.now();"
        " setTimeout(() => done(performance.now() - t), 0); })"
    )
    assert lag < 200
