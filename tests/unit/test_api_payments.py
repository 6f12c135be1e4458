"""The payments endpoints of the JSON API: a shop's script creates, finds and cancels links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dashboard.core.ids import new_id
from dashboard.services.payments import NewPaymentLink
from tests.conftest import actor_for
from tests.unit.api_support import (
    ALICE,
    BOB,
    NEW_PAYMENT,
    api_key_for,
    assert_problem,
    bearer,
    every_page,
)


@pytest.fixture
def alice(app):
    """Alice's API key headers."""
    return bearer(api_key_for(app, ALICE))


def _create_through_service(app, sub: str, count: int, currency: str = "GBP") -> list[str]:
    service = app.extensions["payment_service"]
    ids = []
    with app.test_request_context():
        for n in range(count):
            link = NewPaymentLink(new_id(), 100 + n, currency, f"Batch {n}")
            ids.append(service.create_payment_link(actor_for(sub), link).payment_id)
    return ids


def test_a_script_creates_a_payment_link_and_gets_it_back(client, alice):
    response = client.post(
        "/api/v1/payments",
        json={**NEW_PAYMENT, "payer_name": " Ada Lovelace ", "payer_email": "Ada@Example.com"},
        headers=alice,
    )

    assert response.status_code == 201
    payment = response.json
    assert response.headers["Location"] == f"/api/v1/payments/{payment['id']}"
    assert payment["status"] == "awaiting_payment"
    assert payment["status_label"] == "Awaiting payment"
    assert payment["amount"] == "12.50"
    assert payment["amount_minor"] == 1250
    assert payment["currency"] == "GBP"
    assert payment["reference"] == "Invoice 42"
    assert payment["payer_name"] == "Ada Lovelace"
    assert payment["payer_email"] == "ada@example.com"
    assert payment["link_url"].startswith("http://localhost/sandbox/links/")
    assert payment["attempts"] == []
    assert payment["order_id"] is None
    assert payment["failure_reason"] is None
    created = datetime.fromisoformat(payment["created_at"])
    assert datetime.fromisoformat(payment["expires_at"]) - created == timedelta(hours=24)

    fetched = client.get(response.headers["Location"], headers=alice)
    assert fetched.status_code == 200
    assert fetched.json == payment


def test_an_expiry_up_to_thirty_days_ahead_is_kept(client, alice):
    expires = (datetime.now(UTC) + timedelta(days=29)).replace(microsecond=0)

    response = client.post(
        "/api/v1/payments",
        json={**NEW_PAYMENT, "expires_at": expires.isoformat().replace("+00:00", "Z")},
        headers=alice,
    )

    assert response.status_code == 201
    assert datetime.fromisoformat(response.json["expires_at"]) == expires


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"currency": "GBP", "reference": "R"}, "amount", "Enter the amount to collect."),
        ({**NEW_PAYMENT, "amount": 12.5}, "amount", 'Send a string, such as "12.50".'),
        ({**NEW_PAYMENT, "amount": "12.505"}, "amount", "at most 2 digits"),
        ({**NEW_PAYMENT, "amount": "0"}, "amount", "more than zero"),
        ({**NEW_PAYMENT, "amount": "2000000"}, "amount", "at most"),
        ({**NEW_PAYMENT, "currency": "USD"}, "currency", "Choose GBP or EUR."),
        ({**NEW_PAYMENT, "reference": "   "}, "reference", "Enter a reference"),
        ({**NEW_PAYMENT, "reference": "x" * 19}, "reference", "at most 18"),
        ({**NEW_PAYMENT, "reference": "Invoice #42"}, "reference", "letters, digits"),
        ({**NEW_PAYMENT, "payer_email": "not-an-email"}, "payer_email", "email address"),
        ({**NEW_PAYMENT, "payer_name": "n" * 61}, "payer_name", "at most 60"),
        ({**NEW_PAYMENT, "payer_name": "Ann\nSmith"}, "payer_name", "no line breaks"),
        ({**NEW_PAYMENT, "payer_name": "Ann\tSmith"}, "payer_name", "no line breaks"),
        ({**NEW_PAYMENT, "payer_name": "Ann\u2028;=1+1"}, "payer_name", "no line breaks"),
        ({**NEW_PAYMENT, "expires_at": "tomorrow"}, "expires_at", "Send a time"),
        ({**NEW_PAYMENT, "expires_at": "2030-01-01T12:00:00"}, "expires_at", "time zone"),
        ({**NEW_PAYMENT, "expires_at": "2020-01-01T12:00:00Z"}, "expires_at", "future"),
        ({**NEW_PAYMENT, "payer_emial": "a@b.co"}, "payer_emial", "Unknown field."),
    ],
)
def test_invalid_input_is_refused_with_the_forms_rules(client, alice, body, field, message):
    response = client.post("/api/v1/payments", json=body, headers=alice)

    problem = assert_problem(response, 422, "validation-error")
    assert message in problem["errors"][field]
    assert client.get("/api/v1/payments", headers=alice).json["data"] == []


