"""The keyboard in a real browser: htmx swaps never take what is typed or where focus is, the
payment page's poll speaks a status change once, a skip link comes first, and focus rings show."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from dashboard.core.ids import new_id
from dashboard.domain.orders import OrderFields
from dashboard.services.payments import NewPaymentLink
from tests.conftest import actor_for
from tests.e2e.test_finding_payments import rows, seeded_merchant  # noqa: F401 (a fixture)

pytestmark = pytest.mark.e2e

# WCAG's contrast ratio of two computed colours ("rgb(r, g, b)"), worked out in the page.
CONTRAST = """([a, b]) => {
  const luminance = (css) => {
    const [r, g, b] = css.match(/[\\d.]+/g).slice(0, 3).map(Number).map((v) => {
      v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}"""

# The focused element's ring, the page behind it, and its own background (if it has one).
RING = """() => {
  const el = document.activeElement, style = getComputedStyle(el);
  const opaque = (c) => c && !/rgba\\(.*, 0\\)$/.test(c) && c !== "transparent";
  let page = getComputedStyle(document.body).backgroundColor;
  if (!opaque(page)) { page = getComputedStyle(document.documentElement).backgroundColor; }
  return { ring: style.outlineColor, width: parseFloat(style.outlineWidth), outline: style.outlineStyle,
           page: page, own: opaque(style.backgroundColor) ? style.backgroundColor : null,
           text: el.textContent.trim() };
}"""


def _active(page: Page, expression: str = "el.id"):
    return page.evaluate(f"(() => {{ const el = document.activeElement; return {expression}; }})()")


def test_amount_from_tab_amount_to_enter_keeps_both_and_filters(seeded_merchant):  # noqa: F811
    page = seeded_merchant.page
    amount_from = page.get_by_label("Amount from")

    amount_from.click()
    amount_from.press_sequentially("10.05", delay=30)
    # Tab fires the change (the results swap) while the merchant is typing the second field.
    page.keyboard.press("Tab")
    page.keyboard.type("10.20", delay=60)
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"min=10\.05&max=10\.20|max=10\.20.*min=10\.05"))
    expect(amount_from).to_have_value("10.05")
    expect(page.get_by_label("Amount to")).to_have_value("10.20")
    expect(rows(page)).to_have_count(16)  # £10.05 to £10.20: invoices 5 to 20
    assert _active(page, "el.name") == "max"


def test_focus_and_caret_stay_in_search_and_on_the_tile_used(seeded_merchant):  # noqa: F811
    page = seeded_merchant.page
    search = page.get_by_label("Search")

    search.click()
    search.press_sequentially("invoice 1", delay=40)
    expect(rows(page)).to_have_count(11)  # Invoice 1 and 10 to 19
    expect(page).to_have_url(re.compile(r"q=invoice"))
    assert _active(page) == "search"
    assert _active(page, "[el.selectionStart, el.selectionEnd]") == [9, 9]

    # A tile chosen with the keyboard keeps focus after the results swap under it.
    tile = page.get_by_role("link", name=re.compile(r"^Completed\s+3$"))
    tile.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"status=completed"))
    expect(rows(page)).to_have_count(1)
    expect(tile).to_be_focused()


def test_the_skip_link_is_the_first_tab_stop_and_moves_focus_to_main(
    seeded_merchant,  # noqa: F811
    artifacts_dir,
):
    page = seeded_merchant.page
    page.reload()

    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    page.screenshot(path=str(artifacts_dir / "focus-skip-link-1280.png"))
    box = skip.bounding_box()
    assert box is not None
    assert box["y"] >= 0  # visible on focus, not parked above the page
    assert box["height"] > 10
    page.keyboard.press("Enter")
    assert _active(page, "el.tagName + '#' + el.id") == "MAIN#content"


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [1280, 390])
def test_focus_rings_have_3_to_1_contrast(visitor_factory, live_app, artifacts_dir, scheme, width):
    subject = f"ring-{new_id()[-8:]}@example.com"
    service = live_app.app.extensions["payment_service"]
    with live_app.app.test_request_context(base_url=live_app.url):
        service.create_payment_link(
            actor_for(subject), NewPaymentLink(new_id(), 1250, "GBP", "Invoice 1")
        )
    visitor = visitor_factory(width=width, color_scheme=scheme)
    visitor.sign_in(subject)
    page = visitor.page

    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")  # the brand link
    link = page.evaluate(RING)
    if width < 641:
        page.locator("summary.filters-toggle").click()  # a phone folds the filters behind it
    page.get_by_label("Refunds").focus()  # the last filter before Apply
    page.keyboard.press("Tab")
    apply = page.evaluate(RING)
    assert apply["text"] == "Apply"
    page.screenshot(path=str(artifacts_dir / f"focus-apply-{scheme}-{width}.png"))

    for ring in (link, apply):
        assert ring["outline"] == "solid"
        assert ring["width"] >= 2
        assert page.evaluate(CONTRAST, [ring["ring"], ring["page"]]) >= 3, ring
        if ring["own"]:
            assert page.evaluate(CONTRAST, [ring["ring"], ring["own"]]) >= 3, ring
    assert apply["own"] is not None  # the button's own colour was measured too


def test_the_payment_page_poll_keeps_focus_and_announces_each_change_once(
    visitor_factory, live_app, artifacts_dir
):
    subject = f"poll-{new_id()[-8:]}@example.com"
    service = live_app.app.extensions["payment_service"]
    with live_app.app.test_request_context(base_url=live_app.url):
        payment = service.create_payment_link(
            actor_for(subject), NewPaymentLink(new_id(), 1250, "GBP", "Invoice 7")
        )
    merchant = visitor_factory()
    merchant.sign_in(subject)
    page = merchant.page
    page.goto(f"{live_app.url}/payments/{payment.payment_id}")
    # Remember the live region and the button as nodes, and every text the region comes to say.
    page.evaluate("""() => {
      const region = document.querySelector("[aria-live=polite]");
      window.pdRegion = region; window.pdSaid = [];
      new MutationObserver(() => window.pdSaid.push(region.textContent.trim()))
        .observe(region, { childList: true, subtree: true, characterData: true });
    }""")
    assert page.locator("[aria-live=polite]").count() == 1
    copy = page.get_by_role("button", name="Copy link")
    copy.focus()
    page.evaluate("window.pdButton = document.activeElement")
    page.screenshot(path=str(artifacts_dir / "focus-payment-poll-1280.png"))

    page.wait_for_timeout(7_000)  # two polls with nothing new
    assert page.evaluate("document.activeElement === window.pdButton")
    assert page.evaluate("window.pdSaid") == []

    # The payer declines in another browser: the status changes, the share card does not.
    payer = visitor_factory(width=390, height=844)
    payer.page.goto(payment.link_url)
    payer.page.get_by_role("button", name="Decline").click()
    expect(page.locator(".head-status")).to_have_text("Attempt failed", timeout=10_000)
    page.wait_for_timeout(7_000)
    assert page.evaluate("document.activeElement === window.pdButton")
    assert page.evaluate("window.pdSaid") == ["Attempt failed"]

    payer.page.get_by_role("link", name="Try again").click()
    payer.page.get_by_role("button", name="Pay now").click()
    expect(page.locator(".head-status")).to_have_text("Completed", timeout=10_000)
    page.wait_for_timeout(4_000)
    said = page.evaluate("window.pdSaid")
    assert said[0] == "Attempt failed"
    assert said[-1] == "Completed"
    assert len(said) == len(set(said)), said  # each change once, none repeated by a poll
    # Copy link went with the paid link: focus is on the share card's new heading, not <body>.
    assert _active(page, "el.tagName + ' ' + el.textContent.trim()") == "H2 Paid"
    assert _active(page, "el.closest('#payment-share') !== null")
    assert page.evaluate("document.querySelector('[aria-live=polite]') === window.pdRegion")
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("navigation", name="breadcrumb").get_by_role("link").focus()
    page.screenshot(path=str(artifacts_dir / "focus-payment-paid-390.png"))


def test_load_more_moves_focus_to_the_first_new_row_and_says_how_many_came(
    seeded_merchant,  # noqa: F811
):
    page = seeded_merchant.page
    expect(rows(page)).to_have_count(25)
    first_new = page.evaluate("document.querySelectorAll('#payment-rows tr').length - 1")
    assert first_new == 25  # the 25 rows, then the Load more row

    page.get_by_role("link", name="Load more").focus()
    page.keyboard.press("Enter")
    expect(rows(page)).to_have_count(35)
    link_of_row_26 = rows(page).nth(25).get_by_role("link")
    expect(link_of_row_26).to_be_focused()
    expect(page.get_by_role("status").filter(has_text="more shown")).to_have_text(
        "10 more shown, the end of the list."
    )
    # The next Tab goes on from there, not from the top of the page.
    page.keyboard.press("Tab")
    assert _active(page, "el.closest('tr') && el.closest('tr').rowIndex") == 27


def test_the_date_fields_cost_no_tab_stop_until_dates_are_chosen(seeded_merchant, live_app):  # noqa: F811
    page = seeded_merchant.page
    created = page.locator("#filters select[name=range]")
    date_from = page.locator("#filters input[name=from]")
    expect(date_from).to_be_hidden()

    created.focus()
    page.keyboard.press("Tab")
    assert _active(page, "el.name") == "currency"  # straight past the two date fields

    created.select_option("custom")  # "Dates…"
    expect(date_from).to_be_visible()
    created.focus()
    page.keyboard.press("Tab")
    assert _active(page, "el.name") == "from"
    # Why: Chromium's date field is several Tab stops (its day, month and year, and more), which
    # is what the fold saves the merchant who wants no dates.
    stops = 0
    while _active(page, "el.name") == "from" and stops < 10:
        page.keyboard.press("Tab")
        stops += 1
    assert _active(page, "el.name") == "to"
    assert stops >= 3, stops

    # Dates in the address: the fields show on arrival.
    page.goto(f"{live_app.url}/payments?range=custom&from=2026-01-01")
    expect(date_from).to_be_visible()
    expect(date_from).to_have_value("2026-01-01")
    page.goto(f"{live_app.url}/payments?range=7d")
    expect(date_from).to_be_hidden()


def test_statistics_dates_fold_behind_one_summary(seeded_merchant, live_app):  # noqa: F811
    page = seeded_merchant.page
    page.goto(live_app.url + "/stats")
    page.get_by_role("link", name="90 days").focus()
    page.keyboard.press("Tab")
    assert _active(page, "el.tagName + ' ' + el.textContent.trim()") == "SUMMARY Dates…"
    page.keyboard.press("Tab")
    assert _active(page, "el.closest('nav') && el.closest('nav').getAttribute('aria-label')") == (
        "Currency"
    )
    page.get_by_text("Dates…").click()
    page.get_by_label("From").fill("2026-01-01")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"from=2026-01-01"))
    expect(page.locator("details.dates-fold")).to_have_attribute("open", "")


def test_the_order_page_poll_keeps_focus_and_moves_it_to_the_payment_when_paid(
    visitor_factory, live_app, artifacts_dir
):
    subject = f"order-poll-{new_id()[-8:]}@example.com"
    orders = live_app.app.extensions["order_service"]
    service = live_app.app.extensions["payment_service"]
    provider = live_app.app.extensions["payment_provider"]
    with live_app.app.test_request_context(base_url=live_app.url):
        order = orders.create_order(
            actor_for(subject),
            new_id(),
            OrderFields(
                customer_name="Ada Lovelace",
                customer_email="ada@example.com",
                product_name="Notes",
                quantity=3,
                unit_price=Decimal("12.50"),
                currency="GBP",
            ),
        )
        payment = orders.request_payment(actor_for(subject), order.order_id)
    merchant = visitor_factory()
    merchant.sign_in(subject)
    page = merchant.page
    page.goto(f"{live_app.url}/orders/{order.order_id}")
    page.evaluate("""() => {
      const region = document.querySelector("#order-status");
      window.pdSaid = [];
      new MutationObserver(() => window.pdSaid.push(region.textContent.trim()))
        .observe(region, { childList: true, subtree: true, characterData: true });
    }""")
    copy = page.get_by_role("button", name="Copy link")
    copy.focus()
    page.evaluate("window.pdButton = document.activeElement")

    page.wait_for_timeout(7_000)  # two polls with nothing new
    assert page.evaluate("document.activeElement === window.pdButton")
    assert page.evaluate("window.pdSaid") == []

    with live_app.app.test_request_context(base_url=live_app.url):
        for event in provider.pay(payment.provider_link_id):
            service.apply_provider_event(event)
    expect(page.locator(".order-head-status")).to_have_text("Paid", timeout=10_000)
    # Copy link went with the link: focus is on the payment part's heading, never <body>.
    expect(page.locator("#order-payment h2")).to_be_focused()
    page.screenshot(path=str(artifacts_dir / "focus-order-paid-1280.png"))
    page.wait_for_timeout(4_000)
    expect(page.locator("#order-payment h2")).to_be_focused()
    assert page.evaluate("window.pdSaid") == ["Paid"]
