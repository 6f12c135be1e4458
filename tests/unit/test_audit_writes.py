"""Every audited change writes its entry in its own transaction, with who, how, what and from where.

Only what a person or an API key asks for is audited; a provider's webhook, the sync and a refused
change write nothing.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from dashboard.core.ids import new_id
from dashboard.domain.actor import Actor, Channel
from dashboard.domain.audit import AuditAction, AuditNote
from dashboard.domain.orders import OrderFields
from dashboard.domain.payments import PaymentStatus
from dashboard.providers.base import ProviderUnavailable
from dashboard.services.api_keys import ApiKeyNotFound, ApiKeyService
from dashboard.services.orders import OrderService
from dashboard.services.payments import ActionNotAllowed, NewPaymentLink, PaymentService
from dashboard.store.cursors import CursorCodec
from dashboard.store.payments import StaleWrite
from tests.conftest import TEST_SECRET_KEY
from tests.unit.audit_support import ACCOUNT, ALICE, SHOP_KEY, logged


@pytest.fixture
def orders(store, service, clock) -> OrderService:
    return OrderService(store.orders, service, CursorCodec(TEST_SECRET_KEY), clock)


@pytest.fixture
def api_keys(store, clock) -> ApiKeyService:
    return ApiKeyService(store.api_keys, clock)


def new_link(**changes) -> NewPaymentLink:
    values = {
        "payment_id": new_id(),
        "amount_minor": 1250,
        "currency": "GBP",
        "reference": "Invoice 42",
    }
    return NewPaymentLink(**{**values, **changes})


def order_fields(**changes) -> OrderFields:
    values = {
        "customer_name": "Ada Lovelace",
        "customer_email": "ada@example.com",
        "product_name": "Manual",
        "quantity": 2,
        "unit_price": Decimal("12.50"),
        "currency": "GBP",
    }
    return OrderFields(**{**values, **changes})


def test_creating_a_payment_link_records_who_from_where_and_what(
    service: PaymentService, store, clock
):
    payment = service.create_payment_link(ALICE, new_link())

    (entry,) = logged(store)
    assert entry.action is AuditAction.PAYMENT_LINK_CREATED
    assert (entry.actor, entry.actor_label) == (ALICE.who, "alice@example.com")
    assert entry.via is Channel.BROWSER
    assert entry.ip_address == "203.0.113.7"
    assert (entry.target_type, entry.target_id, entry.target_label) == (
        "payment",
        payment.payment_id,
        "Invoice 42",
    )
    assert entry.before == {}
    assert entry.after == {"status": "creating", "amount": "12.50 GBP", "reference": "Invoice 42"}
    assert entry.at == clock.now


def test_a_repeated_submit_of_the_same_link_records_one_creation(service, store):
    request = new_link()
    service.create_payment_link(ALICE, request)
    service.create_payment_link(ALICE, request)

    assert [e.action for e in logged(store)] == [AuditAction.PAYMENT_LINK_CREATED]


def test_an_api_key_is_recorded_as_the_actor_of_what_it_creates(service, store):
    service.create_payment_link(SHOP_KEY, new_link())

    (entry,) = logged(store)
    assert (entry.actor, entry.actor_label, entry.via) == ("ShopKey00001", "Web shop", Channel.API)
    assert entry.ip_address == "198.51.100.2"


def test_cancelling_a_link_records_its_status_before_and_after(service, store):
    payment = service.create_payment_link(ALICE, new_link())
    service.cancel_payment(SHOP_KEY, payment.payment_id)

    cancelled = logged(store)[-1]
    assert cancelled.action is AuditAction.PAYMENT_LINK_CANCELLED
    assert cancelled.actor == "ShopKey00001"
    assert cancelled.target_id == payment.payment_id
    assert (cancelled.before, cancelled.after) == (
        {"status": "awaiting_payment"},
        {"status": "cancelled"},
    )


def test_retrying_a_failed_link_records_the_retry(service, sandbox, store, monkeypatch):
    def down(_request):
        raise ProviderUnavailable("connection refused")

    with monkeypatch.context() as patch:
        patch.setattr(sandbox, "create_link", down)
        failed = service.create_payment_link(ALICE, new_link())
    service.retry_link_creation(ALICE, failed.payment_id)

    created, retried = logged(store)
    assert created.action is AuditAction.PAYMENT_LINK_CREATED
    assert retried.action is AuditAction.PAYMENT_LINK_RETRIED
    assert (retried.before, retried.after) == (
        {"status": "creation_failed"},
        {"status": "creating"},
    )


def test_a_refused_cancel_writes_no_entry(service, sandbox, store):
    payment = service.create_payment_link(ALICE, new_link())
    for event in sandbox.pay(payment.provider_link_id):
        service.apply_provider_event(event)

    with pytest.raises(ActionNotAllowed):
        service.cancel_payment(ALICE, payment.payment_id)

    assert [e.action for e in logged(store)] == [AuditAction.PAYMENT_LINK_CREATED]


def test_an_entry_lands_only_with_its_change(service, store):
    """A change refused by its condition (a stale read) takes its entry with it."""
    payment = service.create_payment_link(ALICE, new_link())
    stale = dataclasses.replace(payment, version=payment.version - 1)
    note = AuditNote(ALICE, AuditAction.PAYMENT_LINK_CANCELLED, payment.updated_at)

    with pytest.raises(StaleWrite):
        store.payments.save(
            stale, stale.with_status(PaymentStatus.CANCELLED, stale.updated_at), audit=note
        )

    assert [e.action for e in logged(store)] == [AuditAction.PAYMENT_LINK_CREATED]


def test_a_provider_webhook_and_the_sync_write_no_entry(service, sandbox, store, clock):
    paid = service.create_payment_link(ALICE, new_link())
    for event in sandbox.pay(paid.provider_link_id):
        service.apply_provider_event(event)  # as the webhook does
    lapsing = service.create_payment_link(ALICE, new_link())
    clock.advance(hours=25)
    service.sync_open_payments(clock.now)
    service.refresh_payment(Actor.system(ACCOUNT), lapsing.payment_id)

    assert [e.action for e in logged(store)] == [AuditAction.PAYMENT_LINK_CREATED] * 2


def test_order_changes_are_recorded_with_what_changed(orders: OrderService, store):
    order = orders.create_order(ALICE, new_id(), order_fields())
    orders.update_order(ALICE, order.order_id, OrderFields(quantity=3))
    orders.cancel_order(SHOP_KEY, order.order_id)
    orders.delete_order(ALICE, order.order_id)

    created, changed, cancelled, deleted = logged(store)
    assert [e.action for e in (created, changed, cancelled, deleted)] == [
        AuditAction.ORDER_CREATED,
        AuditAction.ORDER_CHANGED,
        AuditAction.ORDER_CANCELLED,
        AuditAction.ORDER_DELETED,
    ]
    assert {e.target_id for e in (created, changed, cancelled, deleted)} == {order.order_id}
    assert created.target_label == order.number_label
    assert created.before == {}
    assert created.after["total"] == "25.00 GBP"
    assert created.after["customer"] == "Ada Lovelace"
    assert (changed.before, changed.after) == (
        {"quantity": "2", "total": "25.00 GBP"},
        {"quantity": "3", "total": "37.50 GBP"},
    )
    assert cancelled.actor == "ShopKey00001"
    assert (cancelled.before, cancelled.after) == ({"status": "pending"}, {"status": "cancelled"})
    assert deleted.before["status"] == "cancelled"
    assert deleted.after == {}


def test_requesting_an_orders_payment_records_the_link_it_creates(orders, store):
    order = orders.create_order(ALICE, new_id(), order_fields())
    payment = orders.request_payment(ALICE, order.order_id)

    created_order, created_link = logged(store)
    assert created_order.action is AuditAction.ORDER_CREATED
    assert created_link.action is AuditAction.PAYMENT_LINK_CREATED
    assert created_link.target_id == payment.payment_id
    assert created_link.after["order"] == order.order_id


def test_cancelling_an_order_with_a_live_link_records_both(orders, store):
    order = orders.create_order(ALICE, new_id(), order_fields())
    orders.request_payment(ALICE, order.order_id)
    orders.cancel_order(ALICE, order.order_id)

    assert [e.action for e in logged(store)][-2:] == [
        AuditAction.PAYMENT_LINK_CANCELLED,
        AuditAction.ORDER_CANCELLED,
    ]


def test_a_refused_order_change_writes_no_entry(orders, sandbox, service, store):
    order = orders.create_order(ALICE, new_id(), order_fields())
    payment = orders.request_payment(ALICE, order.order_id)
    for event in sandbox.pay(payment.provider_link_id):
        service.apply_provider_event(event)  # the order is paid: the webhook writes no entry

    with pytest.raises(ActionNotAllowed):
        orders.delete_order(ALICE, order.order_id)
    with pytest.raises(ActionNotAllowed):
        orders.update_order(ALICE, order.order_id, OrderFields(quantity=5))

    assert [e.action for e in logged(store)] == [
        AuditAction.ORDER_CREATED,
        AuditAction.PAYMENT_LINK_CREATED,
    ]


def test_api_keys_created_and_revoked_are_recorded_by_name(api_keys: ApiKeyService, store):
    key, _ = api_keys.create_key(ALICE, "Web shop")
    api_keys.revoke_key(ALICE, key.key_id)
    api_keys.revoke_key(ALICE, key.key_id)  # again: nothing changes, nothing is recorded

    created, revoked = logged(store)
    assert created.action is AuditAction.API_KEY_CREATED
    assert (created.target_type, created.target_id, created.target_label) == (
        "api_key",
        key.key_id,
        "Web shop",
    )
    assert created.after == {"name": "Web shop", "status": "active"}
    assert revoked.action is AuditAction.API_KEY_REVOKED
    assert (revoked.before, revoked.after) == ({"status": "active"}, {"status": "revoked"})
    assert store.api_keys.get(key.key_id).key.revoked_at is not None


def test_revoking_another_accounts_key_writes_nothing(api_keys, store):
    key, _ = api_keys.create_key(ALICE, "Web shop")
    intruder = dataclasses.replace(ALICE, account_id="acct_other")

    with pytest.raises(ApiKeyNotFound):
        api_keys.revoke_key(intruder, key.key_id)

    assert [e.action for e in logged(store)] == [AuditAction.API_KEY_CREATED]
    assert logged(store, "acct_other") == []
    assert store.api_keys.get(key.key_id).key.is_active


def test_an_order_saved_with_nothing_changed_records_nothing(orders, store):
    order = orders.create_order(ALICE, new_id(), order_fields())
    orders.update_order(ALICE, order.order_id, OrderFields(quantity=order.quantity))

    assert [e.action for e in logged(store)] == [AuditAction.ORDER_CREATED]
