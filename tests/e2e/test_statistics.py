"""The statistics page in a real browser: range choices, figures, charts and their tables."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from dashboard.core.ids import new_id
from dashboard.services.payments import NewPaymentLink
from tests.conftest import actor_for

pytestmark = pytest.mark.e2e


def test_a_merchant_reads_the_statistics_for_a_range(live_app, visitor_factory, artifacts_dir):
    subject = f"stats-{new_id()[-8:]}@example.com"
    service = live_app.app.extensions["payment_service"]
    provider = live_app.app.extensions["payment_provider"]
    with live_app.app.test_request_context(base_url=live_app.url):
        for amount in (1250, 2750):
            payment = service.create_payment_link(
                actor_for(subject), NewPaymentLink(new_id(), amount, "GBP", "Invoice 9")
            )
            for event in provider.pay(payment.provider_link_id):
                service.apply_provider_event(event)
        service.create_payment_link(
            actor_for(subject), NewPaymentLink(new_id(), 990, "EUR", "Order 1")
        )

    visitor = visitor_factory(width=390, height=844)  # a phone
    visitor.sign_in(subject)
    page = visitor.page
    page.get_by_role("link", name="Statistics").click()
    expect(page.get_by_role("heading", name="GBP")).to_be_visible()
    expect(page.get_by_role("link", name="30 days")).to_have_attribute("aria-current", "page")

    page.get_by_role("link", name="7 days").click()
    expect(page).to_have_url(re.compile(r"/stats\?days=7$"))
    expect(page.get_by_role("link", name="7 days")).to_have_attribute("aria-current", "page")
    gbp = page.locator("section.currency-stats").filter(has=page.get_by_role("heading", name="GBP"))
    expect(gbp.locator(".kpi").first).to_contain_text("£40.00")
    expect(gbp.locator(".kpi").nth(1)).to_contain_text("2")
    expect(gbp.locator("svg.chart").first).to_be_visible()

    gbp.get_by_text("Show the numbers").first.click()
    table = gbp.locator("table.data-table").first
    expect(table).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(7)
    expect(table.locator("tbody tr").last).to_contain_text("£40.00")

    page.go_back()
    expect(page).to_have_url(re.compile(r"/stats$"))
    expect(page.get_by_role("link", name="30 days")).to_have_attribute("aria-current", "page")

    # "7 days, EUR only": the currency is its own choice and keeps the range; no dates typed.
    page.get_by_role("link", name="7 days").click()
    expect(page).to_have_url(re.compile(r"/stats\?days=7$"))
    page.get_by_role("navigation", name="Currency").get_by_role("link", name="EUR").click()
    expect(page).to_have_url(re.compile(r"/stats\?currency=EUR&days=7$"))
    expect(page.get_by_role("heading", name="EUR")).to_be_visible()
    expect(page.get_by_role("heading", name="GBP")).to_have_count(0)
    expect(page.get_by_role("link", name="7 days")).to_have_attribute("aria-current", "page")
    page.screenshot(path=str(artifacts_dir / "stats-eur-7-days-phone.png"), full_page=True)
    page.get_by_role("navigation", name="Currency").get_by_role("link", name="Both").click()
    expect(page).to_have_url(re.compile(r"/stats\?days=7$"))
