"""Which change makes which event: the table of payment, refund and order events."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from dashboard.domain.events import (
    EventType,
    PaymentEvent,
    ResourceType,
    order_change_events,
    payment_change_events,
)
from dashboard.domain.orders import OrderStatus
from dashboard.domain.payments import Payment, PaymentStatus
from dashboard.domain.refunds import Refund, RefundStatus

AT = datetime(2026, 11, 30, 12, tzinfo=UTC)


def _payment(status: PaymentStatus, *refunds: Refund) -> Payment:
    return Payment(
        user_id="acct_1",
        payment_id="pay_1",
        amount_minor=1250,
        currency="GBP",
        reference="Invoice 42",
        status=status,
        created_at=AT,
        updated_at=AT,
        expires_at=AT,
        provider="sandbox",
        payer_token="tok",
        refunds=refunds,
    )


def _refund(status: RefundStatus, refund_id: str = "ref_1") -> Refund:
    return Refund(refund_id, 500, status, AT, AT)


@pytest.mark.parametrize(
    ("was", "becomes", "expected"),
    [
        (PaymentStatus.CREATING, PaymentStatus.AWAITING_PAYMENT, EventType.PAYMENT_CREATED),
        (PaymentStatus.AWAITING_PAYMENT, PaymentStatus.ATTEMPT_FAILED, EventType.PAYMENT_FAILED),
        (PaymentStatus.PROCESSING, PaymentStatus.COMPLETED, EventType.PAYMENT_COMPLETED),
        (PaymentStatus.ATTEMPT_FAILED, PaymentStatus.EXPIRED, EventType.PAYMENT_EXPIRED),
        (PaymentStatus.AWAITING_PAYMENT, PaymentStatus.CANCELLED, EventType.PAYMENT_CANCELLED),
        # Money wins: a cancelled link that is paid after all tells the merchant so.
        (PaymentStatus.CANCELLED, PaymentStatus.COMPLETED, EventType.PAYMENT_COMPLETED),
    ],
)
def test_a_payment_status_change_makes_its_event(
    was: PaymentStatus, becomes: PaymentStatus, expected: EventType
) -> None:
    assert payment_change_events(_payment(was), _payment(becomes)) == [PaymentEvent(expected)]


@pytest.mark.parametrize(
    ("was", "becomes"),
    [
        (PaymentStatus.CREATING, PaymentStatus.CREATION_FAILED),
        (PaymentStatus.CREATION_FAILED, PaymentStatus.CREATING),
        (PaymentStatus.AWAITING_PAYMENT, PaymentStatus.PROCESSING),
        (PaymentStatus.ATTEMPT_FAILED, PaymentStatus.PROCESSING),
        (PaymentStatus.COMPLETED, PaymentStatus.COMPLETED),
    ],
)
def test_other_payment_changes_make_no_event(was: PaymentStatus, becomes: PaymentStatus) -> None:
    assert payment_change_events(_payment(was), _payment(becomes)) == []


def test_a_new_payment_makes_an_event_only_once_its_link_is_live() -> None:
    assert payment_change_events(None, _payment(PaymentStatus.CREATING)) == []
    assert payment_change_events(None, _payment(PaymentStatus.AWAITING_PAYMENT)) == [
        PaymentEvent(EventType.PAYMENT_CREATED)
    ]


@pytest.mark.parametrize(
    ("was", "becomes", "expected"),
    [
        (RefundStatus.PENDING, RefundStatus.EXECUTED, EventType.REFUND_EXECUTED),
        (RefundStatus.AUTHORIZED, RefundStatus.FAILED, EventType.REFUND_FAILED),
        (RefundStatus.EXECUTED, RefundStatus.FAILED, EventType.REFUND_FAILED),  # a return
        (None, RefundStatus.EXECUTED, EventType.REFUND_EXECUTED),
    ],
)
def test_a_refund_reaching_executed_or_failed_makes_an_event_naming_it(
    was: RefundStatus | None, becomes: RefundStatus, expected: EventType
) -> None:
    other = _refund(RefundStatus.EXECUTED, "ref_0")
    before_refunds = (other,) if was is None else (other, _refund(was))
    before = _payment(PaymentStatus.COMPLETED, *before_refunds)
    after = _payment(PaymentStatus.COMPLETED, other, _refund(becomes))
    assert payment_change_events(before, after) == [PaymentEvent(expected, "ref_1")]


@pytest.mark.parametrize(
    ("was", "becomes"),
    [
        (None, RefundStatus.CREATING),
        (RefundStatus.CREATING, RefundStatus.PENDING),
        (RefundStatus.CREATING, RefundStatus.CREATION_FAILED),
        (RefundStatus.PENDING, RefundStatus.AUTHORIZED),
        (RefundStatus.EXECUTED, RefundStatus.EXECUTED),
    ],
)
def test_other_refund_steps_make_no_event(was: RefundStatus | None, becomes: RefundStatus) -> None:
    before = _payment(PaymentStatus.COMPLETED, *([] if was is None else [_refund(was)]))
    after = dataclasses.replace(before, refunds=(_refund(becomes),))
    assert payment_change_events(before, after) == []


@pytest.mark.parametrize(
    ("was", "becomes", "expected"),
    [
        (OrderStatus.PAYMENT_REQUESTED, OrderStatus.PAID, [EventType.ORDER_PAID]),
        (OrderStatus.PENDING, OrderStatus.CANCELLED, [EventType.ORDER_CANCELLED]),
        (OrderStatus.PAYMENT_REQUESTED, OrderStatus.CANCELLED, [EventType.ORDER_CANCELLED]),
        (OrderStatus.PAID, OrderStatus.REFUNDED, [EventType.ORDER_REFUNDED]),
        (OrderStatus.PENDING, OrderStatus.PAYMENT_REQUESTED, []),
        (OrderStatus.PAYMENT_REQUESTED, OrderStatus.FAILED, []),
        (OrderStatus.REFUNDED, OrderStatus.PAID, [EventType.ORDER_PAID]),
        (OrderStatus.PAID, OrderStatus.PAID, []),
        (None, OrderStatus.PENDING, []),
    ],
)
def test_an_order_status_change_makes_its_event(
    was: OrderStatus | None, becomes: OrderStatus, expected: list[EventType]
) -> None:
    assert order_change_events(was, becomes) == expected


def test_each_event_type_names_what_it_is_about() -> None:
    assert {t.resource_type for t in EventType} == set(ResourceType)
    assert EventType.REFUND_FAILED.resource_type is ResourceType.REFUND
