"""Dark mode in a real browser: the device's preference is followed, and the header's Theme
button chooses dark or light for every page after it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from dashboard.core.ids import new_id
from dashboard.domain.actor import Actor
from dashboard.services.payments import NewPaymentLink


def _background(page: Page) -> str:
    return page.evaluate("getComputedStyle(document.documentElement).backgroundColor")


def _is_dark(rgb: str) -> bool:
    red, green, blue = (int(part) for part in rgb[rgb.index("(") + 1 : -1].split(",")[:3])
    return (red + green + blue) / 3 < 80


@pytest.mark.parametrize(("width", "device"), [(1280, "desktop"), (390, "phone")])
def test_pages_follow_the_device_and_the_theme_button(
    visitor_factory, live_app, artifacts_dir, width, device
):
    subject = f"dark-{new_id()[-8:]}@example.com"
    service = live_app.app.extensions["payment_service"]
    with live_app.app.test_request_context(base_url=live_app.url):
        for amount, reference in ((1250, "Invoice 1"), (990, "Invoice 2")):
            payment = service.create_payment_link(
                Actor.system(subject), NewPaymentLink(new_id(), amount, "GBP", reference)
            )
        provider = live_app.app.extensions["payment_provider"]
        for event in provider.pay(payment.provider_link_id):
            service.apply_provider_event(event)
    visitor = visitor_factory(width=width, color_scheme="dark")  # a device set to dark
    visitor.sign_in(subject)
    page = visitor.page

    # Auto: the device's dark, with the status badges and the chart in their dark colours.
    assert _is_dark(_background(page))
    expect(page.get_by_role("button", name="Theme: Auto")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / f"dark-payments-{device}.png"), full_page=True)
    page.get_by_role("banner").get_by_role("link", name="Statistics").click()
    expect(page.locator("svg.chart").first).to_be_visible()
    page.screenshot(path=str(artifacts_dir / f"dark-statistics-{device}.png"), full_page=True)

    # Dark, chosen: it stays dark on the next page. Then light, whatever the device says.
    page.get_by_role("button", name="Theme: Auto").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    expect(page).to_have_url(f"{live_app.url}/stats")  # back on the page it was chosen on
    page.get_by_role("button", name="Theme: Dark").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    assert not _is_dark(_background(page))
    page.get_by_role("banner").get_by_role("link", name="Payments").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    page.screenshot(path=str(artifacts_dir / f"light-chosen-payments-{device}.png"), full_page=True)
