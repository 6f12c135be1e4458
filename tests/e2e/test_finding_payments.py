"""Finding payments in a real browser: tiles, filters, search as you type, load more, the back
button, and a CSV download that equals the filtered list."""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import expect

from dashboard.core.ids import new_id
from dashboard.services.payments import NewPaymentLink
from tests.conftest import actor_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def seeded_merchant(live_app, visitor_factory):
    """A merchant with 30 invoices in pounds (3 paid), 5 orders in euros, signed in."""
    subject = f"finder-{new_id()[-8:]}@example.com"
    service = live_app.app.extensions["payment_service"]
    provider = live_app.app.extensions["payment_provider"]
    with live_app.app.test_request_context(base_url=live_app.url):
        for n in range(30):
            payment = service.create_payment_link(
                actor_for(subject),
                NewPaymentLink(new_id(), 1000 + n, "GBP", f"Invoice {n}", payer_name="Ann Lee"),
            )
            if n % 10 == 0:
                for event in provider.pay(payment.provider_link_id):
                    service.apply_provider_event(event)
        for n in range(5):
            service.create_payment_link(
                actor_for(subject), NewPaymentLink(new_id(), 4200, "EUR", f"Order {n}")
            )
    visitor = visitor_factory()
    visitor.sign_in(subject)
    return visitor


def rows(page):
    return page.locator("table.payments-table tbody tr:not(#load-more)")


def test_tiles_filters_search_and_load_more(seeded_merchant, live_app):
    page = seeded_merchant.page
    expect(page.get_by_role("link", name=re.compile(r"^All\s+35$"))).to_be_visible()
    expect(page.get_by_role("link", name=re.compile(r"^Completed\s+3$"))).to_be_visible()
    expect(page.get_by_role("link", name=re.compile(r"^Pending\s+32$"))).to_be_visible()
    expect(rows(page)).to_have_count(25)

    # Load more appends the next rows without changing the URL.
    url_before = page.url
    page.get_by_role("link", name="Load more").click()
    expect(rows(page)).to_have_count(35)
    expect(page.get_by_role("link", name="Load more")).to_have_count(0)
    assert page.url == url_before

    # A status tile filters the list and puts the filter in the URL.
    page.get_by_role("link", name=re.compile(r"^Completed\s+3$")).click()
    expect(rows(page)).to_have_count(3)
    expect(page).to_have_url(re.compile(r"status=completed"))

    # Search as you type, within the filter; matches are highlighted.
    page.get_by_label("Search").press_sequentially("invoice 2", delay=40)
    expect(page).to_have_url(re.compile(r"q=invoice(\+|%20)2"))
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("Invoice 20")
    expect(rows(page).first.locator("mark").first).to_have_text("Invoice")

    # The back button restores the list exactly as it was before the search.
    page.go_back()
    expect(page).to_have_url(re.compile(r"status=completed$"))
    expect(rows(page)).to_have_count(3)

    # Currency filter from the filter bar; counts follow the currency.
    page.get_by_role("link", name="Clear filters").first.click()
    page.get_by_label("Currency").select_option("EUR")
    expect(page).to_have_url(re.compile(r"currency=EUR"))
    expect(rows(page)).to_have_count(5)
    expect(page.get_by_role("link", name=re.compile(r"^All\s+5$"))).to_be_visible()

    # A reload shows exactly the same list.
    page.reload()
    expect(rows(page)).to_have_count(5)
    expect(page.get_by_label("Currency")).to_have_value("EUR")


def test_an_amount_search_and_the_csv_download_match(seeded_merchant):
    page = seeded_merchant.page
    page.get_by_label("Search").fill("€42")
    expect(rows(page)).to_have_count(5)
    listed = sorted(rows(page).locator("td[data-label=Reference]").all_inner_texts())

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    content = download_info.value.path().read_text(encoding="utf-8")

    exported = list(csv.DictReader(io.StringIO(content)))
    assert sorted(row["reference"] for row in exported) == listed
    assert {row["amount"] for row in exported} == {"42.00"}
    assert {row["currency"] for row in exported} == {"EUR"}


def test_the_list_says_how_many_match_and_offers_no_export_for_none(seeded_merchant):
    page = seeded_merchant.page
    page.get_by_label("Search").fill("€42")
    expect(page.locator(".result-count")).to_have_text("5 payments match")
    expect(page.get_by_text("not only those matching the search")).to_be_visible()

    page.get_by_label("Search").fill("nothing like this")
    expect(page.get_by_role("heading", name="No payments match")).to_be_visible()
    expect(page.get_by_role("link", name="Export CSV")).to_have_count(0)
    expect(page.get_by_text("Export CSV is not offered: no payments match.")).to_be_visible()
    page.get_by_label("Search").fill("invoice")
    expect(page.locator(".result-count")).to_have_text("25+ shown, more below")


def test_bad_filters_get_a_clear_message_not_an_error_page(seeded_merchant, live_app):
    page = seeded_merchant.page

    response = page.goto(f"{live_app.url}/payments?status=lost&from=2026-13-01&q=<b>x</b>")

    assert response.status == 400
    expect(page.get_by_text("Unknown status")).to_be_visible()
    expect(page.get_by_text("The start date must be a date")).to_be_visible()
    expect(page.get_by_role("link", name="Clear filters")).to_be_visible()
    assert page.locator("b", has_text="x").count() == 0
