"""A refund through TrueLayer from end to end, against the local stand-in: the request is signed
over its exact body with an idempotency key derived from our refund id (the stand-in verifies
both), TrueLayer's signed webhooks go through the app's own pipeline, and a refund TrueLayer made
while its answer was lost is adopted on retry, never made twice."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest
from moto import mock_aws

from dashboard.core.ids import new_id
from dashboard.domain.payments import (
    AttemptStatus,
    Payment,
    PaymentAttempt,
    PaymentStatus,
)
from dashboard.domain.refunds import RefundStatus
from dashboard.providers.base import ProviderUnavailable
from dashboard.providers.webhook_verification import JwksCache, WebhookVerifier
from dashboard.services.payments import PaymentService
from dashboard.services.refunds import NewRefund, RefundService
from dashboard.services.webhooks import WebhookIntake
from dashboard.store.database import Store
from dashboard.store.dynamo import TableNames, make_client
from dashboard.store.payments import attempt_lookup_key
from tests.conftest import actor_for
from tests.unit.test_truelayer_refunds import _provider

ACCOUNT = "shop"
ALICE = actor_for(ACCOUNT)
TL_PAYMENT = "tl-pay-77"


@pytest.fixture
def world(standin):
    with mock_aws():
        store = Store(make_client("eu-west-2", None), TableNames.with_prefix("tl-flow-"))
        store.ensure_tables()
        provider = _provider(standin, standin.client_key)
        payments = PaymentService(store.payments, provider, lambda token: f"http://t/{token}")
        refunds = RefundService(store.payments, provider)
        intake = WebhookIntake(
            WebhookVerifier((standin.jku,), JwksCache()), store.webhook_events, payments
        )
        yield store, refunds, intake


def _settled_payment(store: Store, standin) -> Payment:
    """Store a TrueLayer payment whose attempt settled (as its webhooks would leave it)."""
    now = datetime.now(UTC)
    payment = Payment(
        user_id=ACCOUNT,
        payment_id=new_id(),
        amount_minor=4000,
        currency="GBP",
        reference="Invoice 77",
        status=PaymentStatus.CREATING,
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(hours=1),
        provider="truelayer",
        payer_token=new_id(),
    )
    store.payments.add(payment, [])
    live = store.payments.save(
        payment,
        dataclasses.replace(
            payment, status=PaymentStatus.AWAITING_PAYMENT, provider_link_id="tl-link-77"
        ),
    )
    attempt = PaymentAttempt(TL_PAYMENT, AttemptStatus.SETTLED, now, now)
    paid = dataclasses.replace(live, status=PaymentStatus.COMPLETED, attempts=(attempt,))
    stored = store.payments.save(live, paid)
    assert store.payments.find_owner(attempt_lookup_key("truelayer", TL_PAYMENT))
    standin.add_payment(TL_PAYMENT, 4000)
    return stored


def _deliver(intake: WebhookIntake, webhook: tuple[str, dict[str, str]]) -> int:
    body, headers = webhook
    _answer, status = intake.receive(
        "truelayer", headers["Tl-Signature"], "/webhooks/truelayer", headers, body
    )
    return status


def test_a_refund_is_signed_keyed_by_our_id_and_executed_by_truelayers_webhook(world, standin):
    store, refunds, intake = world
    paid = _settled_payment(store, standin)
    refund_id = new_id()

    stored = refunds.request_refund(ALICE, paid.payment_id, NewRefund(refund_id, 1500, "Late"))

    [sent] = [r for r in standin.received if r.path == f"/v3/payments/{TL_PAYMENT}/refunds"]
    assert sent.headers["Idempotency-Key"] == f"refund-{refund_id}"
    assert f"/v3/payments/{TL_PAYMENT}/refunds" in standin.verified_signatures
    body = json.loads(sent.get_data(as_text=True))
    assert body["amount_in_minor"] == 1500
    assert body["metadata"]["refund_id"] == refund_id
    refund = stored.refund(refund_id)
    assert refund.status is RefundStatus.PENDING

    assert _deliver(intake, standin.refund_executed_webhook(refund.provider_refund_id)) == 200
    assert _deliver(intake, standin.refund_executed_webhook(refund.provider_refund_id)) == 200

    after = store.payments.get(ACCOUNT, paid.payment_id)
    assert after.refund(refund_id).status is RefundStatus.EXECUTED
    assert after.refunded_minor == 1500  # the repeated webhook counted once

    returned = standin.refund_failed_webhook(refund.provider_refund_id, "returned", "evt-ret")
    assert _deliver(intake, returned) == 200
    after = store.payments.get(ACCOUNT, paid.payment_id)
    assert after.refund(refund_id).status is RefundStatus.FAILED
    assert after.refunded_minor == 0


def test_a_refund_whose_answer_was_lost_is_adopted_from_truelayers_list(
    world,
    standin,
    monkeypatch,
):
    store, refunds, _intake = world
    paid = _settled_payment(store, standin)
    provider = refunds._provider
    real = provider.create_refund

    def made_then_unreachable(request):
        real(request)  # TrueLayer made it...
        raise ProviderUnavailable("TrueLayer unreachable: read timed out")  # ...answer lost

    monkeypatch.setattr(provider, "create_refund", made_then_unreachable)
    refund_id = new_id()
    failed = refunds.request_refund(ALICE, paid.payment_id, NewRefund(refund_id, 1000))
    assert failed.refund(refund_id).status is RefundStatus.CREATION_FAILED
    monkeypatch.undo()

    retried = refunds.retry_refund(ALICE, paid.payment_id, refund_id)

    assert retried.refund(refund_id).status is RefundStatus.PENDING
    posts = [r for r in standin.received if r.method == "POST" and r.path.endswith("/refunds")]
    assert len(posts) == 1  # found in TrueLayer's list by our id: not sent again
    assert len(standin.refunds) == 1
    assert retried.refund(refund_id).provider_refund_id in standin.refunds
