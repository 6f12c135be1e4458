"""The sandbox's side of refunds: it makes them as TrueLayer would, settles payments, and plays
each refund's end (executed, failed, returned) as TrueLayer-shaped webhooks."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from dashboard.domain.payments import AttemptStatus, ProviderEventKind
from dashboard.domain.refunds import RefundStatus
from dashboard.providers.base import LinkRequest, ProviderRejected, RefundRequest
from dashboard.providers.sandbox import SandboxProvider, attempt_id_of
from dashboard.providers.sandbox_refunds import PaymentNotSettleable, RefundNotMovable
from dashboard.providers.sandbox_webhooks import _payload
from dashboard.store.sandbox_links import SandboxAttempt, SandboxLink
from tests.conftest import FakeClock, actor_for, csrf_token_from
from tests.unit.test_payment_service import a_request

AMOUNT = 1250


def _link(sandbox: SandboxProvider, clock: FakeClock, key: str = "link-key") -> str:
    created = sandbox.create_link(
        LinkRequest(
            payment_id="pay-1",
            idempotency_key=key,
            amount_minor=AMOUNT,
            currency="GBP",
            reference="Invoice 42",
            expires_at=clock.now + timedelta(hours=1),
            return_uri="http://testserver/pay/t",
        )
    )
    return created.provider_link_id


def _paid(sandbox: SandboxProvider, clock: FakeClock) -> tuple[str, str]:
    """Return (link id, attempt id) of a link the payer has paid (executed, not settled)."""
    link_id = _link(sandbox, clock)
    return link_id, attempt_id_of(sandbox.pay(link_id))


def _refund_request(
    link_id: str, attempt_id: str, amount: int = 500, key: str = "refund-key-1"
) -> RefundRequest:
    return RefundRequest(
        payment_id="pay-1",
        refund_id=f"ours-{key}",
        idempotency_key=key,
        provider_payment_id=attempt_id,
        provider_link_id=link_id,
        amount_minor=amount,
        currency="GBP",
        reference="Refund 42",
    )


def _stored_refund(sandbox: SandboxProvider, link_id: str, attempt_id: str, refund_id: str):
    link = sandbox.get_link(link_id)
    attempt = next(a for a in link.attempts if a.payment_id == attempt_id)
    return next(r for r in attempt.refunds if r.refund_id == refund_id)


# Making refunds -------------------------------------------------------------------------------


def test_a_refund_of_a_paid_payment_is_pending_and_carries_our_refund_id(sandbox, clock):
    link_id, attempt_id = _paid(sandbox, clock)

    refund = sandbox.create_refund(_refund_request(link_id, attempt_id))

    assert refund.status is RefundStatus.PENDING
    assert refund.amount_minor == 500
    assert refund.refund_id == "ours-refund-key-1"
    assert re.fullmatch(r"sbx-refund-[0-9a-f]{32}", refund.provider_refund_id)
    assert sandbox.refunds(attempt_id, link_id) == [refund]


def test_the_same_idempotency_key_gives_back_the_same_refund(sandbox, clock):
    link_id, attempt_id = _paid(sandbox, clock)
    request = _refund_request(link_id, attempt_id)

    first = sandbox.create_refund(request)
    again = sandbox.create_refund(request)

    assert again == first
    assert len(sandbox.refunds(attempt_id, link_id)) == 1


def test_refunds_beyond_the_payment_amount_are_refused(sandbox, clock):
    link_id, attempt_id = _paid(sandbox, clock)
    sandbox.create_refund(_refund_request(link_id, attempt_id, amount=1000, key="a"))

    with pytest.raises(ProviderRejected, match="more than the 250 left"):
        sandbox.create_refund(_refund_request(link_id, attempt_id, amount=251, key="b"))

    assert sandbox.create_refund(_refund_request(link_id, attempt_id, amount=250, key="c"))
    assert len(sandbox.refunds(attempt_id, link_id)) == 2


def test_a_failed_refund_gives_its_amount_back_to_what_may_be_refunded(sandbox, clock):
    link_id, attempt_id = _paid(sandbox, clock)
    first = sandbox.create_refund(_refund_request(link_id, attempt_id, amount=AMOUNT, key="a"))
    sandbox.fail_refund(link_id, attempt_id, first.provider_refund_id)

    again = sandbox.create_refund(_refund_request(link_id, attempt_id, amount=AMOUNT, key="b"))

    assert again.status is RefundStatus.PENDING


@pytest.mark.parametrize("amount", [0, -5])
def test_a_refund_of_nothing_is_refused(sandbox, clock, amount):
    link_id, attempt_id = _paid(sandbox, clock)

    with pytest.raises(ProviderRejected, match="more than zero"):
        sandbox.create_refund(_refund_request(link_id, attempt_id, amount=amount))


def test_a_payment_that_has_not_succeeded_cannot_be_refunded(sandbox, clock):
    link_id = _link(sandbox, clock)
    declined = attempt_id_of(sandbox.decline(link_id))
    at_the_bank = attempt_id_of(sandbox.start_attempt(link_id))

    for attempt_id in (declined, at_the_bank):
        with pytest.raises(ProviderRejected, match="only an executed or settled payment"):
            sandbox.create_refund(_refund_request(link_id, attempt_id))
    assert sandbox.refunds(declined, link_id) == []


def test_a_refund_of_an_unknown_payment_is_refused(sandbox, clock):
    link_id, _attempt_id = _paid(sandbox, clock)

    with pytest.raises(ProviderRejected, match="not found"):
        sandbox.create_refund(_refund_request(link_id, "sbx-pay-nope"))
    with pytest.raises(ProviderRejected, match="not found"):
        sandbox.create_refund(_refund_request("sbx-link-nope", "sbx-pay-nope"))


def test_links_stored_before_refunds_still_load(store):
    links = store.sandbox_links
    old = SandboxLink("sbx-link-old", 100, "GBP", "Old", "http://t", "2026-01-01", "2026-01-01")
    old.attempts.append(SandboxAttempt("sbx-pay-old", "executed", "2026-01-01", "2026-01-01"))
    links.add_if_new(old)
    item = store.client.get_item(
        TableName=store.tables.lookups, Key={"lookupKey": {"S": "sandbox-link#sbx-link-old"}}
    )["Item"]
    item["attempts"]["L"][0]["M"].pop("refunds")  # as the code before refunds wrote it
    store.client.put_item(TableName=store.tables.lookups, Item=item)

    assert links.get("sbx-link-old").attempts[0].refunds == []


# Settlement and a refund's end ----------------------------------------------------------------


def test_settling_an_executed_payment_reports_it_settled(sandbox, clock):
    link_id, attempt_id = _paid(sandbox, clock)

    [event] = sandbox.settle(link_id, attempt_id)

    assert event.kind is ProviderEventKind.ATTEMPT_UPDATED
    assert event.attempt_status is AttemptStatus.SETTLED
    assert event.event_id == f"{attempt_id}:settled"
    assert sandbox.get_link(link_id).attempts[0].status == "settled"
    with pytest.raises(PaymentNotSettleable):
        sandbox.settle(link_id, attempt_id)  # once


def test_a_refund_is_not_executed_before_its_payment_settles(sandbox, clock):
    link_id, attempt_id = _paid(sandbox, clock)
    refund = sandbox.create_refund(_refund_request(link_id, attempt_id))

    with pytest.raises(RefundNotMovable, match="once it has settled"):
        sandbox.execute_refund(link_id, attempt_id, refund.provider_refund_id)

    assert sandbox.refunds(attempt_id, link_id)[0].status is RefundStatus.PENDING


def test_executing_a_refund_reports_it_executed(sandbox, clock):
    link_id, attempt_id = _paid(sandbox, clock)
    refund = sandbox.create_refund(_refund_request(link_id, attempt_id))
    sandbox.settle(link_id, attempt_id)

    [event] = sandbox.execute_refund(link_id, attempt_id, refund.provider_refund_id)

    assert event.kind is ProviderEventKind.REFUND_UPDATED
    assert event.provider_link_id is None
    assert event.provider_payment_id == attempt_id
    assert event.provider_refund_id == refund.provider_refund_id
    assert event.refund_id == refund.refund_id
    assert event.refund_status is RefundStatus.EXECUTED
    assert event.event_id == f"{refund.provider_refund_id}:executed"
    assert sandbox.refunds(attempt_id, link_id)[0].status is RefundStatus.EXECUTED
    with pytest.raises(RefundNotMovable):
        sandbox.execute_refund(link_id, attempt_id, refund.provider_refund_id)


def test_failing_a_refund_reports_why(sandbox, clock):
    link_id, attempt_id = _paid(sandbox, clock)
    refund = sandbox.create_refund(_refund_request(link_id, attempt_id))

    [event] = sandbox.fail_refund(link_id, attempt_id, refund.provider_refund_id)

    assert event.refund_status is RefundStatus.FAILED
    assert event.failure_reason == "insufficient_funds"
    assert event.event_id == f"{refund.provider_refund_id}:failed"
    [stored] = sandbox.refunds(attempt_id, link_id)
    assert (stored.status, stored.failure_reason) == (RefundStatus.FAILED, "insufficient_funds")
    with pytest.raises(RefundNotMovable):
        sandbox.fail_refund(link_id, attempt_id, refund.provider_refund_id)  # failed is final


def test_returning_an_executed_refund_fails_it_as_returned(sandbox, clock):
    link_id, attempt_id = _paid(sandbox, clock)
    refund = sandbox.create_refund(_refund_request(link_id, attempt_id))
    sandbox.settle(link_id, attempt_id)
    with pytest.raises(RefundNotMovable):
        sandbox.return_refund(link_id, attempt_id, refund.provider_refund_id)  # not sent yet
    sandbox.execute_refund(link_id, attempt_id, refund.provider_refund_id)

    [event] = sandbox.return_refund(link_id, attempt_id, refund.provider_refund_id)

    assert event.refund_status is RefundStatus.FAILED
    assert event.failure_reason == "returned"
    assert event.event_id == f"{refund.provider_refund_id}:returned"
    assert sandbox.refunds(attempt_id, link_id)[0].failure_reason == "returned"


# Webhooks -------------------------------------------------------------------------------------


def test_refund_events_become_truelayer_shaped_webhooks(sandbox, clock):
    link_id, attempt_id = _paid(sandbox, clock)
    refund = sandbox.create_refund(_refund_request(link_id, attempt_id))
    sandbox.settle(link_id, attempt_id)
    [executed] = sandbox.execute_refund(link_id, attempt_id, refund.provider_refund_id)
    [returned] = sandbox.return_refund(link_id, attempt_id, refund.provider_refund_id)

    assert _payload(executed) == {
        "type": "refund_executed",
        "event_id": executed.event_id,
        "event_version": 1,
        "refund_id": refund.provider_refund_id,
        "payment_id": attempt_id,
        "executed_at": "2026-11-20T12:00:00Z",
    }
    assert _payload(returned) == {
        "type": "refund_failed",
        "event_id": returned.event_id,
        "event_version": 1,
        "refund_id": refund.provider_refund_id,
        "payment_id": attempt_id,
        "failed_at": "2026-11-20T12:00:00Z",
        "failure_reason": "returned",
    }


def test_a_settled_payment_becomes_a_payment_settled_webhook(sandbox, clock):
    link_id, attempt_id = _paid(sandbox, clock)

    [settled] = sandbox.settle(link_id, attempt_id)

    assert _payload(settled)["type"] == "payment_settled"
    assert _payload(settled)["payment_id"] == attempt_id


# The payment controls page --------------------------------------------------------------------


@pytest.fixture
def paid_in_app(app):
    """A payment made in the app and paid at the sandbox, with one pending refund there."""
    service = app.extensions["payment_service"]
    with app.test_request_context():
        payment = service.create_payment_link(
            actor_for("alice@example.com"), a_request(amount_minor=AMOUNT)
        )
    provider = app.extensions["payment_provider"]
    paid = provider.pay(payment.provider_link_id)
    for event in paid:
        service.apply_provider_event(event)
    attempt_id = attempt_id_of(paid)
    refund = provider.create_refund(_refund_request(payment.provider_link_id, attempt_id))
    return provider, payment.provider_link_id, attempt_id, refund.provider_refund_id


@pytest.fixture
def sent(app, monkeypatch):
    """The events the sandbox delivered as webhooks, in order."""
    retries = app.extensions["sandbox_webhook_retries"]
    deliver = retries.deliver
    events = []

    def record(event):
        events.append(event)
        return deliver(event)

    monkeypatch.setattr(retries, "deliver", record)
    return events


def _page(client, link_id: str, attempt_id: str) -> str:
    response = client.get(f"/sandbox/links/{link_id}/payments/{attempt_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_controls_page_shows_the_payment_and_waits_for_settlement(client, paid_in_app):
    _provider, link_id, attempt_id, _refund_id = paid_in_app

    html = _page(client, link_id, attempt_id)

    assert "Invoice 42" in html
    assert "£12.50" in html
    assert '<strong class="payment-status">executed</strong>' in html
    assert "Settle payment" in html
    assert "Fail refund" in html
    assert re.search(r"<button[^>]* disabled[^>]*>Execute refund</button>", html)
    assert "Waiting for the payment to settle" in html
    assert "Return refund" not in html


def test_settling_and_executing_on_the_page_change_the_sandbox_and_send_webhooks(
    client, paid_in_app, sent
):
    provider, link_id, attempt_id, refund_id = paid_in_app
    page = f"/sandbox/links/{link_id}/payments/{attempt_id}"
    token = csrf_token_from(_page(client, link_id, attempt_id))

    settled = client.post(f"{page}/settle", data={"csrf_token": token})

    assert settled.status_code == 303
    assert settled.headers["Location"].endswith(page)
    assert provider.get_link(link_id).attempts[0].status == "settled"
    html = _page(client, link_id, attempt_id)
    assert "Settle payment" not in html
    assert "Waiting for the payment to settle" not in html

    executed = client.post(f"{page}/refunds/{refund_id}/execute", data={"csrf_token": token})

    assert executed.status_code == 303
    assert provider.refunds(attempt_id, link_id)[0].status is RefundStatus.EXECUTED
    assert "Return refund" in _page(client, link_id, attempt_id)
    assert [e.event_id for e in sent] == [f"{attempt_id}:settled", f"{refund_id}:executed"]


def test_failing_and_returning_on_the_page(client, paid_in_app, sent):
    provider, link_id, attempt_id, refund_id = paid_in_app
    page = f"/sandbox/links/{link_id}/payments/{attempt_id}"
    token = csrf_token_from(_page(client, link_id, attempt_id))

    failed = client.post(f"{page}/refunds/{refund_id}/fail", data={"csrf_token": token})

    assert failed.status_code == 303
    [refund] = provider.refunds(attempt_id, link_id)
    assert (refund.status, refund.failure_reason) == (RefundStatus.FAILED, "insufficient_funds")
    assert "insufficient_funds" in _page(client, link_id, attempt_id)
    # A second click on a stale page changes nothing and sends nothing.
    again = client.post(f"{page}/refunds/{refund_id}/return", data={"csrf_token": token})
    assert again.status_code == 303
    assert [e.event_id for e in sent] == [f"{refund_id}:failed"]


def test_unknown_links_payments_and_refunds_are_not_found(client, paid_in_app):
    _provider, link_id, attempt_id, _refund_id = paid_in_app
    token = csrf_token_from(_page(client, link_id, attempt_id))

    assert client.get(f"/sandbox/links/sbx-link-nope/payments/{attempt_id}").status_code == 404
    assert client.get(f"/sandbox/links/{link_id}/payments/sbx-pay-nope").status_code == 404
    unknown_refund = f"/sandbox/links/{link_id}/payments/{attempt_id}/refunds/nope/execute"
    assert client.post(unknown_refund, data={"csrf_token": token}).status_code == 404
    unknown_link = f"/sandbox/links/sbx-link-nope/payments/{attempt_id}/settle"
    assert client.post(unknown_link, data={"csrf_token": token}).status_code == 404


def test_the_hosted_page_of_a_paid_link_leads_to_its_controls(client, paid_in_app):
    _provider, link_id, attempt_id, _refund_id = paid_in_app

    html = client.get(f"/sandbox/links/{link_id}").get_data(as_text=True)

    assert f'href="/sandbox/links/{link_id}/payments/{attempt_id}"' in html
