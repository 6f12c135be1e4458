"""One real Chromium (Debian's, driven by Playwright) for the whole session, and helpers."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright

from tests.live import LiveApp

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless; Playwright cannot download browsers here."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium is missing at {CHROMIUM}: install it with apt-get install chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Visitor:
    """One person with their own browser profile (cookies), who watches the app's console."""

    def __init__(self, context: BrowserContext, app: LiveApp):
        self.context = context
        self.page: Page = context.new_page()
        self.page.set_default_timeout(15_000)
        self.app_errors: list[str] = []
        self.page.on("console", self._on_console)
        self._app = app

    def _on_console(self, message: ConsoleMessage) -> None:
        # Only the app's own pages count: the local OIDC provider's pages fetch a CDN stylesheet
        # that this offline machine cannot reach. Chrome also logs every 4xx answer (a 422 form
        # re-render, a 404 page) as an error; those are the app's intended answers, not faults.
        if message.type != "error" or not message.location.get("url", "").startswith(self._app.url):
            return
        if message.text.startswith("Failed to load resource: the server responded with a status"):
            return
        self.app_errors.append(message.text)

    def sign_in(self, subject: str) -> None:
        """Sign in through the real OIDC provider's page."""
        self.page.goto(self._app.url + "/")
        self.page.get_by_role("link", name="Sign in").click()
        self.page.locator("input[name=sub]").fill(subject)
        self.page.get_by_role("button", name="Authorize").click()
        self.page.wait_for_url(f"{self._app.url}/payments")


@pytest.fixture
def visitor_factory(browser: Browser, live_app: LiveApp) -> Iterator:
    """Make visitors (separate browser profiles); each must leave no console errors behind."""
    contexts: list[BrowserContext] = []
    visitors: list[Visitor] = []

    def make(width: int = 1280, height: int = 900, color_scheme: str = "light") -> Visitor:
        context = browser.new_context(
            viewport={"width": width, "height": height}, color_scheme=color_scheme
        )
        contexts.append(context)
        visitor = Visitor(context, live_app)
        visitors.append(visitor)
        return visitor

    yield make
    for context in contexts:
        context.close()
    errors = [error for visitor in visitors for error in visitor.app_errors]
    assert errors == [], f"the app's pages logged console errors (CSP?): {errors}"
