"""The orders endpoints of the JSON API: a shop's script records orders and gets them paid."""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask import Flask
from jsonschema import Draft202012Validator

from dashboard.core.ids import new_id
from dashboard.domain.orders import OrderFields
from dashboard.store.dynamo import StoreUnavailable
from tests.conftest import actor_for
from tests.unit.api_support import (
    ALICE,
    BOB,
    api_key_for,
    assert_problem,
    bearer,
    every_page,
    fail_storing_the_first_link,
)

NEW_ORDER = {
    "customer_name": "Ada Lovelace",
    "customer_email": "ada@example.com",
    "product_name": "Analytical engine manual",
    "quantity": 3,
    "unit_price": "12.50",
    "currency": "GBP",
}


@pytest.fixture
def alice(app):
    """Alice's API key headers."""
    return bearer(api_key_for(app, ALICE))


def _create(client, headers, **changes) -> dict:
    """Create an order through the API; return its JSON."""
    response = client.post("/api/v1/orders", json={**NEW_ORDER, **changes}, headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json


def _place(app: Flask, sub: str, count: int, **changes) -> list[str]:
    """Create orders straight through the order service; return their ids, oldest first."""
    service = app.extensions["order_service"]
    values = {**NEW_ORDER, "unit_price": Decimal("5.00"), "quantity": 1, **changes}
    fields = OrderFields(**values)
    return [service.create_order(actor_for(sub), new_id(), fields).order_id for _ in range(count)]


def _payment_link(client, headers, order_id: str, **extra):
    return client.post(f"/api/v1/orders/{order_id}/payment-link", headers={**headers, **extra})


def _pay(app: Flask, link_url: str) -> None:
    """The payer pays the sandbox link; its events reach the app as the webhook would bring."""
    link_id = link_url.rsplit("/", 1)[1]
    with app.app_context():
        for event in app.extensions["payment_provider"].pay(link_id):
            app.extensions["payment_service"].apply_provider_event(event)


def _paid_order(app, client, headers) -> dict:
    order = _create(client, headers)
    _pay(app, _payment_link(client, headers, order["id"]).json["link_url"])
    return order


def _list(client, headers, **query) -> list[dict]:
    response = client.get("/api/v1/orders", query_string=query, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json["data"]


def _schema(client, name: str) -> Draft202012Validator:
    spec = client.get("/api/v1/openapi.json").json
    schema = {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


# Creating ----------------------------------------------------------------------------------


def test_a_shop_creates_an_order_and_reads_it_back(client, alice):
    response = client.post(
        "/api/v1/orders",
        json={
            **NEW_ORDER,
            "customer_name": " Ada Lovelace ",
            "customer_email": "Ada@Example.com",
            "shipping_address": "12 St James's Square, London",
        },
        headers=alice,
    )

    assert response.status_code == 201
    order = response.json
    assert response.headers["Location"] == f"/api/v1/orders/{order['id']}"
    assert order["number"] == "ORD-1001"
    assert order["status"] == "pending"
    assert order["status_label"] == "Pending"
    assert order["customer_name"] == "Ada Lovelace"
    assert order["customer_email"] == "ada@example.com"
    assert order["product_name"] == "Analytical engine manual"
    assert order["quantity"] == 3
    assert (order["unit_price"], order["unit_price_minor"]) == ("12.50", 1250)
    assert (order["total"], order["total_minor"]) == ("37.50", 3750)
    assert order["currency"] == "GBP"
    assert order["shipping_address"] == "12 St James's Square, London"
    assert order["payment_id"] is None
    _schema(client, "Order").validate(order)

    fetched = client.get(response.headers["Location"], headers=alice)
    assert fetched.status_code == 200
    nothing_refunded = {"refunded_amount": "0.00", "refunded_amount_minor": 0}
    assert fetched.json == {**order, "payment": None, **nothing_refunded}
    _schema(client, "OrderDetail").validate(fetched.json)


def test_each_order_takes_the_merchants_next_number(client, alice):
    numbers = [_create(client, alice)["number"] for _ in range(3)]

    assert numbers == ["ORD-1001", "ORD-1002", "ORD-1003"]


@pytest.mark.parametrize(
    "field", ["total", "total_minor", "status", "number", "order_number", "payment_id", "id"]
)
def test_a_total_status_or_number_in_the_body_is_refused_never_trusted(client, alice, field):
    response = client.post("/api/v1/orders", json={**NEW_ORDER, field: "0.01"}, headers=alice)

    problem = assert_problem(response, 422, "validation-error")
    assert set(problem["errors"]) == {field}
    assert _list(client, alice) == []


def test_the_total_is_always_quantity_times_unit_price(client, alice):
    order = _create(client, alice, quantity=7, unit_price="1,250.99", currency="EUR")

    assert (order["total"], order["total_minor"]) == ("8756.93", 875693)
    assert order["unit_price"] == "1250.99"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"customer_name": "   "}, "customer_name", "This field is required."),
        ({"customer_email": None}, "customer_email", "This field is required."),
        ({"customer_email": "not-an-email"}, "customer_email", "email address"),
        ({"product_name": "p" * 141}, "product_name", "at most 140"),
        ({"customer_name": "Ada\nLovelace"}, "customer_name", "no line breaks"),
        ({"customer_name": "Ada\r=1+1"}, "customer_name", "no line breaks"),
        ({"product_name": "Manual\tvol. 2"}, "product_name", "no line breaks"),
        ({"quantity": 0}, "quantity", "whole number from 1 to 100,000"),
        ({"quantity": "3"}, "quantity", "Send a whole number"),
        ({"quantity": 2.5}, "quantity", "Send a whole number"),
        ({"quantity": True}, "quantity", "Send a whole number"),
        ({"unit_price": 12.5}, "unit_price", 'Send a string, such as "12.50".'),
        ({"unit_price": "12.505"}, "unit_price", "at most 2 digits"),
        ({"unit_price": "0"}, "unit_price", "more than zero"),
        ({"unit_price": "abc"}, "unit_price", "Enter an amount"),
        ({"currency": "USD"}, "currency", "Choose one of GBP, EUR."),
        ({"shipping_address": "a" * 501}, "shipping_address", "at most 500"),
        ({"quantity": 100_000, "unit_price": "20.00"}, "quantity", "total can be at most"),
        ({"customer_nmae": "Ada"}, "customer_nmae", "Unknown field."),
    ],
)
def test_invalid_input_is_refused_with_the_forms_rules(client, alice, changes, field, message):
    response = client.post("/api/v1/orders", json={**NEW_ORDER, **changes}, headers=alice)

    problem = assert_problem(response, 422, "validation-error")
    assert message in problem["errors"][field]
    assert _list(client, alice) == []


