"""Refunds in a real browser: pay, settle, a partial refund, execute, a second refund of the
rest, Refunded; then the bank returns one and the figures reverse."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.test_payment_journey import create_link

pytestmark = pytest.mark.e2e


def _on_the_sandbox(page, payment_url: str, button: str) -> None:
    """Open the payment's sandbox controls, press ``button``, come back to the payment."""
    page.get_by_role("link", name="Sandbox controls").click()
    page.get_by_role("button", name=button).click()
    expect(page.get_by_text("Sandbox bank")).to_be_visible()
    page.goto(payment_url)


def _refund(page, amount: str | None, reason: str = "") -> None:
    page.get_by_role("button", name="Refund").click()
    expect(page.get_by_role("heading", name="Refund payment")).to_be_visible()
    if amount is not None:
        page.get_by_label("Refund amount").fill(amount)
    if reason:
        page.get_by_label("Reason (optional)").fill(reason)
    page.get_by_role("button", name="Refund payment").click()


def test_a_merchant_refunds_a_payment_in_two_parts_and_a_return_reverses_one(visitor_factory):
    merchant = visitor_factory()
    merchant.sign_in("refunds@example.com")
    page = merchant.page
    payment_url = create_link(merchant, "20.00", "Order 77")
    payer = visitor_factory(width=390, height=844)
    payer.page.goto(page.locator("#payment-link").get_attribute("href"))
    payer.page.get_by_role("button", name="Pay now").click()
    expect(page.locator(".head-status")).to_have_text("Completed", timeout=10_000)

    # A partial refund before the payment settled: accepted, and it says it waits.
    _refund(page, "5.00", "Damaged box")
    expect(page.get_by_text("It starts when the payment has settled")).to_be_visible()
    refunds = page.locator("#payment-refunds")
    expect(refunds.get_by_text("Waiting for the payment to settle.")).to_be_visible()
    expect(refunds.get_by_text("Damaged box")).to_be_visible()

    _on_the_sandbox(page, payment_url, "Settle payment")
    _on_the_sandbox(page, payment_url, "Execute refund of £5.00")
    expect(page.locator(".refund-summary")).to_contain_text("Partly refunded")
    expect(page.locator(".refund-summary")).to_contain_text("£5.00 of £20.00")
    expect(page.locator(".head-status")).to_have_text("Completed")  # the payment stays so

    # The rest: the form offers exactly what is left.
    page.get_by_role("button", name="Refund").click()
    expect(page.get_by_label("Refund amount")).to_have_value("15.00")
    page.get_by_role("button", name="Refund payment").click()
    _on_the_sandbox(page, payment_url, "Execute refund of £15.00")
    expect(page.locator(".refund-summary .badge")).to_have_text("Refunded")
    expect(page.get_by_role("button", name="Refund")).to_have_count(0)
    expect(page.locator("#payment-timeline")).to_contain_text("Refund executed")

    # The payer's bank sends the £15.00 back: the payment is partly refunded again.
    _on_the_sandbox(page, payment_url, "Return refund of £15.00")
    expect(page.locator(".refund-summary")).to_contain_text("Partly refunded")
    expect(refunds.get_by_text("The payer's bank returned the money.")).to_be_visible()
    expect(page.get_by_role("button", name="Refund")).to_be_visible()