def test_an_expiry_more_than_thirty_days_ahead_is_refused(client, alice):
    expires = datetime.now(UTC) + timedelta(days=31)

    response = client.post(
        "/api/v1/payments", json={**NEW_PAYMENT, "expires_at": expires.isoformat()}, headers=alice
    )

    problem = assert_problem(response, 422, "validation-error")
    assert problem["errors"] == {"expires_at": "A link can stay open for at most 30 days."}


def test_every_problem_of_a_body_is_reported_at_once(client, alice):
    response = client.post("/api/v1/payments", json={"reference": "Invoice #1"}, headers=alice)

    problem = assert_problem(response, 422, "validation-error")
    assert set(problem["errors"]) == {"amount", "currency", "reference"}


def test_a_body_that_is_not_json_is_a_400_and_no_json_at_all_a_415(client, alice):
    malformed = client.post(
        "/api/v1/payments", data="{not json", content_type="application/json", headers=alice
    )
    form = client.post("/api/v1/payments", data={"amount": "1"}, headers=alice)
    array = client.post("/api/v1/payments", json=[NEW_PAYMENT], headers=alice)

    assert_problem(malformed, 400)
    assert_problem(form, 415)
    assert assert_problem(array, 422, "validation-error")["errors"] == {
        "body": "Send a JSON object."
    }


@pytest.mark.parametrize("idempotency_key", [None, "deep-1"])
def test_a_body_nested_too_deep_to_parse_is_a_400(client, alice, idempotency_key):
    headers = {**alice, "Content-Type": "application/json"}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key  # its fingerprint reads the body too

    response = client.post("/api/v1/payments", data="[" * 200_000, headers=headers)

    assert assert_problem(response, 400)["detail"] == "The request body is not valid JSON."


@pytest.mark.parametrize(
    "field", ["amount", "currency", "reference", "payer_name", "payer_email", "expires_at"]
)
def test_a_lone_surrogate_in_a_text_field_is_refused_by_name(client, alice, field):
    body = {**NEW_PAYMENT, field: "A\ud800"}  # json.dumps writes it as the escape "\ud800"

    response = client.post("/api/v1/payments", json=body, headers=alice)

    problem = assert_problem(response, 422, "validation-error")
    assert problem["errors"] == {field: "Send valid Unicode text."}
    assert client.get("/api/v1/payments", headers=alice).json["data"] == []


def test_a_body_over_one_megabyte_is_a_413(client, alice):
    response = client.post(
        "/api/v1/payments",
        data='{"reference": "' + "x" * (1024 * 1024) + '"}',
        content_type="application/json",
        headers=alice,
    )

    assert_problem(response, 413)


def test_the_list_pages_to_the_end_with_next_cursor(app, client, alice):
    created = _create_through_service(app, ALICE, 27)
    _create_through_service(app, BOB, 2)

    pages = every_page(client, "/api/v1/payments", alice)
    seen = [p["id"] for page in pages for p in page]

    assert len(pages) == 2
    assert len(seen) == 27
    assert seen == list(reversed(created))  # newest first, each once, none of Bob's