def test_every_problem_of_a_body_is_reported_at_once(client, alice):
    response = client.post("/api/v1/orders", json={"quantity": -1, "total": "1"}, headers=alice)

    problem = assert_problem(response, 422, "validation-error")
    assert set(problem["errors"]) == {
        "customer_name",
        "customer_email",
        "product_name",
        "quantity",
        "unit_price",
        "currency",
        "total",
    }


def test_a_body_that_is_not_an_object_or_not_json_is_refused(client, alice):
    array = client.post("/api/v1/orders", json=[NEW_ORDER], headers=alice)
    malformed = client.post(
        "/api/v1/orders", data="{not json", content_type="application/json", headers=alice
    )
    form = client.post("/api/v1/orders", data={"quantity": "1"}, headers=alice)

    assert assert_problem(array, 422, "validation-error")["errors"] == {
        "body": "Send a JSON object."
    }
    assert_problem(malformed, 400)
    assert_problem(form, 415)


# Listing -----------------------------------------------------------------------------------


def test_the_list_pages_to_the_end_with_next_cursor(app, client, alice):
    created = _place(app, ALICE, 27)
    _place(app, BOB, 2)

    pages = every_page(client, "/api/v1/orders", alice)
    seen = [o["id"] for page in pages for o in page]

    assert len(pages) == 2
    assert len(seen) == 27
    assert seen == list(reversed(created))  # newest first, each once, none of Bob's


