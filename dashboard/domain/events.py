"""Events: what changed in a merchant's payments, refunds and orders, as the outbox records it.

Pure rules, no Flask or DynamoDB. A change of a payment (with its refunds) or of an order makes
the events these functions name, and nothing else does; the store writes them in the change's
own transaction (``dashboard.store.events``). Events carry no order among themselves: each names
the resource's version, so a reader can tell which of two came later.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from dashboard.domain.orders import OrderStatus
from dashboard.domain.payments import Payment, PaymentStatus
from dashboard.domain.refunds import RefundStatus


class ResourceType(StrEnum):
    """What an event is about."""

    PAYMENT = "payment"
    REFUND = "refund"
    ORDER = "order"


class EventType(StrEnum):
    """Every kind of event a merchant can receive."""

    PAYMENT_CREATED = "payment.created"
    PAYMENT_FAILED = "payment.failed"
    PAYMENT_COMPLETED = "payment.completed"
    PAYMENT_EXPIRED = "payment.expired"
    PAYMENT_CANCELLED = "payment.cancelled"
    REFUND_EXECUTED = "refund.executed"
    REFUND_FAILED = "refund.failed"
    ORDER_PAID = "order.paid"
    ORDER_CANCELLED = "order.cancelled"
    ORDER_REFUNDED = "order.refunded"

    @property
    def resource_type(self) -> ResourceType:
        """Return what this kind of event is about: the part of its name before the dot."""
        return ResourceType(self.value.partition(".")[0])


# The one table of which change makes which event; a status not listed makes none.
_PAYMENT_EVENTS = {
    PaymentStatus.AWAITING_PAYMENT: EventType.PAYMENT_CREATED,
    PaymentStatus.ATTEMPT_FAILED: EventType.PAYMENT_FAILED,
    PaymentStatus.COMPLETED: EventType.PAYMENT_COMPLETED,
    PaymentStatus.EXPIRED: EventType.PAYMENT_EXPIRED,
    PaymentStatus.CANCELLED: EventType.PAYMENT_CANCELLED,
}
_REFUND_EVENTS = {
    RefundStatus.EXECUTED: EventType.REFUND_EXECUTED,
    RefundStatus.FAILED: EventType.REFUND_FAILED,
}
_ORDER_EVENTS = {
    OrderStatus.PAID: EventType.ORDER_PAID,
    OrderStatus.CANCELLED: EventType.ORDER_CANCELLED,
    OrderStatus.REFUNDED: EventType.ORDER_REFUNDED,
}


@dataclass(frozen=True)
class PaymentEvent:
    """An event a payment's change makes: its type, and the refund it is about (refund events)."""

    type: EventType
    refund_id: str | None = None


def payment_change_events(before: Payment | None, after: Payment) -> list[PaymentEvent]:
    """Return the events of ``before`` (None: a new payment) becoming ``after``.

    The payment's own status event first, then one per refund that reached executed or failed
    in this change (a return, executed then failed, is a ``refund.failed``).
    """
    events: list[PaymentEvent] = []
    if before is None or before.status is not after.status:
        status_event = _PAYMENT_EVENTS.get(after.status)
        if status_event is not None:
            events.append(PaymentEvent(status_event))
    for refund in after.refunds:
        was = before.refund(refund.refund_id) if before else None
        if was is not None and was.status is refund.status:
            continue
        refund_event = _REFUND_EVENTS.get(refund.status)
        if refund_event is not None:
            events.append(PaymentEvent(refund_event, refund.refund_id))
    return events


def order_change_events(was: OrderStatus | None, becomes: OrderStatus) -> list[EventType]:
    """Return the events of an order's status moving from ``was`` (None: new) to ``becomes``."""
    if was is becomes:
        return []
    event = _ORDER_EVENTS.get(becomes)
    return [] if event is None else [event]
