"""The refunds endpoints of the JSON API: a shop's script gives money back from a paid link.

On moto and the sandbox provider, as the app runs: the payer pays the sandbox's link, the
sandbox makes the refunds, and its settle and execute steps reach the app as its events do.
"""

from __future__ import annotations

import pytest
from flask import Flask
from jsonschema import Draft202012Validator

from dashboard.core.ids import new_id
from dashboard.domain.api_keys import KeyScope
from dashboard.domain.refunds import REFUND_REASON_MAX_LENGTH
from dashboard.providers.base import ProviderRefund, ProviderUnavailable
from dashboard.store.dynamo import StoreUnavailable
from tests.conftest import FakeClock, actor_for, csrf_token_from
from tests.unit.api_support import ALICE, BOB, NEW_PAYMENT, api_key_for, assert_problem, bearer
from tests.unit.conftest import sign_in


@pytest.fixture
def alice(app):
    """Alice's full-scope API key headers."""
    return bearer(api_key_for(app, ALICE))


def _paid_payment(app: Flask, client, headers) -> dict:
    """Create a £12.50 link through the API, have the payer pay it, return it as it is then."""
    payment = client.post("/api/v1/payments", json=NEW_PAYMENT, headers=headers).json
    with app.app_context():
        for event in app.extensions["payment_provider"].pay(_link_id(payment)):
            app.extensions["payment_service"].apply_provider_event(event)
    return client.get(f"/api/v1/payments/{payment['id']}", headers=headers).json


def _link_id(payment: dict) -> str:
    return payment["link_url"].rsplit("/", 1)[1]


def _sandbox_refunds(app: Flask, payment: dict) -> list[ProviderRefund]:
    """Return the refunds the sandbox made of the payment's paid attempt."""
    attempt_id = payment["attempts"][0]["provider_payment_id"]
    with app.app_context():
        return app.extensions["payment_provider"].refunds(attempt_id, _link_id(payment))


def _settle_and_execute(app: Flask, payment: dict, refund_id: str) -> None:
    """Settle the payment in the sandbox and execute the refund; deliver the events."""
    sandbox = app.extensions["payment_provider"]
    attempt_id = payment["attempts"][0]["provider_payment_id"]
    [made] = [r for r in _sandbox_refunds(app, payment) if r.refund_id == refund_id]
    with app.app_context():
        events = sandbox.settle(_link_id(payment), attempt_id) + sandbox.execute_refund(
            _link_id(payment), attempt_id, made.provider_refund_id
        )
        for event in events:
            app.extensions["payment_service"].apply_provider_event(event)


def _refunds_url(payment: dict) -> str:
    return f"/api/v1/payments/{payment['id']}/refunds"