def test_a_page_size_and_a_search_page_to_the_end_too(app, client, alice):
    _place(app, ALICE, 5, product_name="Blue teapot")
    _place(app, ALICE, 3, product_name="Red kettle")

    pages = every_page(client, "/api/v1/orders", alice, q="teap", limit=2)

    assert all(len(page) <= 2 for page in pages)
    assert [o["product_name"] for page in pages for o in page] == ["Blue teapot"] * 5


def test_the_list_filters_by_status_and_searches_like_the_orders_page(app, client, alice):
    grace = _create(client, alice, customer_name="Grace Hopper", product_name="Compiler")
    requested = _create(client, alice, customer_name="Grace Hopper", product_name="Nanosecond")
    _create(client, alice)  # Ada's, pending
    _payment_link(client, alice, requested["id"])

    pending = _list(client, alice, status="pending")
    asked = _list(client, alice, status="payment_requested")
    graces = _list(client, alice, q="grace")
    graces_pending = _list(client, alice, q="hop", status="pending")
    by_number = _list(client, alice, q=requested["number"])
    by_bare_number = _list(client, alice, q=requested["number"].removeprefix("ORD-"))

    assert [o["customer_name"] for o in pending] == ["Ada Lovelace", "Grace Hopper"]
    assert [o["id"] for o in asked] == [requested["id"]]
    assert asked[0]["status"] == "payment_requested"
    assert [o["id"] for o in graces] == [requested["id"], grace["id"]]
    assert [o["id"] for o in graces_pending] == [grace["id"]]
    assert [o["id"] for o in by_number] == [o["id"] for o in by_bare_number] == [requested["id"]]
    assert _list(client, alice, q="nobody") == []
    _schema(client, "OrderList").validate(client.get("/api/v1/orders", headers=alice).json)


@pytest.mark.parametrize(
    "field",
    ["customer_name", "customer_email", "product_name", "currency", "shipping_address"],
)
def test_a_lone_surrogate_in_a_text_field_is_refused_by_name(client, alice, field):
    response = client.post("/api/v1/orders", json={**NEW_ORDER, field: "A\ud800"}, headers=alice)

    assert assert_problem(response, 422, "validation-error")["errors"][field] == (
        "Send valid Unicode text."
    )
    assert _list(client, alice) == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=lost", "status"),
        ("status=Pending", "status"),
        ("q=" + "x" * 201, "q"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("limit=²", "limit"),  # "²".isdigit() is True, yet it is no number
        ("cursor=forged", "cursor"),
    ],
)
def test_bad_list_parameters_are_a_400_naming_the_parameter(client, alice, query, field):
    response = client.get(f"/api/v1/orders?{query}", headers=alice)

    assert field in assert_problem(response, 400, "validation-error")["errors"]


def test_a_cursor_of_another_list_or_merchant_is_refused(app, client, alice):
    _place(app, ALICE, 3)
    _place(app, BOB, 3)
    alices_cursor = client.get("/api/v1/orders?limit=1", headers=alice).json["next_cursor"]
    bobs_cursor = client.get("/api/v1/orders?limit=1", headers=bearer(api_key_for(app, BOB))).json[
        "next_cursor"
    ]

    other_filter = client.get(
        "/api/v1/orders", query_string={"cursor": alices_cursor, "status": "paid"}, headers=alice
    )
    bobs = client.get("/api/v1/orders", query_string={"cursor": bobs_cursor}, headers=alice)

    assert "cursor" in assert_problem(other_filter, 400, "validation-error")["errors"]
    assert "cursor" in assert_problem(bobs, 400, "validation-error")["errors"]


# Who may call ------------------------------------------------------------------------------

ORDER_ID = "0190a3c2-0000-7000-8000-000000000000"
ENDPOINTS = [
    ("POST", "/api/v1/orders"),
    ("GET", "/api/v1/orders"),
    ("GET", f"/api/v1/orders/{ORDER_ID}"),
    ("PATCH", f"/api/v1/orders/{ORDER_ID}"),
    ("DELETE", f"/api/v1/orders/{ORDER_ID}"),
    ("POST", f"/api/v1/orders/{ORDER_ID}/payment-link"),
]


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_without_credentials_every_orders_endpoint_is_a_401(client, method, url):
    response = client.open(url, method=method, json=NEW_ORDER)

    assert_problem(response, 401, "unauthenticated")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_a_malformed_authorization_header_is_a_401(client, method, url):
    headers = {"Authorization": "Bearer not-a-key"}

    response = client.open(url, method=method, json=NEW_ORDER, headers=headers)

    assert_problem(response, 401, "unauthenticated")


