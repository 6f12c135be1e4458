"""The keyboard in a real browser: htmx swaps never take what is typed or where focus is, the
payment page's poll speaks a status change once, a skip link comes first, and focus rings show."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from dashboard.core.ids import new_id
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
    page.get_by_label("Amount to").focus()
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
    assert page.evaluate("document.querySelector('[aria-live=polite]') === window.pdRegion")
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("navigation", name="breadcrumb").get_by_role("link").focus()
    page.screenshot(path=str(artifacts_dir / "focus-payment-paid-390.png"))
