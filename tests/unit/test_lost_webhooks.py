"""A lost webhook never strands a payment: the sandbox sends it again, the payer is not misled."""

from __future__ import annotations

import re
import time

import pytest

from dashboard.domain.payments import PaymentStatus
from dashboard.providers.sandbox_retries import WebhookRetries
from dashboard.store.dynamo import StoreUnavailable
from tests.conftest import actor_for, csrf_token_from
from tests.unit.test_payment_pages import _create
from tests.unit.test_payment_service import a_request


@pytest.fixture
def quick_retries(app):
    """The app's sandbox webhook retries, sent again within a second instead of minutes."""
    retries = app.extensions["sandbox_webhook_retries"]
    retries._delays = (0.05, 0.1, 0.2, 0.4)
    return retries


def _payment_link(merchant) -> tuple[str, str]:
    location = _create(merchant)
    html = merchant.get(location).get_data(as_text=True)
    return location, re.search(r'href="http://localhost(/sandbox/links/[^"]+)"', html).group(1)


def test_a_webhook_the_app_could_not_store_is_sent_again_and_completes_the_payment(
    merchant, app, quick_retries, monkeypatch
):
    location, link_path = _payment_link(merchant)
    payer = app.test_client()
    token = csrf_token_from(payer.get(link_path).get_data(as_text=True))
    service = app.extensions["payment_service"]
    apply_for_real = service.apply_provider_event
    outage = {"left": 3}

    def dynamodb_hiccup(event):
        if outage["left"]:
            outage["left"] -= 1
            raise StoreUnavailable("DynamoDB did not answer")
        return apply_for_real(event)

    monkeypatch.setattr(service, "apply_provider_event", dynamodb_hiccup)

    paid = payer.post(f"{link_path}/pay", data={"csrf_token": token})

    assert paid.status_code == 303  # to the result page, not a 503
    result = payer.get(paid.headers["Location"]).get_data(as_text=True)
    assert "Your bank is processing the payment" in result
    assert "Try again" not in result
    deadline = time.monotonic() + 5
    while quick_retries.pending and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "Completed" in merchant.get(location).get_data(as_text=True)
    assert "Thank you" in payer.get(paid.headers["Location"]).get_data(as_text=True)


def test_retries_back_off_and_stop_after_the_last_delay():
    answers = iter([False, False, True])
    sent_at = []

    def send(_webhook) -> bool:
        sent_at.append(time.monotonic())
        return next(answers)

    retries = WebhookRetries(send, delays=(0.05, 0.2))

    assert retries.deliver("evt-1") is False
    deadline = time.monotonic() + 3
    while len(sent_at) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(sent_at) == 3
    assert sent_at[2] - sent_at[1] >= 0.2 > sent_at[1] - sent_at[0] >= 0.05
    assert retries.pending == 0


def test_a_webhook_refused_every_time_is_given_up_after_the_last_delay():
    sent = []
    retries = WebhookRetries(lambda webhook: sent.append(webhook) and False, delays=(0.01, 0.01))

    retries.deliver("evt-1")
    deadline = time.monotonic() + 2
    while len(sent) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)

    assert sent == ["evt-1"] * 3  # the first delivery and one per delay, then no more
    assert retries.pending == 0


def test_a_payer_back_from_the_bank_is_not_asked_to_pay_again_before_its_answer(
    merchant, app, client
):
    location, _link_path = _payment_link(merchant)
    payment_id = location.rsplit("/", 1)[1]
    payment = app.extensions["payment_service"].get_payment("alice@example.com", payment_id)

    page = client.get(f"/pay/{payment.payer_token}?payment_id=sbx-pay-not-heard-of-yet")

    html = page.get_data(as_text=True)
    assert "Your bank is processing the payment" in html
    assert "Try again" not in html
    assert payment.status is PaymentStatus.AWAITING_PAYMENT


def test_the_sync_command_finishes_a_creation_cut_short(app, monkeypatch):
    """From the command line, outside any request, the link's return address is still built."""
    service = app.extensions["payment_service"]
    sandbox = app.extensions["payment_provider"]
    request = a_request()

    def crash(_request):
        raise RuntimeError("the process died mid-request")

    with app.test_request_context("/payments"):
        monkeypatch.setattr(sandbox, "create_link", crash)
        with pytest.raises(RuntimeError):
            service.create_payment_link(actor_for("alice"), request)
        monkeypatch.undo()
    time.sleep(1.1)

    result = app.test_cli_runner().invoke(args=["sync-payments", "--older-than", "1s"])

    assert result.exit_code == 0, result.output
    finished = service.get_payment("alice", request.payment_id)
    assert finished.status is PaymentStatus.AWAITING_PAYMENT
    assert finished.link_url.startswith("http://localhost/sandbox/links/")


def test_one_payment_that_breaks_does_not_stop_the_sync_of_the_others(
    app, monkeypatch, service, sandbox, clock
):
    broken = service.create_payment_link(actor_for("alice"), a_request(reference="Broken 1"))
    paid = service.create_payment_link(actor_for("alice"), a_request(reference="Paid 1"))
    sandbox.pay(paid.provider_link_id)  # its webhooks were lost
    real_state = sandbox.link_state

    def bug_on_one(link_id):
        if link_id == broken.provider_link_id:
            raise KeyError("a field the code did not expect")
        return real_state(link_id)

    monkeypatch.setattr(sandbox, "link_state", bug_on_one)
    clock.advance(minutes=5)

    summary = service.sync_open_payments(clock.now)

    assert [e[0] for e in summary.errors] == [broken.payment_id]
    assert service.get_payment("alice", paid.payment_id).status is PaymentStatus.COMPLETED