def test_a_revoked_key_can_no_longer_create_or_read_orders(app, client):
    service = app.extensions["api_keys"]
    key, presented = service.create_key(actor_for(ALICE), "Old shop")
    order = _create(client, bearer(presented))

    service.revoke_key(actor_for(ALICE), key.key_id)
    read = client.get(f"/api/v1/orders/{order['id']}", headers=bearer(presented))
    create = client.post("/api/v1/orders", json=NEW_ORDER, headers=bearer(presented))

    assert_problem(read, 401, "unauthenticated")
    assert_problem(create, 401, "unauthenticated")


def test_another_merchants_order_is_a_404_to_read_change_delete_or_bill(app, client, alice):
    bob = bearer(api_key_for(app, BOB))
    bobs = _create(client, bob)
    url = f"/api/v1/orders/{bobs['id']}"

    answers = [
        client.get(url, headers=alice),
        client.patch(url, json={"quantity": 9}, headers=alice),
        client.delete(url, headers=alice),
        _payment_link(client, alice, bobs["id"]),
    ]

    for response in answers:
        problem = assert_problem(response, 404, "not-found")
        assert problem["title"] == "Order not found"
    untouched = client.get(url, headers=bob).json
    assert (untouched["quantity"], untouched["status"], untouched["payment"]) == (
        3,
        "pending",
        None,
    )
    assert _list(client, alice) == []


def test_an_unknown_order_is_a_404(client, alice):
    for order_id in (new_id(), "not-an-id"):
        assert_problem(client.get(f"/api/v1/orders/{order_id}", headers=alice), 404, "not-found")


# Changing ----------------------------------------------------------------------------------


def test_patch_changes_only_the_fields_sent_and_recomputes_the_total(client, alice):
    order = _create(client, alice, shipping_address="Old Street 1")

    response = client.patch(
        f"/api/v1/orders/{order['id']}",
        json={"customer_email": "Countess@Example.com", "quantity": 4},
        headers=alice,
    )

    assert response.status_code == 200
    changed = response.json
    assert changed["customer_email"] == "countess@example.com"
    assert (changed["quantity"], changed["total"], changed["total_minor"]) == (4, "50.00", 5000)
    assert changed["customer_name"] == "Ada Lovelace"
    assert changed["shipping_address"] == "Old Street 1"
    assert changed["number"] == order["number"]
    _schema(client, "Order").validate(changed)


def test_patch_with_a_null_shipping_address_clears_it(client, alice):
    order = _create(client, alice, shipping_address="Old Street 1")

    response = client.patch(
        f"/api/v1/orders/{order['id']}", json={"shipping_address": None}, headers=alice
    )

    assert response.json["shipping_address"] is None
    assert (
        client.get(f"/api/v1/orders/{order['id']}", headers=alice).json["shipping_address"] is None
    )


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"product_name": "Other"}, "product_name", "Fixed once the order exists"),
        ({"unit_price": "1.00"}, "unit_price", "Fixed once the order exists"),
        ({"currency": "EUR"}, "currency", "Fixed once the order exists"),
        ({"total": "1.00"}, "total", "always computed"),
        ({"status": "paid"}, "status", "Set by the server"),
        ({"customer_name": " "}, "customer_name", "cannot be empty"),
        ({"customer_name": None}, "customer_name", "cannot be empty"),
        ({"customer_name": "Ada\nLovelace"}, "customer_name", "no line breaks"),
        ({"customer_email": "nope"}, "customer_email", "email address"),
        ({"quantity": None}, "quantity", "whole number from 1"),
        ({"quantity": 0}, "quantity", "whole number from 1"),
        ({"quantity": 100_000}, "quantity", "total can be at most"),
        ({"shipping_address": 12}, "shipping_address", "Send a string."),
        ({"colour": "red"}, "colour", "Unknown field."),
    ],
)
def test_patch_refuses_invalid_or_fixed_fields(client, alice, changes, field, message):
    order = _create(client, alice)

    response = client.patch(f"/api/v1/orders/{order['id']}", json=changes, headers=alice)

    problem = assert_problem(response, 422, "validation-error")
    assert message in problem["errors"][field]
    assert client.get(f"/api/v1/orders/{order['id']}", headers=alice).json["quantity"] == 3


