"""Debian's chromium through Playwright, for the browser tests: one launch and one login."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from testsupport.personas import PASSWORD

# Headless chromium as root in a container, with nothing phoning home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def chromium() -> Iterator[Any]:
    """A Playwright chromium browser for the ``with`` block.

    Playwright's sync API keeps an event loop on this thread: the caller sets
    ``DJANGO_ALLOW_ASYNC_UNSAFE`` so the test's ORM calls (plain synchronous code) still run.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def log_in(page: Any, base: str, username: str, password: str = PASSWORD) -> None:
    """Sign in through the login form and wait for the dashboard."""
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
