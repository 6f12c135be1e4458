"""The merchant's order story in a real browser: create an order (fixing mistakes), request
payment, the customer pays in the sandbox, the order shows Paid by itself; the list finds it.
Screenshots of every page, on a desktop and a phone, go to test-artifacts/."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from dashboard.core.ids import new_id
from dashboard.domain.orders import OrderFields
from tests.conftest import actor_for

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


def snap(page: Page, artifacts: Path, name: str) -> None:
    """Save a full-page screenshot, and check the page never scrolls sideways."""
    page.screenshot(path=str(artifacts / f"orders-{name}.png"), full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name}: the page is {overflow}px wider than the screen"


def place_orders(live_app, user: str) -> None:
    """Give the merchant a few more orders, one per status a list shows often."""
    orders = live_app.app.extensions["order_service"]
    examples = [
        ("Charles Babbage", "Difference engine (brass, hand-cranked, boxed)", 1, "1249.99", "GBP"),
        ("Grace Hopper", "Compiler handbook", 12, "18.00", "EUR"),
        ("Alan Turing", "Bombe replacement drum", 4, "75.50", "GBP"),
    ]
    with live_app.app.test_request_context(base_url=live_app.url):
        for name, product, quantity, price, currency in examples:
            order = orders.create_order(
                actor_for(user),
                new_id(),
                OrderFields(
                    customer_name=name,
                    customer_email=f"{name.split()[0].lower()}@example.com",
                    product_name=product,
                    quantity=quantity,
                    unit_price=Decimal(price),
                    currency=currency,
                ),
            )
            if name == "Grace Hopper":
                orders.request_payment(actor_for(user), order.order_id)
            if name == "Alan Turing":
                orders.cancel_order(actor_for(user), order.order_id)


def fill_new_order(page: Page, **values: str) -> None:
    """Type the given fields into the new order form, by their labels."""
    for label, value in values.items():
        if label == "Currency":
            page.get_by_label(label).select_option(value)
        else:
            page.get_by_label(label).fill(value)


def test_a_merchant_creates_an_order_and_it_is_paid_through_its_link(
    visitor_factory, live_app, artifacts_dir
):
    merchant = visitor_factory()
    merchant.sign_in("orders-ada@example.com")
    page = merchant.page
    page.get_by_role("banner").get_by_role("link", name="Orders").click()
    expect(page.get_by_text("No orders yet")).to_be_visible()

    # Mistakes first: inline messages, values kept, nothing written.
    page.get_by_role("link", name="New order").first.click()
    fill_new_order(
        page,
        **{
            "Customer name": "Ada Lovelace",
            "Customer email": "ada@example",
            "Product": "Analytical engine manual",
            "Quantity": "three",
            "Unit price": "12.505",
            "Currency": "GBP",
        },
    )
    page.get_by_role("button", name="Create order").click()
    expect(page.get_by_text("Enter an email address such as name@example.com.")).to_be_visible()
    expect(page.get_by_text("Enter a whole number from 1 to 100,000.")).to_be_visible()
    expect(page.get_by_text("GBP amounts have at most 2 digits after the point.")).to_be_visible()
    expect(page.get_by_label("Product")).to_have_value("Analytical engine manual")
    snap(page, artifacts_dir, "new-with-errors-desktop")

    fill_new_order(
        page,
        **{
            "Customer email": "ada@example.com",
            "Quantity": "3",
            "Unit price": "12.50",
            "Shipping address": "12 St James's Square\nLondon SW1Y 4JH",
        },
    )
    page.get_by_role("button", name="Create order").click()
    expect(page.locator("h1")).to_have_text("ORD-1001")
    expect(page.locator(".order-head-status")).to_have_text("Pending")
    expect(page.get_by_text("3 × £12.50 = £37.50")).to_be_visible()
    order_url = page.url
    snap(page, artifacts_dir, "order-before-payment-desktop")

    page.get_by_role("button", name="Request payment").click()
    expect(page.locator(".order-head-status")).to_have_text("Payment requested")
    expect(page.get_by_role("button", name="Copy link")).to_be_visible()
    link_url = page.locator("#payment-link").get_attribute("href")
    assert re.search(r"/sandbox/links/sbx-link-[0-9a-f]{32}$", link_url)
    snap(page, artifacts_dir, "order-payment-requested-desktop")

    # The customer pays on their phone; the merchant's open order page follows by itself.
    customer = visitor_factory(**PHONE)
    customer.page.goto(link_url)
    expect(customer.page.get_by_text("£37.50")).to_be_visible()
    expect(customer.page.get_by_text("ORD-1001")).to_be_visible()
    customer.page.get_by_role("button", name="Pay now").click()
    expect(customer.page.get_by_text("your payment is complete")).to_be_visible()
    expect(page.locator(".order-head-status")).to_have_text("Paid", timeout=10_000)
    expect(page.get_by_text("Ada Lovelace paid £37.50")).to_be_visible()
    expect(page.get_by_role("button", name="Cancel order")).to_have_count(0)
    expect(page.locator("#order-poll")).not_to_have_attribute("hx-trigger", re.compile(".+"))
    snap(page, artifacts_dir, "order-paid-desktop")

    # The payment links back to its order.
    page.get_by_role("link", name="View payment").click()
    expect(page.locator(".head-status")).to_have_text("Completed")
    snap(page, artifacts_dir, "payment-for-order-desktop")
    page.locator(".for-order").get_by_role("link", name="ORD-1001").click()
    expect(page).to_have_url(order_url)

    # The list: newest first, a status tile (with its count), search as you type.
    place_orders(live_app, live_app.account_of("orders-ada@example.com"))
    page.get_by_role("banner").get_by_role("link", name="Orders").click()
    rows = page.locator("table.orders-table tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.nth(3)).to_contain_text("ORD-1001")
    expect(rows.nth(3)).to_contain_text("Paid")
    snap(page, artifacts_dir, "list-desktop")
    page.get_by_role("link", name=re.compile(r"^Payment requested\s+1$")).click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Grace Hopper")
    expect(page).to_have_url(re.compile(r"status=payment_requested"))
    page.get_by_role("link", name=re.compile(r"^All\s+4$")).click()
    page.get_by_label("Search").fill("manual")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("ORD-1001")
    expect(page).to_have_url(re.compile(r"q=manual"))

    # The same pages on a phone.
    phone = visitor_factory(**PHONE)
    phone.sign_in("orders-ada@example.com")
    phone.page.get_by_role("banner").get_by_role("link", name="Orders").click()
    expect(phone.page.locator("table.orders-table tbody tr")).to_have_count(4)
    snap(phone.page, artifacts_dir, "list-phone")
    phone.page.get_by_role("link", name="New order").first.click()
    phone.page.get_by_label("Unit price").fill("-3")
    phone.page.get_by_role("button", name="Create order").click()
    expect(phone.page.get_by_text("Enter the customer's name.")).to_be_visible()
    snap(phone.page, artifacts_dir, "new-with-errors-phone")
    phone.page.goto(order_url)
    expect(phone.page.locator(".order-head-status")).to_have_text("Paid")
    snap(phone.page, artifacts_dir, "order-paid-phone")
    phone.page.get_by_role("banner").get_by_role("link", name="Orders").click()
    phone.page.get_by_role("link", name="ORD-1003").click()
    expect(phone.page.locator(".order-head-status")).to_have_text("Payment requested")
    snap(phone.page, artifacts_dir, "order-payment-requested-phone")
    phone.page.get_by_role("link", name="Edit").click()
    expect(phone.page.get_by_label("Quantity")).to_be_disabled()
    phone.page.get_by_label("Customer name").fill("Rear Admiral Grace Hopper")
    snap(phone.page, artifacts_dir, "edit-quantity-locked-phone")
    phone.page.get_by_role("button", name="Save changes").click()
    expect(phone.page.get_by_text("Order updated.")).to_be_visible()
    expect(phone.page.locator(".facts")).to_contain_text("Rear Admiral Grace Hopper")
    phone.page.get_by_role("banner").get_by_role("link", name="Orders").click()
    phone.page.get_by_role("link", name="ORD-1004").click()
    expect(phone.page.locator(".order-head-status")).to_have_text("Cancelled")
    phone.page.get_by_role("button", name="Delete order").click()  # opens the confirm dialog
    expect(phone.page.get_by_role("dialog")).to_contain_text("deleted for good")
    snap(phone.page, artifacts_dir, "order-delete-confirm-phone")
    phone.page.get_by_role("dialog").get_by_role("button", name="Delete order").click()
    expect(phone.page.get_by_text("Order ORD-1004 deleted.")).to_be_visible()
    expect(phone.page.locator("table.orders-table tbody tr")).to_have_count(3)


def test_another_merchant_gets_not_found_for_the_first_merchants_order(visitor_factory):
    alice = visitor_factory()
    alice.sign_in("orders-alice@example.com")
    alice.page.goto(alice.page.url.replace("/payments", "/orders/new"))
    fill_new_order(
        alice.page,
        **{
            "Customer name": "Private Person",
            "Customer email": "private@example.com",
            "Product": "Secret thing",
            "Quantity": "1",
            "Unit price": "9.99",
        },
    )
    alice.page.get_by_role("button", name="Create order").click()
    expect(alice.page.locator("h1")).to_have_text("ORD-1001")

    bob = visitor_factory()
    bob.sign_in("orders-bob@example.com")
    response = bob.page.goto(alice.page.url)

    assert response.status == 404
    expect(bob.page.get_by_text("Order not found")).to_be_visible()
    expect(bob.page.get_by_text("Private Person")).to_have_count(0)
