"""Every QR code the app shows scans: decoded from a screenshot of the page, as a phone would.

The payment page is the only page with a QR code (grep templates for ``qr``). It is read from
screenshots of real Chromium at desktop and phone widths, in light and dark colour schemes, with
zxing-cpp, and must give back the very link the page shows.
"""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import expect

from dashboard.core.ids import new_id
from dashboard.services.payments import NewPaymentLink
from tests.conftest import actor_for

pytestmark = pytest.mark.e2e

SCREENS = [(1280, 900), (390, 844)]


def decoded_qr_codes(png: bytes) -> list[str]:
    """Return the text of every QR code zxing-cpp finds in a screenshot."""
    image = Image.open(io.BytesIO(png))
    return [code.text for code in zxingcpp.read_barcodes(image, formats=zxingcpp.QRCode)]


def a_payment_page(live_app, merchant: str) -> str:
    """Create a live payment link for ``merchant`` through the service; return its page path."""
    service = live_app.app.extensions["payment_service"]
    with live_app.app.test_request_context(base_url=live_app.url):
        payment = service.create_payment_link(
            actor_for(merchant), NewPaymentLink(new_id(), 1250, "GBP", "Invoice 42")
        )
    return f"/payments/{payment.payment_id}"


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
def test_the_payment_pages_qr_code_scans_to_its_link_on_desktop_and_phone(
    visitor_factory, live_app, artifacts_dir, color_scheme
):
    merchant = visitor_factory()
    subject = f"qr-{new_id()[-8:]}@example.com"
    merchant.sign_in(subject)
    page = merchant.page
    page.emulate_media(color_scheme=color_scheme)
    page.goto(live_app.url + a_payment_page(live_app, live_app.account_of(subject)))
    link_url = page.locator("#payment-link").get_attribute("href")
    assert "/sandbox/links/" in (link_url or "")

    for width, height in SCREENS:
        page.set_viewport_size({"width": width, "height": height})
        qr = page.locator("figure.qr svg")
        expect(qr).to_be_visible()
        qr.scroll_into_view_if_needed()
        box = qr.bounding_box()
        assert box is not None
        # Square, all of it on screen, and not taking over a phone's screen.
        assert abs(box["width"] - box["height"]) < 1
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= width
        assert 120 <= box["width"] <= 0.6 * width

        png = page.screenshot()
        (artifacts_dir / f"qr-payment-{width}-{color_scheme}.png").write_bytes(png)
        assert decoded_qr_codes(png) == [link_url], (
            f"at {width}px ({color_scheme}) the QR code does not scan to the link; see {artifacts_dir}"
        )
