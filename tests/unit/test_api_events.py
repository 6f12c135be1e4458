"""``GET /api/v1/events`` over the JSON API: paging, retention, shape, keys and accounts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dashboard.core.clock import utc_now
from dashboard.core.ids import new_id
from dashboard.domain.api_keys import KeyScope
from dashboard.domain.events import EventType
from dashboard.services.refunds import NewRefund
from dashboard.store.event_items import event_change_item
from dashboard.store.payments import payment_to_item
from tests.conftest import actor_for
from tests.unit.api_support import ALICE, BOB, NEW_PAYMENT, api_key_for, assert_problem, bearer


@pytest.fixture
def alice(app):
    """Alice's API key headers."""
    return bearer(api_key_for(app, ALICE))


def _pay(app, payment_id: str) -> None:
    payment = app.extensions["store"].payments.get(ALICE, payment_id)
    service = app.extensions["payment_service"]
    for event in app.extensions["payment_provider"].pay(payment.provider_link_id):
        service.apply_provider_event(event)


def _events(client, headers, **query) -> dict:
    response = client.get("/api/v1/events", query_string=query, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def test_a_paid_payment_shows_its_events_oldest_first_with_the_payment_as_it_was(
    app, client, alice
):
    created = client.post("/api/v1/payments", json=NEW_PAYMENT, headers=alice).json
    _pay(app, created["id"])

    page = _events(client, alice)

    assert [e["type"] for e in page["data"]] == ["payment.created", "payment.completed"]
    first, paid = page["data"]
    assert set(first) == {"id", "type", "created_at", "data"}
    assert first["data"]["id"] == created["id"]
    assert first["data"]["status"] == "awaiting_payment"  # as it was then, not as it is now
    assert paid["data"]["status"] == "completed"
    assert paid["data"] == client.get(f"/api/v1/payments/{created['id']}", headers=alice).json
    assert first["id"] < paid["id"]
    assert page["has_more"] is False


def test_a_refund_event_shows_the_refund(app, client, alice):
    created = client.post("/api/v1/payments", json=NEW_PAYMENT, headers=alice).json
    _pay(app, created["id"])
    refunds = app.extensions["refund_service"]
    payment = refunds.request_refund(actor_for(ALICE), created["id"], NewRefund(new_id(), 250))
    refund = payment.refunds[0]
    provider = app.extensions["payment_provider"]
    link_id, attempt_id = payment.provider_link_id, payment.succeeded_attempt.provider_payment_id
    provider.settle(link_id, attempt_id)
    for event in provider.execute_refund(link_id, attempt_id, refund.provider_refund_id):
        app.extensions["payment_service"].apply_provider_event(event)

    (shown,) = [e for e in _events(client, alice)["data"] if e["type"] == "refund.executed"]

    assert shown["data"]["id"] == refund.refund_id
    assert shown["data"]["status"] == "executed"
    assert shown["data"]["amount"] == "2.50"


def test_an_order_event_shows_the_order_as_it_is_now(app, client, alice):
    order = client.post(
        "/api/v1/orders",
        json={
            "customer_name": "Ada Lovelace",
            "customer_email": "ada@example.com",
            "product_name": "Manual",
            "quantity": 1,
            "unit_price": "5.00",
            "currency": "GBP",
        },
        headers=alice,
    ).json
    client.post(f"/api/v1/orders/{order['id']}/cancel", headers=alice)

    (cancelled,) = [e for e in _events(client, alice)["data"] if e["type"] == "order.cancelled"]

    assert cancelled["data"] == {
        k: v
        for k, v in client.get(f"/api/v1/orders/{order['id']}", headers=alice).json.items()
        if k in cancelled["data"]
    }
    assert cancelled["data"]["status"] == "cancelled"


def test_pages_follow_the_cursor_and_keep_it_at_the_end(app, client, alice):
    for _ in range(3):
        client.post("/api/v1/payments", json=NEW_PAYMENT, headers=alice)

    first = _events(client, alice, limit=2)
    second = _events(client, alice, limit=2, after=first["next_cursor"])
    later = _events(client, alice, limit=2, after=second["next_cursor"])

    assert first["has_more"] is True
    assert len(first["data"]) == 2
    assert len(second["data"]) == 1
    assert later["data"] == []
    assert later["next_cursor"] == second["next_cursor"]
    ids = [e["id"] for e in first["data"] + second["data"]]
    assert ids == sorted(set(ids))
    client.post("/api/v1/payments", json=NEW_PAYMENT, headers=alice)
    assert len(_events(client, alice, after=second["next_cursor"])["data"]) == 1


def test_an_event_older_than_30_days_is_not_returned(app, client, alice):
    created = client.post("/api/v1/payments", json=NEW_PAYMENT, headers=alice).json
    store = app.extensions["store"]
    payment = store.payments.get(ALICE, created["id"])
    old = event_change_item(
        store.tables.events,
        ALICE,
        EventType.PAYMENT_EXPIRED,
        utc_now() - timedelta(days=30, minutes=1),
        "an-old-change",
        resourceId=payment.payment_id,
        resourceVersion=payment.version,
        payment=payment_to_item(payment),
    )
    put = {k: v for k, v in old.operation["Put"].items() if k != "ConditionExpression"}
    store.client.put_item(**put)

    assert [e["type"] for e in _events(client, alice)["data"]] == ["payment.created"]


def test_a_read_only_key_reads_events(app, client, alice):
    client.post("/api/v1/payments", json=NEW_PAYMENT, headers=alice)
    _key, presented = app.extensions["api_keys"].create_key(
        actor_for(ALICE), "Reports", scope=KeyScope.READ_ONLY
    )

    assert len(_events(client, bearer(presented))["data"]) == 1


def test_another_accounts_events_and_cursors_are_never_shown(app, client, alice):
    client.post("/api/v1/payments", json=NEW_PAYMENT, headers=alice)
    client.post("/api/v1/payments", json=NEW_PAYMENT, headers=alice)
    bob = bearer(api_key_for(app, BOB))
    client.post("/api/v1/payments", json=NEW_PAYMENT, headers=bob)

    bobs = _events(client, bob, limit=1)
    alices = _events(client, alice)

    assert len(bobs["data"]) == 1
    assert len(alices["data"]) == 2
    assert not {e["id"] for e in bobs["data"]} & {e["id"] for e in alices["data"]}
    other = client.get("/api/v1/events", query_string={"after": alices["next_cursor"]}, headers=bob)
    assert "after" in assert_problem(other, 400, "validation-error")["errors"]