def test_patch_needs_a_json_object(client, alice):
    order = _create(client, alice)
    url = f"/api/v1/orders/{order['id']}"

    assert_problem(client.patch(url, data="quantity=4", headers=alice), 415)
    assert_problem(client.patch(url, json=[1], headers=alice), 422, "validation-error")


def test_the_quantity_is_locked_while_a_payment_link_is_live(client, alice):
    order = _create(client, alice)
    _payment_link(client, alice, order["id"])
    url = f"/api/v1/orders/{order['id']}"

    refused = client.patch(url, json={"quantity": 4}, headers=alice)
    same = client.patch(url, json={"quantity": 3, "customer_name": "Ada King"}, headers=alice)

    problem = assert_problem(refused, 409, "conflict")
    assert "quantity cannot change while the payment link" in problem["detail"]
    assert same.status_code == 200
    assert (same.json["quantity"], same.json["customer_name"]) == (3, "Ada King")


def test_a_paid_or_cancelled_order_cannot_be_changed(app, client, alice):
    paid = _paid_order(app, client, alice)
    cancelled = _create(client, alice)
    app.extensions["order_service"].cancel_order(actor_for(ALICE), cancelled["id"])

    for order, status in ((paid, "paid"), (cancelled, "cancelled")):
        response = client.patch(
            f"/api/v1/orders/{order['id']}", json={"customer_name": "Someone"}, headers=alice
        )
        assert (
            f"A {status} order cannot be changed."
            == assert_problem(response, 409, "conflict")["detail"]
        )


# Deleting ----------------------------------------------------------------------------------


def test_deleting_an_unpaid_order_removes_it(client, alice):
    kept, gone = _create(client, alice), _create(client, alice)

    response = client.delete(f"/api/v1/orders/{gone['id']}", headers=alice)

    assert response.status_code == 204
    assert response.get_data() == b""
    assert_problem(client.get(f"/api/v1/orders/{gone['id']}", headers=alice), 404, "not-found")
    assert [o["id"] for o in _list(client, alice)] == [kept["id"]]
    assert_problem(client.delete(f"/api/v1/orders/{gone['id']}", headers=alice), 404, "not-found")


def test_a_paid_order_is_never_deleted(app, client, alice):
    order = _paid_order(app, client, alice)

    response = client.delete(f"/api/v1/orders/{order['id']}", headers=alice)

    problem = assert_problem(response, 409, "conflict")
    assert problem["detail"] == "A paid order is a record of a payment and cannot be deleted."
    assert client.get(f"/api/v1/orders/{order['id']}", headers=alice).json["status"] == "paid"


def test_an_order_with_a_live_link_is_not_deleted_until_the_link_ends(client, alice):
    order = _create(client, alice)
    payment = _payment_link(client, alice, order["id"]).json
    url = f"/api/v1/orders/{order['id']}"

    refused = client.delete(url, headers=alice)
    client.post(f"/api/v1/payments/{payment['id']}/cancel", headers=alice)
    after_cancel = client.delete(url, headers=alice)

    assert "live payment link" in assert_problem(refused, 409, "conflict")["detail"]
    assert after_cancel.status_code == 204


# Getting paid ------------------------------------------------------------------------------


