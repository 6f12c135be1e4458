"""The Payments and Orders lists in a real browser: one pattern, on a wide screen and a phone.

Orders search as you type without losing focus or letters; on a 390 × 844 phone the filter
fields fold behind a Filters button (its count says how many are active; open while one is), so
the first row starts on the first screen; every row is a target at least 44 px tall.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from dashboard.core.ids import new_id
from dashboard.domain.orders import OrderFields
from dashboard.services.payments import NewPaymentLink
from tests.conftest import actor_for

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
LISTS = {"payments": "table.payments-table", "orders": "table.orders-table"}


@pytest.fixture
def seeded(live_app):
    """A merchant with 12 payment links and 12 orders (some in euros); returns its subject."""
    subject = f"lists-{new_id()[-8:]}@example.com"
    app = live_app.app
    payments, orders = app.extensions["payment_service"], app.extensions["order_service"]
    with app.test_request_context(base_url=live_app.url):
        for n in range(12):
            currency = "EUR" if n % 4 == 0 else "GBP"
            payments.create_payment_link(
                actor_for(subject),
                NewPaymentLink(new_id(), 1000 + n, currency, f"Invoice {n}", payer_name="Ann Lee"),
            )
            customer = "Charles Babbage" if n == 5 else f"Customer {n}"
            orders.create_order(
                actor_for(subject),
                new_id(),
                OrderFields(
                    customer_name=customer,
                    customer_email=f"c{n}@example.com",
                    product_name="Engine manual",
                    quantity=1 + n,
                    unit_price=Decimal("9.99"),
                    currency=currency,
                ),
            )
    return subject


def rows(page: Page, which: str):
    return page.locator(f"{LISTS[which]} tbody tr:not(#load-more)")


def first_row_top(page: Page, which: str) -> float:
    box = rows(page, which).first.bounding_box()
    assert box is not None
    return box["y"]


def test_orders_search_as_you_type_keeps_focus_and_every_letter(seeded, visitor_factory):
    visitor = visitor_factory()
    visitor.sign_in(seeded)
    page = visitor.page
    page.goto(page.url.replace("/payments", "/orders"))
    expect(rows(page, "orders")).to_have_count(12)
    expect(page.get_by_role("link", name=re.compile(r"^All\s+12$"))).to_be_visible()
    expect(page.get_by_role("button", name="Search")).to_have_count(0)  # no button: as you type

    box = page.get_by_label("Search")
    box.press_sequentially("babb", delay=60)
    expect(page).to_have_url(re.compile(r"q=babb"))
    expect(rows(page, "orders")).to_have_count(1)
    # Typing on after the results were swapped: the box kept focus and every letter.
    box.press_sequentially("age", delay=60)
    expect(page).to_have_url(re.compile(r"q=babbage"))
    expect(rows(page, "orders")).to_have_count(1)
    expect(box).to_be_focused()
    expect(box).to_have_value("babbage")
    expect(rows(page, "orders").first).to_contain_text("Charles Babbage")
    # The tiles still count every order, and the line above the rows counts the matches.
    expect(page.get_by_role("link", name=re.compile(r"^All\s+12$"))).to_be_visible()
    expect(page.locator("#result-count")).to_have_text("1 order matches")

    # A currency chosen from the filters narrows the tiles too, through the currency index.
    page.get_by_role("link", name="Clear filters").first.click()
    page.get_by_label("Currency").select_option("EUR")
    expect(page).to_have_url(re.compile(r"currency=EUR"))
    expect(rows(page, "orders")).to_have_count(3)
    expect(page.get_by_role("link", name=re.compile(r"^All\s+3$"))).to_be_visible()


@pytest.mark.parametrize("which", ["payments", "orders"])
def test_on_a_phone_the_filters_fold_and_the_first_row_is_on_the_first_screen(
    seeded, visitor_factory, which, record_property
):
    visitor = visitor_factory(**PHONE)
    visitor.sign_in(seeded)
    page = visitor.page
    page.goto(page.url.replace("/payments", f"/{which}"))
    expect(rows(page, which).first).to_be_visible()
    toggle = page.locator("summary.filters-toggle")
    expect(toggle).to_be_visible()
    expect(toggle).to_have_text(re.compile(r"^Filters\s*$"))
    expect(page.get_by_label("Search")).to_be_visible()
    expect(page.get_by_label("Currency")).to_be_hidden()

    folded = first_row_top(page, which)
    # What the page was before: every filter field open above the rows.
    page.evaluate(
        "document.querySelector('details.filters-fold').open = true;"
        "document.querySelector('summary.filters-toggle').style.display = 'none'"
    )
    unfolded = first_row_top(page, which)
    record_property("first_row_y", {"folded": folded, "unfolded": unfolded})
    print(f"{which} at 390x844: first row at y={folded:.0f} folded, {unfolded:.0f} unfolded")
    assert folded + 25 < 844  # the first row starts (and its first line shows) on screen one
    assert unfolded > folded

    # Filters opens the fields; a currency chosen counts as one active filter on the button.
    page.reload()
    toggle.click()
    page.get_by_label("Currency").select_option("EUR")
    expect(page).to_have_url(re.compile(r"currency=EUR"))
    expect(toggle).to_have_text(re.compile(r"^Filters\s*1 active$"))
    # A page that opens with a filter active opens with its filters shown.
    page.reload()
    expect(page.get_by_label("Currency")).to_be_visible()
    expect(page.get_by_label("Currency")).to_have_value("EUR")


@pytest.mark.parametrize("which", ["payments", "orders"])
@pytest.mark.parametrize("size", [{"width": 1280, "height": 900}, PHONE])
def test_every_row_is_a_target_at_least_44_px_tall(seeded, visitor_factory, which, size):
    visitor = visitor_factory(**size)
    visitor.sign_in(seeded)
    page = visitor.page
    page.goto(page.url.replace("/payments", f"/{which}"))
    expect(rows(page, which)).to_have_count(12)
    heights = rows(page, which).evaluate_all(
        "rows => rows.map(r => r.getBoundingClientRect().height)"
    )
    assert min(heights) >= 44, heights
    # The whole row is the target: a click in its middle opens what it lists.
    row = rows(page, which).nth(2)
    row.scroll_into_view_if_needed()
    box = row.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2)
    expect(page).to_have_url(re.compile(rf"/{which}/[0-9a-f-]{{36}}$"))


def test_on_a_wide_screen_the_filters_are_open_without_a_button(seeded, visitor_factory, live_app):
    visitor = visitor_factory()
    visitor.sign_in(seeded)
    page = visitor.page
    for which in LISTS:
        page.goto(f"{live_app.url}/{which}")
        expect(page.get_by_label("Currency")).to_be_visible()
        expect(page.locator("summary.filters-toggle")).to_be_hidden()
