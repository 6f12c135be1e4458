"""Outbound webhooks in a real browser: a merchant adds a receiver on 127.0.0.1 on Settings →
Webhooks, a payer pays a link in the sandbox, and the delivery shows as delivered in the
endpoint's log; Resend and Send test event reach the receiver too. The receiver verifies every
delivery with the standardwebhooks library and the secret the page showed once."""

from __future__ import annotations

import json
import re
import time

import pytest
from playwright.sync_api import Page, expect
from standardwebhooks import Webhook

from dashboard.core.ids import new_id
from tests.e2e.test_payment_journey import create_link
from tests.webhook_receiver import Receiver, running_receiver

pytestmark = pytest.mark.e2e


@pytest.fixture
def receiver():
    with running_receiver() as server:
        yield server


@pytest.fixture
def worker(live_app):
    """The delivery worker beside the live app, for this test only."""
    live_app.start_worker()
    yield
    live_app.stop_worker()


def wait_for(receiver: Receiver, event_type: str, count: int = 1, timeout: float = 15) -> list:
    """Return the deliveries of ``event_type`` once ``count`` have arrived."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [r for r in receiver.received if json.loads(r.body)["type"] == event_type]
        if len(found) >= count:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{count} × {event_type} not delivered within {timeout}s")


def open_log_until(page: Page, event_type: str, timeout: float = 15) -> None:
    """Reload the endpoint's page until its log shows a delivered ``event_type``.

    The receiver has the delivery a moment before the worker records the answer.
    """
    deadline = time.monotonic() + timeout
    row = page.locator("li.delivery", has_text=event_type).locator(".badge", has_text="Delivered")
    while not row.count():
        assert time.monotonic() < deadline, f"the delivery log never showed {event_type} delivered"
        time.sleep(0.3)
        page.reload()


def test_a_paid_link_is_delivered_to_the_merchants_receiver_resent_and_tested(
    visitor_factory, receiver, worker
):
    merchant = visitor_factory()
    merchant.sign_in(f"hooks-{new_id()[-8:]}@example.com")
    page = merchant.page

    page.get_by_role("banner").get_by_role("link", name="Settings").click()
    page.get_by_role("navigation").get_by_role("link", name="Webhooks").click()
    expect(page.get_by_text("No webhook endpoints yet")).to_be_visible()
    page.get_by_label("URL").fill(receiver.url())
    page.get_by_label("Description").fill("Shop backend on my laptop")
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.get_by_role("heading", name="Webhook endpoint added")).to_be_visible()
    secret = page.get_by_label("Signing secret").input_value()
    assert secret.startswith("whsec_")
    page.get_by_role("link", name="Done").click()
    endpoint_url = page.url

    # The payer pays a link in the sandbox.
    link_page = create_link(merchant, "12.50", "Invoice 77")
    link_url = page.locator("#payment-link").get_attribute("href")
    payer = visitor_factory(width=390, height=844)
    payer.page.goto(link_url)
    payer.page.get_by_role("button", name="Pay now").click()
    expect(payer.page.get_by_text("your payment is complete")).to_be_visible()

    (completed,) = wait_for(receiver, "payment.completed")
    body = Webhook(secret).verify(completed.body, completed.headers)
    assert body["data"]["reference"] == "Invoice 77"
    assert body["data"]["status"] == "completed"
    assert link_page.rsplit("/", 1)[1] == body["data"]["id"]

    page.goto(endpoint_url)
    open_log_until(page, "payment.completed")
    row = page.locator("li.delivery", has_text="payment.completed")
    expect(row.locator(".badge")).to_have_text("Delivered")
    row.locator("summary").click()
    expect(row.locator(".delivery-attempt")).to_contain_text(
        re.compile(r"Attempt 1.*HTTP 200", re.DOTALL)
    )

    # Resend: the same event again, with the same webhook-id.
    row.get_by_role("button", name=re.compile("^Resend")).click()
    first, again = wait_for(receiver, "payment.completed", count=2)
    assert again.headers["webhook-id"] == first.headers["webhook-id"]
    assert Webhook(secret).verify(again.body, again.headers) == body

    # Send test event: a webhook.test, in this endpoint's log only.
    page.goto(endpoint_url)
    page.get_by_role("button", name="Send test event").click()
    (test_event,) = wait_for(receiver, "webhook.test")
    assert Webhook(secret).verify(test_event.body, test_event.headers)["type"] == "webhook.test"
    open_log_until(page, "webhook.test")