def test_requesting_payment_creates_a_link_for_the_total_then_returns_the_live_one(client, alice):
    order = _create(client, alice)

    first = _payment_link(client, alice, order["id"])
    again = _payment_link(client, alice, order["id"])

    assert first.status_code == 201
    payment = first.json
    assert first.headers["Location"] == f"/api/v1/payments/{payment['id']}"
    assert (payment["amount"], payment["amount_minor"]) == ("37.50", 3750)
    assert payment["reference"] == order["number"]
    assert (payment["payer_name"], payment["payer_email"]) == ("Ada Lovelace", "ada@example.com")
    assert payment["order_id"] == order["id"]
    assert payment["status"] == "awaiting_payment"
    assert payment["link_url"]
    assert again.status_code == 200
    assert again.json["id"] == payment["id"]
    _schema(client, "Payment").validate(payment)

    detail = client.get(f"/api/v1/orders/{order['id']}", headers=alice).json
    assert (detail["status"], detail["payment_id"]) == ("payment_requested", payment["id"])
    assert detail["payment"] == client.get(first.headers["Location"], headers=alice).json
    _schema(client, "OrderDetail").validate(detail)


def test_paying_the_link_marks_the_order_paid(app, client, alice):
    order = _paid_order(app, client, alice)

    detail = client.get(f"/api/v1/orders/{order['id']}", headers=alice).json

    assert (detail["status"], detail["status_label"]) == ("paid", "Paid")
    assert detail["payment"]["status"] == "completed"
    assert [o["status"] for o in _list(client, alice, status="paid")] == ["paid"]


def test_a_failed_order_gets_a_new_link(client, alice):
    order = _create(client, alice)
    old = _payment_link(client, alice, order["id"]).json
    client.post(f"/api/v1/payments/{old['id']}/cancel", headers=alice)
    assert client.get(f"/api/v1/orders/{order['id']}", headers=alice).json["status"] == "failed"

    response = _payment_link(client, alice, order["id"])

    assert response.status_code == 201
    assert response.json["id"] != old["id"]
    assert response.json["status"] == "awaiting_payment"


def test_a_paid_or_cancelled_order_gets_no_payment_link(app, client, alice):
    paid = _paid_order(app, client, alice)
    cancelled = _create(client, alice)
    app.extensions["order_service"].cancel_order(actor_for(ALICE), cancelled["id"])

    for order, status in ((paid, "paid"), (cancelled, "cancelled")):
        problem = assert_problem(_payment_link(client, alice, order["id"]), 409, "conflict")
        assert problem["detail"] == f"Payment cannot be requested for a {status} order."


# Retrying safely ---------------------------------------------------------------------------


def test_a_retried_create_with_the_same_key_makes_one_order(client, alice):
    key = {"Idempotency-Key": "shop-order-77"}

    first = client.post("/api/v1/orders", json=NEW_ORDER, headers={**alice, **key})
    retry = client.post("/api/v1/orders", json=NEW_ORDER, headers={**alice, **key})

    assert first.status_code == retry.status_code == 201
    assert retry.json == first.json
    assert retry.headers["Location"] == first.headers["Location"]
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert len(_list(client, alice)) == 1


def test_the_same_create_key_with_another_body_is_a_422(client, alice):
    key = {"Idempotency-Key": "shop-order-77"}
    client.post("/api/v1/orders", json=NEW_ORDER, headers={**alice, **key})

    response = client.post(
        "/api/v1/orders", json={**NEW_ORDER, "quantity": 30}, headers={**alice, **key}
    )

    assert_problem(response, 422, "idempotency-key-reused")
    assert [o["quantity"] for o in _list(client, alice)] == [3]


def test_a_create_retried_after_a_timeout_returns_the_order_the_first_run_wrote(
    app, client, alice, monkeypatch
):
    # DynamoDB wrote the order but the answer timed out: the client saw a 503 and retries.
    orders = app.extensions["store"].orders
    real_add = orders.add

    def add_then_time_out(order, *args, **kwargs):
        real_add(order, *args, **kwargs)
        raise StoreUnavailable("RequestTimeout")

    monkeypatch.setattr(orders, "add", add_then_time_out)
    key = {"Idempotency-Key": "shop-order-78"}
    failed = client.post("/api/v1/orders", json=NEW_ORDER, headers={**alice, **key})
    monkeypatch.setattr(orders, "add", real_add)
    retry = client.post("/api/v1/orders", json=NEW_ORDER, headers={**alice, **key})
    other_body = client.post(
        "/api/v1/orders", json={**NEW_ORDER, "quantity": 30}, headers={**alice, **key}
    )

    assert_problem(failed, 503, "unavailable")
    assert retry.status_code == 201
    assert [o["id"] for o in _list(client, alice)] == [retry.json["id"]]
    assert retry.json["quantity"] == 3
    assert_problem(other_body, 422, "idempotency-key-reused")


