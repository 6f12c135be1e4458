"""TrueLayer: signed Payment Links calls against a local stand-in that verifies every signature,
and webhooks signed with a test key whose JWKS the stand-in serves."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from moto import mock_aws
from werkzeug import Response

from dashboard.app import create_app
from dashboard.core.ids import new_id
from dashboard.domain.payments import PaymentStatus
from dashboard.providers import truelayer as truelayer_module
from dashboard.providers.base import LinkRequest, ProviderRejected, ProviderUnavailable
from dashboard.services.payments import NewPaymentLink
from tests.conftest import TEST_SECRET_KEY, actor_for
from tests.truelayer_standin import SigningKey

MERCHANT = "alice@example.com"


@pytest.fixture
def app(standin, tmp_path):
    key_file = tmp_path / "ec512-private-key.pem"
    key_file.write_text(standin.client_key.private_pem)
    with mock_aws():
        app = create_app(
            {
                "APP_ENV": "test",
                "SECRET_KEY": TEST_SECRET_KEY,
                "PUBLIC_BASE_URL": "https://dashboard.example",
                "TRUSTED_HOSTS": "localhost",  # where the test client sends the webhooks
                "PAYMENT_PROVIDER": "truelayer",
                "TRUELAYER_CLIENT_ID": "client",
                "TRUELAYER_CLIENT_SECRET": "secret",
                "TRUELAYER_SIGNING_KEY_ID": standin.client_key.kid,
                "TRUELAYER_SIGNING_PRIVATE_KEY_PATH": str(key_file),
                "TRUELAYER_MERCHANT_ACCOUNTS": "GBP:ma-gbp,EUR:ma-eur",
                "TRUELAYER_AUTH_URL": standin.url,
                "TRUELAYER_API_URL": standin.url,
                "TRUELAYER_EXTRA_WEBHOOK_JKUS": standin.jku,
            }
        )
        app.extensions["store"].ensure_tables()
        yield app


@pytest.fixture
def provider(app):
    return app.extensions["payment_provider"]


def create_payment(app, **changes):
    request = NewPaymentLink(
        new_id(),
        changes.pop("amount_minor", 1250),
        changes.pop("currency", "GBP"),
        "Invoice 42",
        payer_name="Ann Lee",
        payer_email="ann@example.com",
    )
    with app.test_request_context():
        return app.extensions["payment_service"].create_payment_link(actor_for(MERCHANT), request)


def test_a_link_is_created_with_a_signed_idempotent_request(app, standin):
    payment = create_payment(app)

    assert payment.status is PaymentStatus.AWAITING_PAYMENT
    assert payment.provider_link_id == "tl-link-1"
    assert payment.link_url == "https://payment.truelayer-sandbox.com/links/tl-link-1"
    body = standin.links["tl-link-1"]["body"]
    configuration = body["payment_configuration"]
    assert body["type"] == "single_payment"
    assert body["reference"] == "Invoice 42"
    assert body["return_uri"] == f"https://dashboard.example/pay/{payment.payer_token}"
    assert body["expires_at"].endswith("Z")
    assert configuration["amount_in_minor"] == 1250
    assert configuration["currency"] == "GBP"
    assert configuration["payment_method"]["beneficiary"]["merchant_account_id"] == "ma-gbp"
    assert configuration["payment_method"]["provider_selection"] == {"type": "user_selected"}
    assert configuration["user"] == {
        "id": payment.payment_id,
        "name": "Ann Lee",
        "email": "ann@example.com",
    }
    assert configuration["metadata"] == {"payment_id": payment.payment_id}
    sent = standin.received[-1]
    assert sent.headers["Idempotency-Key"] == f"create-link-{payment.payment_id}"


def test_euro_links_use_the_euro_merchant_account(app, standin):
    payment = create_payment(app, currency="EUR")

    body = standin.links[payment.provider_link_id]["body"]
    assert (
        body["payment_configuration"]["payment_method"]["beneficiary"]["merchant_account_id"]
        == "ma-eur"
    )


def test_the_access_token_is_fetched_once_and_reused(app, standin):
    create_payment(app)
    create_payment(app)

    assert standin.token_requests == 1


def test_the_token_is_renewed_before_it_expires(provider, standin, monkeypatch):
    clock = [1000.0]
    provider._token._clock = lambda: clock[0]
    provider._token.get()
    clock[0] += 3600 - 30  # inside the renewal margin

    provider._token.get()

    assert standin.token_requests == 2


def test_a_server_error_is_retried_with_the_same_idempotency_key(app, standin, monkeypatch):
    monkeypatch.setattr(truelayer_module.time, "sleep", lambda _s: None)
    standin.failures_to_serve = [503]

    payment = create_payment(app)

    assert payment.status is PaymentStatus.AWAITING_PAYMENT
    keys = [r.headers.get("Idempotency-Key") for r in standin.received]
    assert keys == [f"create-link-{payment.payment_id}"] * 2
    assert len(standin.links) == 1


def test_an_outage_leaves_a_retryable_payment_and_never_a_link_that_does_not_exist(
    app, standin, monkeypatch
):
    monkeypatch.setattr(truelayer_module.time, "sleep", lambda _s: None)
    standin.failures_to_serve = [500, 500, 500]

    payment = create_payment(app)

    assert payment.status is PaymentStatus.CREATION_FAILED
    assert payment.link_url is None
    with app.test_request_context():
        retried = app.extensions["payment_service"].retry_link_creation(
            actor_for(MERCHANT), payment.payment_id
        )
    assert retried.status is PaymentStatus.AWAITING_PAYMENT
    assert len(standin.links) == 1


def test_a_refusal_is_not_retried(provider, standin):
    standin.failures_to_serve = [422]

    with pytest.raises(ProviderRejected):
        provider.create_link(
            LinkRequest(
                "p1",
                "key-1",
                100,
                "GBP",
                "Ref",
                datetime.now(UTC) + timedelta(hours=1),
                "https://x/pay/t",
            )
        )
    assert len(standin.received) == 1


def test_an_unreachable_truelayer_is_unavailable(provider, monkeypatch):
    monkeypatch.setattr(truelayer_module.time, "sleep", lambda _s: None)
    provider._settings = type(provider._settings)(
        **{
            **provider._settings.__dict__,
            "api_url": "http://127.0.0.1:9",
            "auth_url": "http://127.0.0.1:9",
        }
    )

    with pytest.raises(ProviderUnavailable):
        provider.link_state("tl-link-1")


def test_a_currency_without_merchant_account_is_refused_before_calling(provider, standin):
    with pytest.raises(ProviderRejected, match="No TrueLayer merchant account is set for USD"):
        provider.create_link(
            LinkRequest("p1", "k", 100, "USD", "Ref", datetime.now(UTC), "https://x/pay/t")
        )
    assert standin.received == []


def test_refresh_reads_the_link_and_its_payments(app, standin):
    payment = create_payment(app)
    standin.payments["pay-1"] = {
        "id": "pay-1",
        "payment_link_id": payment.provider_link_id,
        "status": "failed",
        "failure_reason": "insufficient_funds",
    }
    standin.payments["pay-2"] = {
        "id": "pay-2",
        "payment_link_id": payment.provider_link_id,
        "status": "executed",
    }

    refreshed = app.extensions["payment_service"].refresh_payment(
        actor_for(MERCHANT), payment.payment_id
    )

    assert refreshed.status is PaymentStatus.COMPLETED
    assert {a.provider_payment_id: a.status.value for a in refreshed.attempts} == {
        "pay-1": "failed",
        "pay-2": "executed",
    }


def test_cancelling_while_a_payment_is_authorising_keeps_it_processing(app, standin):
    from dashboard.services.payments import PayerIsPaying

    payment = create_payment(app)
    standin.payments["pay-1"] = {
        "id": "pay-1",
        "payment_link_id": payment.provider_link_id,
        "status": "authorizing",
    }

    with pytest.raises(PayerIsPaying):
        app.extensions["payment_service"].cancel_payment(actor_for(MERCHANT), payment.payment_id)

    assert standin.links[payment.provider_link_id]["status"] == "disabling"
    stored = app.extensions["payment_service"].get_payment(MERCHANT, payment.payment_id)
    assert stored.status is PaymentStatus.PROCESSING
    assert [a.provider_payment_id for a in stored.attempts] == ["pay-1"]


def test_cancelling_disables_the_link_at_truelayer(app, standin):
    payment = create_payment(app)

    cancelled = app.extensions["payment_service"].cancel_payment(
        actor_for(MERCHANT), payment.payment_id
    )

    assert cancelled.status is PaymentStatus.CANCELLED
    assert standin.links[payment.provider_link_id]["status"] == "disabled"


def test_the_signature_check_command_reports_success(app, standin):
    result = app.test_cli_runner().invoke(args=["truelayer-check"])

    assert result.exit_code == 0, result.output
    assert "signature accepted" in result.output


# Webhooks ---------------------------------------------------------------------------------


def deliver(app, standin, payload, **signing):
    body, headers = standin.signed_webhook(payload, **signing)
    return app.test_client().post("/webhooks/truelayer", data=body, headers=headers)


def _created(link_id, payment_id="tl-pay-1", event_id="evt-created"):
    return {
        "type": "payment_link_payment_created",
        "event_version": 1,
        "event_id": event_id,
        "payment_link_id": link_id,
        "payment": {"id": payment_id, "created_at": "2026-11-20T12:00:00Z"},
    }


def _executed(payment_id="tl-pay-1", event_id="evt-executed"):
    return {
        "type": "payment_executed",
        "event_version": 1,
        "event_id": event_id,
        "payment_id": payment_id,
        "executed_at": "2026-11-20T12:01:00Z",
        "payment_method": {"type": "bank_transfer"},
    }


def stored(app, payment):
    return app.extensions["payment_service"].get_payment(MERCHANT, payment.payment_id)


def test_signed_webhooks_move_the_payment_to_completed(app, standin):
    payment = create_payment(app)

    first = deliver(app, standin, _created(payment.provider_link_id))
    second = deliver(app, standin, _executed())

    assert (first.status_code, second.status_code) == (200, 200)
    assert stored(app, payment).status is PaymentStatus.COMPLETED


def test_a_failed_attempt_is_shown_in_words_and_the_link_stays_live(app, standin):
    payment = create_payment(app)
    deliver(app, standin, _created(payment.provider_link_id))

    deliver(
        app,
        standin,
        {
            "type": "payment_failed",
            "event_version": 1,
            "event_id": "evt-failed",
            "payment_id": "tl-pay-1",
            "failed_at": "2026-11-20T12:02:00Z",
            "failed_stage": "authorizing",
            "failure_reason": "user_canceled",
        },
    )

    failed = stored(app, payment)
    assert failed.status is PaymentStatus.ATTEMPT_FAILED
    assert failed.status_history[-1].note == "The payer cancelled at their bank."


@pytest.mark.parametrize(
    "tamper",
    ["body", "jku", "stale", "future", "key"],
)
def test_an_untrustworthy_webhook_is_refused_and_writes_nothing(app, standin, tamper):
    payment = create_payment(app)
    deliver(app, standin, _created(payment.provider_link_id))
    before = stored(app, payment)
    payload = _executed()
    body, headers = standin.signed_webhook(
        payload,
        jku="https://evil.example/jwks" if tamper == "jku" else None,
        timestamp=(datetime.now(UTC) - timedelta(minutes=10))
        if tamper == "stale"
        else (datetime.now(UTC) + timedelta(minutes=10))
        if tamper == "future"
        else None,
        key=SigningKey.generate(standin.webhook_key.kid) if tamper == "key" else None,
    )
    if tamper == "body":
        body = body.replace("tl-pay-1", "tl-pay-2")

    response = app.test_client().post("/webhooks/truelayer", data=body, headers=headers)

    assert response.status_code == 401
    assert stored(app, payment) == before


def test_a_replayed_event_is_answered_without_applying_it_again(app, standin):
    payment = create_payment(app)
    deliver(app, standin, _created(payment.provider_link_id))
    deliver(app, standin, _executed())
    after_first = stored(app, payment)

    replay = deliver(app, standin, _executed())

    assert replay.json == {"status": "duplicate"}
    assert stored(app, payment) == after_first


def test_an_event_about_an_unknown_payment_asks_truelayer_to_retry(app, standin):
    payment = create_payment(app)

    early = deliver(app, standin, _executed())  # before payment_link_payment_created arrived
    deliver(app, standin, _created(payment.provider_link_id))
    retried = deliver(app, standin, _executed())

    assert early.status_code == 404
    assert retried.status_code == 200
    assert stored(app, payment).status is PaymentStatus.COMPLETED


def test_out_of_order_events_leave_the_payment_right(app, standin):
    payment = create_payment(app)
    deliver(app, standin, _created(payment.provider_link_id))
    deliver(
        app,
        standin,
        {
            "type": "payment_settled",
            "event_version": 1,
            "event_id": "evt-settled",
            "payment_id": "tl-pay-1",
            "settled_at": "2026-11-20T12:05:00Z",
        },
    )

    late = deliver(
        app,
        standin,
        {
            "type": "payment_authorized",
            "event_version": 1,
            "event_id": "evt-auth",
            "payment_id": "tl-pay-1",
        },
    )

    assert late.status_code == 200
    final = stored(app, payment)
    assert final.status is PaymentStatus.COMPLETED
    assert final.attempts[0].status.value == "settled"


def test_an_expired_link_webhook_expires_an_unpaid_payment(app, standin):
    payment = create_payment(app)

    deliver(
        app,
        standin,
        {
            "type": "payment_link_disabled",
            "event_version": 1,
            "event_id": "evt-d",
            "payment_link_id": payment.provider_link_id,
            "disabled_at": "2026-11-21T12:00:00Z",
            "disabled_reason": "expired",
        },
    )

    assert stored(app, payment).status is PaymentStatus.EXPIRED


def test_unknown_event_types_are_acknowledged(app, standin):
    response = deliver(app, standin, {"type": "balance_notification", "event_id": "evt-x"})

    assert response.status_code == 200
    assert response.json == {"status": "ignored"}


def test_the_sync_command_polls_truelayer_for_open_payments(app, standin):
    payment = create_payment(app)
    standin.payments["pay-9"] = {
        "id": "pay-9",
        "payment_link_id": payment.provider_link_id,
        "status": "executed",
    }

    result = app.test_cli_runner().invoke(args=["sync-payments", "--older-than", "0s"])

    assert result.exit_code == 0, result.output
    assert "Awaiting payment → Completed" in result.output
    assert stored(app, payment).status is PaymentStatus.COMPLETED


def test_rate_limiting_is_waited_out_then_reported(provider, standin, monkeypatch):
    waits = []
    monkeypatch.setattr(truelayer_module.time, "sleep", waits.append)
    standin.failures_to_serve = [429, 429, 429]

    with pytest.raises(ProviderUnavailable, match="429"):
        provider.link_state("tl-link-1")
    assert len(waits) == 2  # two retries of an idempotent read, then a clear error


def test_a_slow_answer_times_out_as_unavailable(provider, httpserver, monkeypatch):
    import time as real_time

    monkeypatch.setattr(truelayer_module, "_BUDGET_SECONDS", 0.3)
    monkeypatch.setattr(truelayer_module.time, "sleep", lambda _s: None)
    provider._token.get()  # a token first, so only the slow call is timed
    httpserver.clear_all_handlers()

    def slow(_request):
        threading.Event().wait(1.0)  # time.sleep is patched out above
        return Response("{}", content_type="application/json")

    httpserver.expect_request("/v3/payment-links/slow").respond_with_handler(slow)

    started = real_time.monotonic()
    with pytest.raises(ProviderUnavailable, match="unreachable"):
        provider.link_state("slow")
    assert real_time.monotonic() - started < 4


def test_a_hung_truelayer_is_given_up_within_one_budget_retries_included(provider, monkeypatch):
    import time as real_time

    from tests.blackhole import Blackhole

    hung = Blackhole()  # accepts the connection, never answers
    monkeypatch.setattr(truelayer_module, "_BUDGET_SECONDS", 1.5)
    provider._settings = type(provider._settings)(
        **{**provider._settings.__dict__, "api_url": hung.url, "auth_url": hung.url}
    )
    try:
        started = real_time.monotonic()
        with pytest.raises(ProviderUnavailable):
            provider.link_state("tl-link-1")
        elapsed = real_time.monotonic() - started
    finally:
        hung.close()

    # One budget for the token fetch and every retry (it was up to 3 x 13 s per call).
    assert elapsed < 2.5
    assert hung.accepted >= 1