def _schema(client, name: str) -> Draft202012Validator:
    spec = client.get("/api/v1/openapi.json").json
    schema = {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


# Asking ----------------------------------------------------------------------------------------


def test_a_script_refunds_part_of_a_completed_payment(app, client, alice):
    payment = _paid_payment(app, client, alice)

    response = client.post(
        _refunds_url(payment), json={"amount": "5.00", "reason": "One item back"}, headers=alice
    )

    assert response.status_code == 201
    refund = response.json
    assert response.headers["Location"] == f"{_refunds_url(payment)}/{refund['id']}"
    assert refund["status"] == "pending"
    assert refund["status_label"] == "Pending"
    assert refund["amount"] == "5.00"
    assert refund["amount_minor"] == 500
    assert refund["currency"] == "GBP"
    assert refund["reason"] == "One item back"
    assert refund["failure_reason"] is None
    assert refund["requested_by"] == "Shop"
    assert refund["created_at"].endswith("Z")
    _schema(client, "Refund").validate(refund)
    [made] = _sandbox_refunds(app, payment)
    assert (made.amount_minor, made.refund_id) == (500, refund["id"])
    assert client.get(response.headers["Location"], headers=alice).json == refund


def test_without_an_amount_all_that_is_left_is_refunded(app, client, alice):
    payment = _paid_payment(app, client, alice)
    client.post(_refunds_url(payment), json={"amount": "2.50"}, headers=alice)

    rest = client.post(_refunds_url(payment), headers=alice)  # no body at all

    assert rest.status_code == 201
    assert rest.json["amount"] == "10.00"
    assert rest.json["reason"] is None


def test_a_retry_with_the_same_idempotency_key_returns_the_same_refund(app, client, alice):
    payment = _paid_payment(app, client, alice)
    headers = {**alice, "Idempotency-Key": "refund-order-42"}

    first = client.post(_refunds_url(payment), json={"amount": "5.00"}, headers=headers)
    retry = client.post(_refunds_url(payment), json={"amount": "5.00"}, headers=headers)

    assert first.status_code == retry.status_code == 201
    assert retry.json == first.json
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.headers["Location"] == first.headers["Location"]
    assert len(client.get(_refunds_url(payment), headers=alice).json["data"]) == 1


def test_a_retry_after_a_failed_run_gets_the_refund_that_run_asked_for(
    app, client, alice, monkeypatch
):
    payment = _paid_payment(app, client, alice)
    payments = app.extensions["store"].payments
    real_save, saves = payments.save, []

    def save_timing_out_the_second_time(*args, **kwargs):
        saves.append(args)
        if len(saves) == 2:  # the provider's answer, after the refund was reserved
            raise StoreUnavailable("RequestTimeout")
        return real_save(*args, **kwargs)

    monkeypatch.setattr(payments, "save", save_timing_out_the_second_time)
    headers = {**alice, "Idempotency-Key": "refund-order-43"}

    failed = client.post(_refunds_url(payment), json={"amount": "5.00"}, headers=headers)
    retry = client.post(_refunds_url(payment), json={"amount": "5.00"}, headers=headers)

    assert_problem(failed, 503, "unavailable")
    assert retry.status_code == 201
    [stored] = client.get(_refunds_url(payment), headers=alice).json["data"]
    [made] = _sandbox_refunds(app, payment)
    assert retry.json["id"] == stored["id"] == made.refund_id


def test_more_than_is_left_is_a_422_naming_the_amount(app, client, alice):
    payment = _paid_payment(app, client, alice)
    client.post(_refunds_url(payment), json={"amount": "10.00"}, headers=alice)

    response = client.post(_refunds_url(payment), json={"amount": "3.00"}, headers=alice)

    problem = assert_problem(response, 422, "validation-error")
    assert problem["errors"] == {"amount": "At most £2.50 can still be refunded."}
    assert len(client.get(_refunds_url(payment), headers=alice).json["data"]) == 1


def test_a_payment_that_is_not_completed_is_a_409(client, alice):
    unpaid = client.post("/api/v1/payments", json=NEW_PAYMENT, headers=alice).json

    response = client.post(_refunds_url(unpaid), json={"amount": "1.00"}, headers=alice)

    problem = assert_problem(response, 409, "conflict")
    assert problem["detail"] == "Only a completed payment can be refunded."
    assert client.get(_refunds_url(unpaid), headers=alice).json == {"data": []}


def test_a_fully_refunded_payment_is_a_409(app, client, alice):
    payment = _paid_payment(app, client, alice)
    client.post(_refunds_url(payment), headers=alice)

    response = client.post(_refunds_url(payment), headers=alice)

    assert "Nothing is left to refund" in assert_problem(response, 409, "conflict")["detail"]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"amount": 5}, "amount", 'Send a string, such as "12.50".'),
        ({"amount": "5.005"}, "amount", "at most 2 digits"),
        ({"amount": "0"}, "amount", "more than zero"),
        ({"reason": "r" * (REFUND_REASON_MAX_LENGTH + 1)}, "reason", "at most 140"),
        ({"reason": "Line\nbreak"}, "reason", "no line breaks"),
        ({"amount_minor": 500}, "amount_minor", "Unknown field."),
    ],
)
def test_invalid_input_is_refused_by_field(app, client, alice, body, field, message):
    payment = _paid_payment(app, client, alice)

    response = client.post(_refunds_url(payment), json=body, headers=alice)

    assert message in assert_problem(response, 422, "validation-error")["errors"][field]
    assert _sandbox_refunds(app, payment) == []


def test_a_read_only_key_may_list_refunds_but_not_ask_for_one(app, client, alice):
    payment = _paid_payment(app, client, alice)
    _key, read_only = app.extensions["api_keys"].create_key(
        actor_for(ALICE), "Reports", scope=KeyScope.READ_ONLY
    )

    refused = client.post(_refunds_url(payment), headers=bearer(read_only))
    listed = client.get(_refunds_url(payment), headers=bearer(read_only))

    assert "read-only" in assert_problem(refused, 403, "forbidden")["detail"]
    assert listed.json == {"data": []}
    assert _sandbox_refunds(app, payment) == []


