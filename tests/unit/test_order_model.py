"""The order rules on their own: how an order follows its payment, and what it shows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dashboard.domain.orders import (
    Order,
    OrderStatus,
    order_status_for_payment,
    shown_order_status,
)
from dashboard.domain.payments import PaymentStatus

NOW = datetime(2026, 11, 22, tzinfo=UTC)


def an_order(status: OrderStatus) -> Order:
    return Order("alice", "o1", 1001, "Ada", "ada@example.com", "Manual", 2, 1250, "GBP",
                 status, NOW, NOW, payment_id="p1")  # fmt: skip


@pytest.mark.parametrize(
    ("payment_status", "order_status"),
    [
        (PaymentStatus.CREATING, OrderStatus.PAYMENT_REQUESTED),
        (PaymentStatus.AWAITING_PAYMENT, OrderStatus.PAYMENT_REQUESTED),
        (PaymentStatus.PROCESSING, OrderStatus.PAYMENT_REQUESTED),
        (PaymentStatus.ATTEMPT_FAILED, OrderStatus.PAYMENT_REQUESTED),  # the payer may retry
        (PaymentStatus.COMPLETED, OrderStatus.PAID),
        (PaymentStatus.EXPIRED, OrderStatus.FAILED),
        (PaymentStatus.CANCELLED, OrderStatus.FAILED),
        (PaymentStatus.CREATION_FAILED, OrderStatus.FAILED),
    ],
)
def test_an_order_follows_every_payment_status(payment_status, order_status):
    assert order_status_for_payment(payment_status) is order_status


def test_an_order_waiting_on_a_lapsed_link_shows_as_failed():
    waiting = an_order(OrderStatus.PAYMENT_REQUESTED)

    assert shown_order_status(waiting, PaymentStatus.EXPIRED) is OrderStatus.FAILED
    assert shown_order_status(waiting, None) is OrderStatus.PAYMENT_REQUESTED


def test_a_cancelled_order_shows_cancelled_whatever_its_old_link_says():
    cancelled = an_order(OrderStatus.CANCELLED)

    assert shown_order_status(cancelled, PaymentStatus.EXPIRED) is OrderStatus.CANCELLED


def test_the_total_is_quantity_times_unit_price_in_minor_units():
    order = an_order(OrderStatus.PENDING)

    assert order.total_minor == 2500
    assert order.total_label == "£25.00"
    assert order.number_label == "ORD-1001"
