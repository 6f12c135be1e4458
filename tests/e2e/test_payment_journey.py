"""The merchant's story in a real browser: sign in, create a link, the payer declines then pays,
the dashboard follows by itself, cancel, expiry, another merchant, a restart, sign out."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from dashboard.core.clock import utc_now
from dashboard.core.ids import new_id
from dashboard.services.payments import NewPaymentLink
from tests.conftest import actor_for

pytestmark = pytest.mark.e2e


def create_link(visitor, amount: str, reference: str, currency: str = "GBP") -> str:
    """Fill in the create form and return the new payment's page URL."""
    page = visitor.page
    page.get_by_role("banner").get_by_role("link", name="Payments").click()
    page.get_by_role("link", name="New payment link").first.click()
    page.get_by_label("Amount").fill(amount)
    page.get_by_label("Currency").select_option(currency)
    page.get_by_label("Reference").fill(reference)
    page.get_by_role("button", name="Create payment link").click()
    expect(page.locator(".head-status")).to_have_text("Awaiting payment")
    return page.url


def test_a_merchant_gets_paid_through_a_link_after_a_declined_attempt(visitor_factory, live_app):
    merchant = visitor_factory()
    merchant.sign_in("alice@example.com")
    page = merchant.page
    expect(page.get_by_text("No payment links yet")).to_be_visible()

    # Bad input first: inline messages, values kept, nothing written.
    page.get_by_role("link", name="New payment link").first.click()
    page.get_by_label("Amount").fill("12.505")
    page.get_by_label("Reference").fill("Invoice 42")
    page.get_by_role("button", name="Create payment link").click()
    expect(page.get_by_text("at most 2 digits after the point")).to_be_visible()
    expect(page.get_by_label("Reference")).to_have_value("Invoice 42")

    page.get_by_label("Amount").fill("12.50")
    page.get_by_role("button", name="Create payment link").click()
    expect(page.locator(".head-status")).to_have_text("Awaiting payment")
    expect(page.locator(".payment-head .amount")).to_have_text("£12.50")
    expect(page.get_by_text("(in 1 day)")).to_be_visible()
    expect(page.locator("figure.qr svg")).to_be_visible()
    link_url = page.locator("#payment-link").get_attribute("href")
    assert re.search(r"/sandbox/links/sbx-link-[0-9a-f]{32}$", link_url)

    merchant.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="Copy link").click()
    expect(page.get_by_role("button", name="Copied!")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == link_url

    # The payer, in another browser, not signed in, declines once...
    payer = visitor_factory(width=390, height=844)
    payer.page.goto(link_url)
    expect(payer.page.get_by_text("£12.50")).to_be_visible()
    expect(payer.page.get_by_text("Invoice 42")).to_be_visible()
    payer.page.get_by_role("button", name="Decline").click()
    expect(payer.page.get_by_text("did not go through")).to_be_visible()
    # ...and the merchant's open page updates by itself (htmx polling).
    expect(page.locator(".head-status")).to_have_text("Attempt failed", timeout=10_000)
    expect(page.get_by_text("The payer's bank declined the payment.").first).to_be_visible()

    payer.page.get_by_role("link", name="Try again").click()
    payer.page.get_by_role("button", name="Pay now").click()
    expect(payer.page.get_by_text("your payment is complete")).to_be_visible()
    expect(page.locator(".head-status")).to_have_text("Completed", timeout=10_000)
    expect(page.get_by_role("button", name="Cancel link")).to_have_count(0)
    expect(page.locator("#payment-poll")).not_to_have_attribute("hx-trigger", re.compile(".+"))

    # The paid link cannot be paid again.
    payer.page.goto(link_url)
    expect(payer.page.get_by_text("already been paid")).to_be_visible()

    # A second link, cancelled; the list shows both, newest first, with badges.
    create_link(merchant, "40", "Order 7", currency="EUR")
    cancelled_link_url = page.locator("#payment-link").get_attribute("href")
    page.get_by_role("button", name="Cancel link").click()  # asks first, in a dialog
    page.get_by_role("dialog").get_by_role("button", name="Cancel link").click()
    expect(page.locator(".head-status")).to_have_text("Cancelled")
    payer.page.goto(cancelled_link_url)
    expect(payer.page.get_by_text("is no longer active")).to_be_visible()
    expect(payer.page.get_by_role("button", name="Pay now")).to_have_count(0)

    page.get_by_role("link", name="Payments").first.click()
    rows = page.locator("table.payments-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Order 7")
    expect(rows.nth(0)).to_contain_text("€40.00")
    expect(rows.nth(0)).to_contain_text("Cancelled")
    expect(rows.nth(1)).to_contain_text("Invoice 42")
    expect(rows.nth(1)).to_contain_text("Completed")


def test_another_merchant_gets_not_found_for_the_first_merchants_payment(visitor_factory):
    alice = visitor_factory()
    alice.sign_in("alice-2@example.com")
    payment_url = create_link(alice, "9.99", "Private 1")

    bob = visitor_factory()
    bob.sign_in("bob@example.com")
    response = bob.page.goto(payment_url)

    assert response.status == 404
    expect(bob.page.get_by_text("Payment not found")).to_be_visible()
    expect(bob.page.get_by_text("Private 1")).to_have_count(0)


def test_a_link_past_its_expiry_shows_expired_and_cannot_be_paid(visitor_factory, live_app):
    merchant = visitor_factory()
    merchant.sign_in("carol@example.com")
    service = live_app.app.extensions["payment_service"]
    with live_app.app.test_request_context(base_url=live_app.url):
        payment = service.create_payment_link(
            actor_for(live_app.account_of("carol@example.com")),
            NewPaymentLink(
                payment_id=new_id(),
                amount_minor=500,
                currency="GBP",
                reference="Soon gone",
                expires_at=utc_now() + timedelta(seconds=2),
            ),
        )
    merchant.page.goto(f"{live_app.url}/payments/{payment.payment_id}")
    expect(merchant.page.locator(".head-status")).to_have_text("Expired", timeout=10_000)

    payer = visitor_factory()
    payer.page.goto(payment.link_url)
    expect(payer.page.get_by_text("has expired")).to_be_visible()
    expect(payer.page.get_by_role("button", name="Pay now")).to_have_count(0)
    merchant.page.reload()
    expect(merchant.page.locator(".head-status")).to_have_text("Expired")
    expect(merchant.page.get_by_text("The link expired unpaid.")).to_be_visible()


def test_payments_survive_a_restart_and_sign_out_ends_the_session(visitor_factory, live_app):
    merchant = visitor_factory()
    merchant.sign_in("dave@example.com")
    payment_url = create_link(merchant, "1,250.00", "Kept 1")

    merchant.page.get_by_role("banner").get_by_role("link", name="Payments").click()  # stop polling
    merchant.context.close()  # the browser is closed too: nothing is kept on the client side

    live_app.restart()

    merchant = visitor_factory()
    merchant.sign_in("dave@example.com")
    merchant.page.goto(payment_url)
    expect(merchant.page.locator(".payment-head .amount")).to_have_text("£1,250.00")
    expect(merchant.page.locator(".head-status")).to_have_text("Awaiting payment")

    merchant.page.get_by_role("button", name="Sign out").click()
    # The provider's logout page asks for a confirming click, then sends the browser back.
    merchant.page.get_by_role("button").first.click()
    merchant.page.wait_for_url(f"{live_app.url}/")
    expect(merchant.page.get_by_role("link", name="Sign in")).to_be_visible()
    merchant.page.goto(payment_url)
    expect(merchant.page).to_have_url(re.compile(r"/login|:\d+/authorize|/oauth2/authorize"))
