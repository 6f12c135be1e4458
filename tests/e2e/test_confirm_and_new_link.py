"""Cancelling a payment link asks once, in a dialog or, without JavaScript, on a confirm page;
and the new-payment-link form's details: focus, the currency symbol, a live count, the URL."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from dashboard.core.ids import new_id
from tests.e2e.conftest import Visitor
from tests.live import LiveApp

pytestmark = pytest.mark.e2e


def create_link(page: Page, amount: str, reference: str) -> str:
    """Fill in the create form; return the new payment's page URL."""
    page.get_by_role("link", name="New payment link").first.click()
    page.get_by_label("Amount").fill(amount)
    page.get_by_label("Reference").fill(reference)
    page.get_by_role("button", name="Create payment link").click()
    expect(page.locator(".head-status")).to_have_text("Awaiting payment")
    return page.url


def snap(page: Page, artifacts: Path, name: str) -> None:
    """Save a full-page screenshot, and check the page never scrolls sideways."""
    page.screenshot(path=str(artifacts / f"confirm-{name}.png"), full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name}: the page is {overflow}px wider than the screen"


@pytest.mark.parametrize(
    ("device", "width", "height"), [("desktop", 1280, 900), ("phone", 390, 844)]
)
def test_cancel_link_asks_in_a_dialog_that_polling_leaves_open(
    visitor_factory, artifacts_dir, device, width, height
):
    merchant = visitor_factory(width=width, height=height)
    merchant.sign_in(f"confirm-dialog-{device}@example.com")
    page = merchant.page
    url = create_link(page, "12.50", "Invoice 42")

    cancel = page.get_by_role("button", name="Cancel link")
    cancel.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_have_text("Cancel this payment link?")
    expect(dialog).to_contain_text("The link for Invoice 42 stops working")
    assert page.url == url  # the dialog, not the confirm page
    snap(page, artifacts_dir, f"cancel-dialog-{device}")
    # The page polls every 3 s while the link is live; an open dialog holds the polling off.
    page.wait_for_timeout(4_000)
    expect(dialog).to_be_visible()

    dialog.get_by_role("button", name="Keep it").click()
    expect(dialog).to_be_hidden()
    expect(cancel).to_be_focused()
    expect(page.locator(".head-status")).to_have_text("Awaiting payment")

    cancel.click()
    dialog.get_by_role("button", name="Cancel link").click()
    expect(page.locator(".head-status")).to_have_text("Cancelled")
    expect(page.get_by_text("The payment link is cancelled")).to_be_visible()


def test_cancel_link_without_javascript_asks_on_a_confirm_page(
    browser: Browser, live_app: LiveApp, artifacts_dir
):
    context = browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False)
    try:
        merchant = Visitor(context, live_app)
        merchant.sign_in("confirm-nojs@example.com")
        page = merchant.page
        url = create_link(page, "9", "No script")
        page.goto(live_app.url + "/payments/new")
        expect(page.locator(".currency-symbol")).to_have_text("GBP")  # the code, without JS
        expect(page.locator("#reference-count")).to_have_text("0 / 18")
        page.goto(url)

        page.get_by_role("button", name="Cancel link").click()
        expect(page).to_have_url(url + "/cancel/confirm")
        expect(page.get_by_role("heading", level=1)).to_have_text("Cancel this payment link?")
        expect(page.get_by_text("The link for No script stops working")).to_be_visible()
        snap(page, artifacts_dir, "cancel-page-phone-nojs")

        page.get_by_role("button", name="Keep it").click()  # a link back, styled as a button
        expect(page).to_have_url(url)
        expect(page.locator(".head-status")).to_have_text("Awaiting payment")

        page.get_by_role("button", name="Cancel link").click()
        page.get_by_role("button", name="Cancel link").click()  # the confirm page's own button
        expect(page).to_have_url(url)
        expect(page.locator(".head-status")).to_have_text("Cancelled")
    finally:
        context.close()


