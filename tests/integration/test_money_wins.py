"""Money that reached the merchant is never shown as cancelled, on the live app and DynamoDB Local.

The merchant cancels through the JSON API while the payer presses Pay now on the sandbox's hosted
page, at the same instant, many times over. Whatever order the two requests interleave in, a
payment whose attempt executed ends completed, and a cancel that answered 200 took no money.
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import requests

from dashboard.app import create_app
from dashboard.domain.payments import PaymentStatus
from tests.conftest import actor_for, csrf_token_from
from tests.unit.api_support import bearer

pytestmark = pytest.mark.integration
RACES = 30


@pytest.fixture(scope="module")
def app(live_settings):
    """An app on the live app's tables, to make API keys and read payments as stored."""
    return create_app(live_settings)


def _race_once(live_app, app) -> tuple[str, str, int, int]:
    merchant = f"racer-{uuid.uuid4().hex[:10]}"
    _key, presented = app.extensions["api_keys"].create_key(actor_for(merchant), "Till")
    headers = bearer(presented)
    created = requests.post(
        f"{live_app.url}/api/v1/payments",
        json={"amount": "12.50", "currency": "GBP", "reference": "Race"},
        headers=headers,
        timeout=10,
    )
    assert created.status_code == 201, created.text
    payment = created.json()
    link_path = payment["link_url"].split("/sandbox/", 1)[1]
    payer = requests.Session()
    hosted_page = payer.get(f"{live_app.url}/sandbox/{link_path}", timeout=10)
    form = {"csrf_token": csrf_token_from(hosted_page.text)}
    start = threading.Barrier(2)
    answers: dict[str, int] = {}

    def cancel() -> None:
        start.wait()
        answers["cancel"] = requests.post(
            f"{live_app.url}/api/v1/payments/{payment['id']}/cancel", headers=headers, timeout=30
        ).status_code

    def pay() -> None:
        start.wait()
        answers["pay"] = payer.post(
            f"{live_app.url}/sandbox/{link_path}/pay", data=form, allow_redirects=False, timeout=30
        ).status_code

    threads = [threading.Thread(target=cancel), threading.Thread(target=pay)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return merchant, payment["id"], answers["cancel"], answers["pay"]


def _settled(app, merchant: str, payment_id: str):
    """Return the payment once nothing about it is still on its way (retried webhooks)."""
    payments = app.extensions["store"].payments
    deadline = time.monotonic() + 10
    while True:
        payment = payments.get(merchant, payment_id)
        if payment.status is not PaymentStatus.PROCESSING or time.monotonic() > deadline:
            return payment
        time.sleep(0.1)


def test_cancel_racing_pay_never_leaves_money_cancelled(live_app, app):
    outcomes = [_race_once(live_app, app) for _ in range(RACES)]

    cancelled_with_money, cancel_took_money, unpaid_not_cancelled = [], [], []
    for merchant, payment_id, cancel_status, pay_status in outcomes:
        payment = _settled(app, merchant, payment_id)
        money = any(a.status.succeeded for a in payment.attempts)
        assert cancel_status in (200, 409), cancel_status
        assert pay_status == 303  # to the result page, or back to the closed hosted page
        if money and payment.status is not PaymentStatus.COMPLETED:
            cancelled_with_money.append(payment_id)
        if money and cancel_status == 200:
            cancel_took_money.append(payment_id)
        if not money and payment.status is not PaymentStatus.CANCELLED:
            unpaid_not_cancelled.append(payment_id)
    print(
        f"{RACES} races: {len(cancelled_with_money)} with money not completed, "
        f"{len(cancel_took_money)} cancels answered 200 on money"
    )
    assert cancelled_with_money == []
    assert cancel_took_money == []
    assert unpaid_not_cancelled == []