def test_a_retried_payment_request_replays_the_first_answer(client, alice):
    order = _create(client, alice)
    key = {"Idempotency-Key": "bill-order-1"}

    first = _payment_link(client, alice, order["id"], **key)
    retry = _payment_link(client, alice, order["id"], **key)

    assert first.status_code == retry.status_code == 201
    assert retry.json == first.json
    assert retry.headers["Idempotent-Replayed"] == "true"
    payments = client.get("/api/v1/payments", headers=alice).json["data"]
    assert [p["id"] for p in payments] == [first.json["id"]]


def test_a_payment_request_key_reused_for_another_order_is_a_422(client, alice):
    one, other = _create(client, alice), _create(client, alice)
    key = {"Idempotency-Key": "bill-1"}
    _payment_link(client, alice, one["id"], **key)

    response = _payment_link(client, alice, other["id"], **key)

    assert_problem(response, 422, "idempotency-key-reused")
    assert client.get(f"/api/v1/orders/{other['id']}", headers=alice).json["payment"] is None
    assert len(client.get("/api/v1/payments", headers=alice).json["data"]) == 1


def test_the_list_shows_each_order_as_the_order_itself_does(app, client, alice, monkeypatch):
    from datetime import timedelta

    import dashboard.web.api.orders as api_orders

    order = client.post("/api/v1/orders", json=NEW_ORDER, headers=alice).json
    client.post(f"/api/v1/orders/{order['id']}/payment-link", headers=alice)
    real_now = api_orders.utc_now
    monkeypatch.setattr(api_orders, "utc_now", lambda: real_now() + timedelta(hours=25))

    detail = client.get(f"/api/v1/orders/{order['id']}", headers=alice).json
    listed = client.get("/api/v1/orders", headers=alice).json

    assert detail["status"] == listed["data"][0]["status"] == "failed"  # the link lapsed
    assert listed["search_truncated"] is False


def test_a_retried_payment_link_request_finishes_the_link_it_began(app, client, alice, monkeypatch):
    order = client.post("/api/v1/orders", json=NEW_ORDER, headers=alice).json
    fail_storing_the_first_link(app, monkeypatch)
    url = f"/api/v1/orders/{order['id']}/payment-link"
    headers = {**alice, "Idempotency-Key": "pl-1"}

    failed = client.post(url, headers=headers)
    retry = client.post(url, headers=headers)

    assert failed.status_code == 503
    assert retry.json["status"] == "awaiting_payment"
    assert retry.json["amount_minor"] == order["total_minor"]


def test_cancelling_an_order_cancels_its_live_link_and_can_be_repeated(client, alice):
    order = _create(client, alice)
    payment = _payment_link(client, alice, order["id"]).json
    url = f"/api/v1/orders/{order['id']}/cancel"

    cancelled = client.post(url, headers=alice)
    again = client.post(url, headers=alice)

    assert cancelled.status_code == again.status_code == 200
    assert cancelled.json["status"] == again.json["status"] == "cancelled"
    link = client.get(f"/api/v1/payments/{payment['id']}", headers=alice).json
    assert link["status"] == "cancelled"
    # Now it may be deleted, as the delete answer says.
    assert client.delete(f"/api/v1/orders/{order['id']}", headers=alice).status_code == 204


def test_a_paid_order_cannot_be_cancelled(app, client, alice):
    order = _paid_order(app, client, alice)

    response = client.post(f"/api/v1/orders/{order['id']}/cancel", headers=alice)

    assert_problem(response, 409, "conflict")
    assert client.get(f"/api/v1/orders/{order['id']}", headers=alice).json["status"] == "paid"


def test_another_merchant_cannot_cancel_an_order(app, client, alice):
    order = _create(client, alice)
    bob = bearer(api_key_for(app, BOB))

    response = client.post(f"/api/v1/orders/{order['id']}/cancel", headers=bob)

    assert_problem(response, 404, "not-found")
    assert client.get(f"/api/v1/orders/{order['id']}", headers=alice).json["status"] == "pending"