def test_the_list_takes_the_pages_filters_and_a_page_size(app, client, alice):
    _create_through_service(app, ALICE, 3, "GBP")
    _create_through_service(app, ALICE, 2, "EUR")

    euros = client.get("/api/v1/payments?currency=EUR&status=pending", headers=alice).json
    small = client.get("/api/v1/payments?limit=2", headers=alice).json
    searched = client.get("/api/v1/payments?q=1.01", headers=alice).json

    assert [p["currency"] for p in euros["data"]] == ["EUR", "EUR"]
    assert euros["next_cursor"] is None
    assert len(small["data"]) == 2
    assert small["next_cursor"]
    assert {p["amount"] for p in searched["data"]} == {"1.01"}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=lost", "status"),
        ("currency=USD", "currency"),
        ("range=custom&from=2026-11-20&to=2026-11-01", "to"),
        ("min=abc", "min"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=²", "limit"),  # "²".isdigit() is True, yet it is no number
        ("cursor=forged", "cursor"),
    ],
)
def test_bad_list_parameters_are_a_400_naming_the_parameter(client, alice, query, field):
    response = client.get(f"/api/v1/payments?{query}", headers=alice)

    assert field in assert_problem(response, 400, "validation-error")["errors"]


def test_a_cursor_of_another_merchant_is_refused(app, client, alice):
    _create_through_service(app, BOB, 3)
    bobs = bearer(api_key_for(app, BOB))
    cursor = client.get("/api/v1/payments?limit=1", headers=bobs).json["next_cursor"]

    response = client.get("/api/v1/payments", query_string={"cursor": cursor}, headers=alice)

    assert "cursor" in assert_problem(response, 400, "validation-error")["errors"]


def test_an_unknown_payment_is_a_404(client, alice):
    for payment_id in (new_id(), "not-an-id"):
        response = client.get(f"/api/v1/payments/{payment_id}", headers=alice)
        assert_problem(response, 404, "not-found")


def test_another_merchants_payment_is_a_404_to_read_and_to_cancel(app, client, alice):
    [bobs_payment] = _create_through_service(app, BOB, 1)

    read = client.get(f"/api/v1/payments/{bobs_payment}", headers=alice)
    cancel = client.post(f"/api/v1/payments/{bobs_payment}/cancel", headers=alice)

    assert_problem(read, 404, "not-found")
    assert_problem(cancel, 404, "not-found")
    bob = bearer(api_key_for(app, BOB))
    assert client.get(f"/api/v1/payments/{bobs_payment}", headers=bob).json["status"] == (
        "awaiting_payment"
    )


def test_cancelling_an_unpaid_link_ends_it_and_a_second_cancel_is_a_409(client, alice):
    payment = client.post("/api/v1/payments", json=NEW_PAYMENT, headers=alice).json

    cancelled = client.post(f"/api/v1/payments/{payment['id']}/cancel", headers=alice)
    again = client.post(f"/api/v1/payments/{payment['id']}/cancel", headers=alice)

    assert cancelled.status_code == 200
    assert cancelled.json["status"] == "cancelled"
    assert cancelled.json["status_label"] == "Cancelled"
    problem = assert_problem(again, 409, "conflict")
    assert "cancelled cannot be cancelled" in problem["detail"]


def test_cancelling_while_the_payer_is_paying_is_a_409_and_the_payment_stays_processing(
    app, client, alice
):
    payment = client.post("/api/v1/payments", json=NEW_PAYMENT, headers=alice).json
    link_id = payment["link_url"].rsplit("/", 1)[1]
    with app.app_context():
        app.extensions["payment_provider"].start_attempt(link_id)  # the payer is at their bank

    refused = client.post(f"/api/v1/payments/{payment['id']}/cancel", headers=alice)

    problem = assert_problem(refused, 409, "conflict")
    assert "The payer is paying right now" in problem["detail"]
    shown = client.get(f"/api/v1/payments/{payment['id']}", headers=alice).json
    assert shown["status"] == "processing"


def test_the_provider_being_down_is_a_503_problem(app, client, alice, monkeypatch):
    from dashboard.providers.base import ProviderUnavailable

    payment = client.post("/api/v1/payments", json=NEW_PAYMENT, headers=alice).json

    def down(_link_id):
        raise ProviderUnavailable("timeout")

    monkeypatch.setattr(app.extensions["payment_provider"], "disable_link", down)
    response = client.post(f"/api/v1/payments/{payment['id']}/cancel", headers=alice)

    assert_problem(response, 503, "unavailable")
    assert response.headers["Retry-After"]