def test_another_merchants_payment_is_a_404_to_refund_and_to_list(app, client, alice):
    bobs = _paid_payment(app, client, bearer(api_key_for(app, BOB)))

    refund = client.post(_refunds_url(bobs), headers=alice)
    listed = client.get(_refunds_url(bobs), headers=alice)
    unknown = client.post(f"/api/v1/payments/{new_id()}/refunds", headers=alice)

    assert_problem(refund, 404, "not-found")
    assert_problem(listed, 404, "not-found")
    assert_problem(unknown, 404, "not-found")
    assert _sandbox_refunds(app, bobs) == []


def test_an_unknown_refund_is_a_404_to_read_and_to_retry(app, client, alice):
    payment = _paid_payment(app, client, alice)
    unknown = f"{_refunds_url(payment)}/{new_id()}"

    assert_problem(client.get(unknown, headers=alice), 404, "not-found")
    assert_problem(client.post(f"{unknown}/retry", headers=alice), 404, "not-found")


def test_a_browser_session_needs_a_recent_sign_in_to_refund(app, clock: FakeClock):
    app.extensions["sessions"].clock = clock
    merchant = sign_in(app.test_client())
    payment = _paid_payment(app, merchant, bearer(api_key_for(app, ALICE)))
    token = csrf_token_from(merchant.get("/settings").get_data(as_text=True))
    clock.advance(minutes=6)

    response = merchant.post(_refunds_url(payment), headers={"X-CSRFToken": token})

    assert_problem(response, 401, "step-up-required")
    assert _sandbox_refunds(app, payment) == []


# Listing, and the payment's JSON -----------------------------------------------------------------


def test_the_list_holds_every_refund_oldest_first(app, client, alice):
    payment = _paid_payment(app, client, alice)
    first = client.post(_refunds_url(payment), json={"amount": "1.00"}, headers=alice).json
    second = client.post(_refunds_url(payment), json={"amount": "2.00"}, headers=alice).json

    listed = client.get(_refunds_url(payment), headers=alice).json

    assert listed == {"data": [first, second]}
    _schema(client, "RefundList").validate(listed)


def test_the_payment_json_shows_its_refunds_and_what_is_left(app, client, alice):
    payment = _paid_payment(app, client, alice)
    first = client.post(_refunds_url(payment), json={"amount": "2.00"}, headers=alice).json
    _settle_and_execute(app, payment, first["id"])
    pending = client.post(_refunds_url(payment), json={"amount": "3.00"}, headers=alice).json

    after = client.get(f"/api/v1/payments/{payment['id']}", headers=alice).json

    assert payment["refunds"] == []
    assert payment["refund_status"] is None
    assert payment["refundable_amount"] == "12.50"
    executed = client.get(f"{_refunds_url(payment)}/{first['id']}", headers=alice).json
    assert executed["status"] == "executed"
    assert after["refunds"] == [executed, pending]
    assert after["refunded_amount"] == "2.00"
    assert after["refunded_amount_minor"] == 200
    assert after["refundable_amount"] == "7.50"
    assert after["refundable_amount_minor"] == 750
    assert after["refund_status"] == "partly_refunded"
    _schema(client, "Payment").validate(after)
    _schema(client, "Payment").validate(payment)


def test_an_unpaid_payment_has_nothing_refundable(client, alice):
    unpaid = client.post("/api/v1/payments", json=NEW_PAYMENT, headers=alice).json

    assert unpaid["refundable_amount"] == "0.00"
    assert unpaid["refunded_amount"] == "0.00"
    assert unpaid["refund_status"] is None


# The provider down, and retrying ---------------------------------------------------------------


def test_a_refund_the_provider_could_not_take_is_created_not_sent_and_can_be_retried(
    app, client, alice, monkeypatch
):
    payment = _paid_payment(app, client, alice)
    sandbox = app.extensions["payment_provider"]

    def down(_request):
        raise ProviderUnavailable("timeout")

    with monkeypatch.context() as patched:
        patched.setattr(sandbox, "create_refund", down)
        created = client.post(_refunds_url(payment), json={"amount": "5.00"}, headers=alice)
    retried = client.post(f"{created.headers['Location']}/retry", headers=alice)
    again = client.post(f"{created.headers['Location']}/retry", headers=alice)

    assert created.status_code == 201
    assert created.json["status"] == "creation_failed"
    assert "did not answer" in created.json["failure_reason"]
    assert retried.status_code == 200
    assert retried.json["id"] == created.json["id"]
    assert retried.json["status"] == "pending"
    assert retried.json["failure_reason"] is None
    assert "does not need a retry" in assert_problem(again, 409, "conflict")["detail"]
    assert [r.refund_id for r in _sandbox_refunds(app, payment)] == [created.json["id"]]
