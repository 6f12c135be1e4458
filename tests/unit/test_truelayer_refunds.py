"""TrueLayer refunds: signed, idempotent refund requests and the refund list against the local
stand-in (which verifies every signature), and the refund webhooks parsed into ProviderEvents."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import pytest
from werkzeug import Response

from dashboard.domain.payments import ProviderEventKind
from dashboard.domain.refunds import RefundStatus
from dashboard.providers import truelayer as truelayer_module
from dashboard.providers.base import (
    ProviderRefund,
    ProviderRejected,
    ProviderUnavailable,
    RefundRequest,
)
from dashboard.providers.truelayer import TrueLayerProvider, TrueLayerSettings
from dashboard.providers.truelayer_events import MalformedWebhook, provider_events
from dashboard.providers.webhook_verification import JwksCache, WebhookVerifier
from tests.truelayer_standin import SigningKey, TrueLayerStandIn

PAYMENT = "tl-pay-1"


def _provider(standin: TrueLayerStandIn, key: SigningKey) -> TrueLayerProvider:
    settings = TrueLayerSettings(
        auth_url=standin.url,
        api_url=standin.url,
        client_id="client",
        client_secret="secret",
        signing_key_id=key.kid,
        signing_private_key_pem=key.private_pem,
        merchant_accounts={"GBP": "ma-gbp"},
    )
    return TrueLayerProvider(settings)


@pytest.fixture
def provider(standin) -> TrueLayerProvider:
    return _provider(standin, standin.client_key)


@pytest.fixture
def no_sleep(monkeypatch):
    """Retries without waiting (the deadline still counts real time)."""
    monkeypatch.setattr(truelayer_module.time, "sleep", lambda _s: None)


def refund_request(amount_minor=500, refund_id="refund-1", key=None) -> RefundRequest:
    return RefundRequest(
        payment_id="payment-1",
        refund_id=refund_id,
        idempotency_key=key or f"refund-{refund_id}",
        provider_payment_id=PAYMENT,
        provider_link_id="tl-link-1",
        amount_minor=amount_minor,
        currency="GBP",
        reference="Refund Invoice 42",
    )


def refund_calls(standin: TrueLayerStandIn, method: str = "POST") -> list:
    return [
        r
        for r in standin.received
        if r.method == method and r.path == f"/v3/payments/{PAYMENT}/refunds"
    ]


# Creating a refund ------------------------------------------------------------------------


def test_a_refund_is_asked_for_with_a_signed_idempotent_request_carrying_our_ids(provider, standin):
    refund = provider.create_refund(refund_request(amount_minor=500))

    assert refund == ProviderRefund(
        provider_refund_id="tl-refund-1",
        status=RefundStatus.PENDING,
        amount_minor=500,
        refund_id="refund-1",
    )
    [sent] = refund_calls(standin)
    assert json.loads(sent.get_data(as_text=True)) == {
        "amount_in_minor": 500,
        "reference": "Refund Invoice 42",
        "metadata": {"refund_id": "refund-1", "payment_id": "payment-1"},
    }
    assert sent.headers["Idempotency-Key"] == "refund-refund-1"
    assert standin.verified_signatures == [f"/v3/payments/{PAYMENT}/refunds"]


def test_a_refund_signed_with_another_key_is_refused(standin):
    stranger = _provider(standin, SigningKey.generate(standin.client_key.kid))

    with pytest.raises(ProviderRejected, match="Invalid signature"):
        stranger.create_refund(refund_request())
    assert standin.refunds == {}


def test_asking_again_with_the_same_key_gives_back_the_same_refund(provider, standin):
    first = provider.create_refund(refund_request())
    again = provider.create_refund(refund_request())

    assert again.provider_refund_id == first.provider_refund_id
    assert list(standin.refunds) == [first.provider_refund_id]


def test_a_second_refund_with_its_own_key_is_a_new_refund(provider, standin):
    first = provider.create_refund(refund_request(refund_id="refund-1"))
    second = provider.create_refund(refund_request(refund_id="refund-2"))

    assert first.provider_refund_id != second.provider_refund_id


def test_more_than_is_left_of_the_payment_is_refused_and_not_retried(provider, standin):
    standin.add_payment(PAYMENT, 1000)
    provider.create_refund(refund_request(amount_minor=600, refund_id="refund-1"))

    with pytest.raises(ProviderRejected, match="422"):
        provider.create_refund(refund_request(amount_minor=500, refund_id="refund-2"))
    assert len(refund_calls(standin)) == 2
    assert len(standin.refunds) == 1


def test_a_failed_refund_frees_its_amount_at_truelayer(provider, standin):
    standin.add_payment(PAYMENT, 1000)
    failed = provider.create_refund(refund_request(amount_minor=1000, refund_id="refund-1"))
    standin.set_refund_status(failed.provider_refund_id, "failed", "insufficient_funds")

    again = provider.create_refund(refund_request(amount_minor=1000, refund_id="refund-2"))

    assert again.provider_refund_id != failed.provider_refund_id


def test_a_server_error_is_retried_with_the_same_key_and_makes_one_refund(
    provider, standin, no_sleep
):
    standin.failures_to_serve = [503]

    refund = provider.create_refund(refund_request())

    assert refund.provider_refund_id == "tl-refund-1"
    assert [r.headers["Idempotency-Key"] for r in refund_calls(standin)] == ["refund-refund-1"] * 2
    assert len(standin.refunds) == 1


def test_an_outage_is_unavailable_and_creates_nothing(provider, standin, no_sleep):
    standin.failures_to_serve = [500, 500, 500]

    with pytest.raises(ProviderUnavailable, match="500"):
        provider.create_refund(refund_request())
    assert len(refund_calls(standin)) == 3
    assert standin.refunds == {}


def test_an_answer_without_the_refund_id_is_unavailable(provider, standin, httpserver):
    provider._token.get()
    httpserver.clear_all_handlers()
    httpserver.expect_request(f"/v3/payments/{PAYMENT}/refunds", method="POST").respond_with_json(
        {}, status=201
    )

    with pytest.raises(ProviderUnavailable, match="did not say its id"):
        provider.create_refund(refund_request())


def test_a_slow_refund_answer_times_out_within_the_budget(
    provider, standin, httpserver, monkeypatch, no_sleep
):
    import time as real_time

    monkeypatch.setattr(truelayer_module, "_BUDGET_SECONDS", 0.3)
    provider._token.get()  # a token first, so only the slow call is timed
    httpserver.clear_all_handlers()

    def slow(_request):
        threading.Event().wait(1.0)  # time.sleep is patched out
        return Response('{"id": "late"}', status=201, content_type="application/json")

    httpserver.expect_request(f"/v3/payments/{PAYMENT}/refunds").respond_with_handler(slow)

    started = real_time.monotonic()
    with pytest.raises(ProviderUnavailable, match="unreachable"):
        provider.create_refund(refund_request())
    assert real_time.monotonic() - started < 4


# Listing refunds --------------------------------------------------------------------------


def test_the_refund_list_maps_statuses_amounts_our_ids_and_failure_reasons(provider, standin):
    standin.add_payment(PAYMENT, 1000)
    first = provider.create_refund(refund_request(amount_minor=300, refund_id="refund-1"))
    second = provider.create_refund(refund_request(amount_minor=200, refund_id="refund-2"))
    third = provider.create_refund(refund_request(amount_minor=100, refund_id="refund-3"))
    standin.set_refund_status(second.provider_refund_id, "executed")
    standin.set_refund_status(third.provider_refund_id, "failed", "insufficient_funds")

    refunds = provider.refunds(PAYMENT, "tl-link-1")

    assert refunds == [
        ProviderRefund(first.provider_refund_id, RefundStatus.PENDING, 300, "refund-1"),
        ProviderRefund(second.provider_refund_id, RefundStatus.EXECUTED, 200, "refund-2"),
        ProviderRefund(
            third.provider_refund_id, RefundStatus.FAILED, 100, "refund-3", "insufficient_funds"
        ),
    ]
    assert len(refund_calls(standin, "GET")) == 1


def test_a_refund_made_elsewhere_and_an_unknown_status_are_read_safely(provider, standin):
    made = provider.create_refund(refund_request(refund_id="refund-1"))
    standin.set_refund_status(made.provider_refund_id, "authorized")
    standin.refunds["tl-console"] = {  # made in TrueLayer's console: no metadata of ours
        "id": "tl-console",
        "amount_in_minor": 50,
        "currency": "GBP",
        "reference": "Console",
        "status": "pending",
        "created_at": "2026-11-20T12:00:00Z",
        "request": (PAYMENT, {}),
    }
    standin.refunds["tl-new"] = {**standin.refunds["tl-console"], "id": "tl-new", "status": "new"}

    refunds = provider.refunds(PAYMENT, None)

    assert refunds == [
        ProviderRefund(made.provider_refund_id, RefundStatus.AUTHORIZED, 500, "refund-1"),
        ProviderRefund("tl-console", RefundStatus.PENDING, 50),
    ]


def test_a_payment_without_refunds_lists_none(provider, standin):
    assert provider.refunds(PAYMENT, None) == []
    assert len(refund_calls(standin, "GET")) == 1


def test_an_unreadable_refund_list_is_unavailable_after_retries(provider, standin, no_sleep):
    standin.failures_to_serve = [502, 502, 502]

    with pytest.raises(ProviderUnavailable, match="502"):
        provider.refunds(PAYMENT, None)
    assert len(refund_calls(standin, "GET")) == 3


# Refund webhooks --------------------------------------------------------------------------


def verified_events(standin: TrueLayerStandIn, signed: tuple[str, dict[str, str]]):
    """Verify a signed webhook as the app does, then return the events it reports."""
    body, headers = signed
    verifier = WebhookVerifier((standin.jku,), JwksCache())
    verifier.verify(
        headers["Tl-Signature"], "/webhooks/truelayer", headers, body, datetime.now(UTC)
    )
    return provider_events(json.loads(body))


def test_a_refund_executed_webhook_reports_the_refund_executed(provider, standin):
    made = provider.create_refund(refund_request())

    [event] = verified_events(standin, standin.refund_executed_webhook(made.provider_refund_id))

    executed_at = standin.refunds[made.provider_refund_id]["executed_at"]
    assert event.kind is ProviderEventKind.REFUND_UPDATED
    assert event.event_id == "evt-refund-executed"
    assert event.provider == "truelayer"
    assert event.provider_link_id is None
    assert event.provider_payment_id == PAYMENT
    assert event.provider_refund_id == made.provider_refund_id
    assert event.refund_status is RefundStatus.EXECUTED
    assert event.failure_reason is None
    assert event.occurred_at == datetime.fromisoformat(executed_at.replace("Z", "+00:00"))


def test_a_refund_failed_webhook_reports_the_failure_and_its_reason(provider, standin):
    made = provider.create_refund(refund_request())

    [event] = verified_events(
        standin, standin.refund_failed_webhook(made.provider_refund_id, "insufficient_funds")
    )

    assert event.kind is ProviderEventKind.REFUND_UPDATED
    assert event.provider_payment_id == PAYMENT
    assert event.provider_refund_id == made.provider_refund_id
    assert event.refund_status is RefundStatus.FAILED
    assert event.failure_reason == "insufficient_funds"
    assert standin.refunds[made.provider_refund_id]["status"] == "failed"


def test_a_refund_webhook_echoing_our_metadata_names_our_refund():
    [event] = provider_events(
        {
            "type": "refund_executed",
            "event_id": "evt-1",
            "event_version": 1,
            "refund_id": "tl-refund-1",
            "payment_id": PAYMENT,
            "executed_at": "2026-11-20T12:01:00Z",
            "metadata": {"refund_id": "refund-1"},
        }
    )

    assert event.refund_id == "refund-1"
    assert event.occurred_at == datetime(2026, 11, 20, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize("kind", ["refund_executed", "refund_failed"])
@pytest.mark.parametrize("missing", ["refund_id", "payment_id"])
def test_a_refund_webhook_without_its_ids_is_malformed(kind, missing):
    payload = {
        "type": kind,
        "event_id": "evt-1",
        "event_version": 1,
        "refund_id": "tl-refund-1",
        "payment_id": PAYMENT,
        "failed_at": "2026-11-20T12:01:00Z",
        "failure_reason": "insufficient_funds",
    }
    del payload[missing]

    with pytest.raises(MalformedWebhook, match=missing):
        provider_events(payload)


@pytest.mark.parametrize("blank", [None, "", 42])
def test_a_refund_webhook_with_a_blank_refund_id_is_malformed(blank):
    payload = {
        "type": "refund_failed",
        "event_id": "evt-1",
        "refund_id": blank,
        "payment_id": PAYMENT,
        "failed_at": "2026-11-20T12:01:00Z",
        "failure_reason": "blocked",
    }

    with pytest.raises(MalformedWebhook, match="refund_id"):
        provider_events(payload)