@pytest.mark.parametrize(
    ("device", "width", "height"), [("desktop", 1280, 900), ("phone", 390, 844)]
)
def test_the_new_link_form_focuses_amount_shows_the_symbol_and_counts_the_reference(
    visitor_factory, artifacts_dir, device, width, height
):
    merchant = visitor_factory(width=width, height=height)
    merchant.sign_in(f"confirm-form-{device}@example.com")
    page = merchant.page
    page.get_by_role("link", name="New payment link").first.click()
    form_url = page.url

    expect(page.get_by_label("Amount")).to_be_focused()
    symbol = page.locator(".currency-symbol")
    expect(symbol).to_have_text("£")
    page.get_by_label("Currency").select_option("EUR")
    expect(symbol).to_have_text("€")
    # Beside the amount, on its left, on one line.
    symbol_box = symbol.bounding_box()
    amount_box = page.get_by_label("Amount").bounding_box()
    assert symbol_box
    assert amount_box
    assert symbol_box["x"] + symbol_box["width"] <= amount_box["x"] + 1
    assert abs(symbol_box["y"] - amount_box["y"]) < 2

    count = page.locator("#reference-count")
    expect(count).to_have_text("0 / 18")
    page.get_by_label("Amount").fill("12.50")
    page.get_by_label("Reference").press_sequentially("Invoice 42")
    expect(count).to_have_text("10 / 18")
    page.get_by_label("Reference").fill("Invoice #42 & more stuff!!")
    expect(page.get_by_label("Reference")).to_have_value("Invoice #42 & more stuff!!")  # not cut
    expect(count).to_have_text("26 / 18 (8 too many)")
    expect(count).to_have_class(re.compile(r"\bover\b"))
    snap(page, artifacts_dir, f"new-link-over-{device}")

    page.get_by_role("button", name="Create payment link").click()
    expect(page.get_by_text("Use at most 18 characters (this has 26)")).to_be_visible()
    assert page.url == form_url  # the 422 is the form's own address
    expect(page.get_by_label("Reference")).to_be_focused()
    expect(page.get_by_label("Reference")).to_have_value("Invoice #42 & more stuff!!")
    expect(symbol).to_have_text("€")
    snap(page, artifacts_dir, f"new-link-422-{device}")

    page.get_by_label("Reference").fill("Invoice 42 more")
    expect(count).to_have_text("15 / 18")
    page.get_by_role("button", name="Create payment link").click()
    expect(page.locator(".head-status")).to_have_text("Awaiting payment")
    expect(page.locator(".payment-head .amount")).to_have_text("€12.50")


@pytest.mark.parametrize(
    ("device", "width", "height"), [("desktop", 1280, 900), ("phone", 390, 844)]
)
def test_team_actions_ask_in_a_dialog_that_names_the_member(
    visitor_factory, live_app, oidc_provider, artifacts_dir, device, width, height
):
    suffix = new_id()[-8:]
    owner_email, bob_email = f"owner-{suffix}@example.com", f"bob-{suffix}@example.com"
    for email in (owner_email, bob_email):
        answer = requests.put(
            f"{oidc_provider.url}/users/{email}",
            json={"email": email, "email_verified": True},
            timeout=10,
        )
        assert answer.status_code == 204
    owner = visitor_factory(width=width, height=height)
    owner.sign_in(owner_email)
    page = owner.page
    page.goto(live_app.url + "/settings/team")
    page.get_by_label("Email").fill(bob_email)
    page.get_by_role("button", name="Invite member").click()
    link = page.get_by_label("Invitation link").input_value()
    bob = visitor_factory(width=width, height=height)
    bob.sign_in(bob_email)
    bob.page.goto(link)
    bob.page.get_by_role("button", name="Accept invitation").click()
    bob.page.wait_for_url(f"{live_app.url}/payments")

    # Transfer ownership: the chosen member's dialog, naming them.
    page.goto(live_app.url + "/settings/team")
    page.get_by_role("button", name="Transfer ownership…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading")).to_have_text(f"Make {bob_email} the Owner?")
    snap(page, artifacts_dir, f"team-transfer-dialog-{device}")
    dialog.get_by_role("button", name="Keep it").click()
    expect(dialog).to_be_hidden()

    page.get_by_role("button", name=f"Remove {bob_email}").click()
    expect(dialog.get_by_role("heading")).to_have_text(f"Remove {bob_email}?")
    snap(page, artifacts_dir, f"team-remove-dialog-{device}")
    dialog.get_by_role("button", name="Remove member").click()
    expect(page.get_by_text(f"{bob_email} is no longer a member")).to_be_visible()
    snap(page, artifacts_dir, f"team-after-remove-{device}")
