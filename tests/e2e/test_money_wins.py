"""Late money in a real browser: a payment that arrived after its link ended is shown completed,
and an order paid twice says so. Screenshots (desktop and phone, light and dark) go to
test-artifacts/."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from dashboard.core.ids import new_id
from dashboard.domain.orders import OrderFields
from dashboard.domain.payments import PaymentStatus
from tests.conftest import actor_for

pytestmark = pytest.mark.e2e

SIZES = {"desktop": (1280, 900), "phone": (390, 844)}


def _order_paid_twice(live_app, user: str):
    """Return an order whose first link was paid after the order was paid by its second link.

    The first link's payer was still at the bank when the link ended as unpaid (its webhooks
    lost); the merchant asked for payment again and that was paid; then the bank executed.
    """
    app = live_app.app
    orders, payments = app.extensions["order_service"], app.extensions["payment_service"]
    sandbox = app.extensions["payment_provider"]
    with app.test_request_context(base_url=live_app.url):
        order = orders.create_order(
            actor_for(user),
            new_id(),
            OrderFields(
                customer_name="Ada Lovelace",
                customer_email="ada@example.com",
                product_name="Analytical engine manual",
                quantity=1,
                unit_price=Decimal("42.00"),
                currency="GBP",
            ),
        )
        first = orders.request_payment(actor_for(user), order.order_id)
        attempt = sandbox.start_attempt(first.provider_link_id)[-1].provider_payment_id
        app.extensions["store"].payments.save(
            first, first.with_status(PaymentStatus.CANCELLED, first.updated_at)
        )
        second = orders.request_payment(actor_for(user), order.order_id)
        for event in sandbox.pay(second.provider_link_id):
            payments.apply_provider_event(event)
        for event in sandbox.finish_attempt(first.provider_link_id, attempt, paid=True):
            payments.apply_provider_event(event)
    return order, first


def _snap(page: Page, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"money-wins-{name}.png"), full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name}: the page is {overflow}px wider than the screen"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_an_order_paid_twice_and_its_late_payment_read_clearly(
    browser, live_app, artifacts_dir, scheme
):
    user = f"late-money-{scheme}@example.com"
    order, first = _order_paid_twice(live_app, user)
    for size, (width, height) in SIZES.items():
        context = browser.new_context(
            viewport={"width": width, "height": height}, color_scheme=scheme
        )
        page = context.new_page()
        page.goto(live_app.url + "/")
        page.get_by_role("link", name="Sign in").click()
        page.locator("input[name=sub]").fill(user)
        page.get_by_role("button", name="Authorize").click()
        page.wait_for_url(f"{live_app.url}/payments")

        page.goto(f"{live_app.url}/orders/{order.order_id}")
        expect(page.get_by_text("Paid twice.")).to_be_visible()
        _snap(page, artifacts_dir, f"order-{size}-{scheme}")

        page.get_by_role("link", name=f"View payment {first.payment_id[:8]}").click()
        expect(page.get_by_text("Paid after the link was cancelled.")).to_be_visible()
        expect(page.locator(".head-status")).to_contain_text("Completed")
        _snap(page, artifacts_dir, f"payment-{size}-{scheme}")
        context.close()
