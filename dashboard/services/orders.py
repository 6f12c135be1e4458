"""Order use cases: create, find, change, cancel and delete orders, and request their payment.

Routes and the JSON API call these; these call the orders repository and the payment service.
Nothing here knows about HTTP. Every write takes the actor (the account it works in and who
acts), and hands it on to the payment writes it makes; reads take the account id.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from dashboard.core.clock import utc_now
from dashboard.core.errors import NotFound
from dashboard.core.ids import id_range, new_id
from dashboard.core.words import words_of
from dashboard.domain.actor import Actor
from dashboard.domain.audit import AuditAction, audit_note
from dashboard.domain.money import to_minor
from dashboard.domain.orders import (
    InvalidOrder,
    Order,
    OrderFields,
    OrderStatus,
    check_order_fields,
    check_total,
    shown_order_status,
)
from dashboard.domain.payments import Payment, PaymentStatus
from dashboard.services.payments import (
    RECORD_ID,
    ActionNotAllowed,
    NewPaymentLink,
    PaymentNotFound,
    PaymentService,
)
from dashboard.store.cursors import CursorCodec
from dashboard.store.order_rollups import counts_by_status
from dashboard.store.orders import (
    MAX_WORDS_PER_ORDER,
    OrderAlreadyExists,
    OrderRepository,
    StaleOrder,
    all_order_words,
    continue_after,
    order_words,
)

log = logging.getLogger(__name__)

PAGE_SIZE = 25
# A search reads at most this many word items: its cost follows its matches, not the account.
MAX_SEARCH_MATCHES = 500
_ORDER_NUMBER = re.compile(r"(?:ord-?)?(\d{1,9})", re.IGNORECASE)
_MAX_WRITE_ATTEMPTS = 5


class OrderNotFound(NotFound):
    """Raised when the order does not exist or belongs to another merchant."""

    title = "Order not found"
    message = "There is no such order in your account."


@dataclass(frozen=True)
class OrderQuery:
    """Which of the merchant's orders to list: status, currency, creation span and search.

    ``created`` is [start, end) in UTC (the merchant's local days, converted by the caller).
    """

    status: OrderStatus | None = None
    search: str = ""
    currency: str | None = None
    created: tuple[datetime, datetime] | None = None

    @property
    def id_range(self) -> tuple[str, str] | None:
        """Return the lowest and highest order id of the creation span (UUIDv7), if one."""
        return id_range(*self.created) if self.created else None

    def fingerprint(self) -> str:
        """Return what a cursor is bound to, so it cannot continue another list."""
        span = "-".join(f"{t:%Y%m%dT%H%M}" for t in self.created) if self.created else ""
        search = self.search.strip().casefold()
        return f"orders|{self.status or ''}|{self.currency or ''}|{span}|{search}"


@dataclass(frozen=True)
class OrderPage:
    """One page of orders, newest first, and the cursor of the next page (None at the end)."""

    orders: list[Order]
    next_cursor: str | None
    # True when a search matched more orders than one search reads: some were left out.
    search_truncated: bool = False


@dataclass(frozen=True)
class ExportedOrder:
    """One order of an export, with what its payment's refunds gave back (minor units)."""

    order: Order
    refunded_minor: int


@dataclass(frozen=True)
class OrderCounts:
    """How many orders each status holds, for the query's creation span and currency."""

    by_status: dict[OrderStatus, int]

    @property
    def total(self) -> int:
        """Return the count of every status together."""
        return sum(self.by_status.values())


@dataclass(frozen=True)
class OrderResultCount:
    """How many orders the list holds: exact when known, else how many are shown so far."""

    shown: int
    matched: int | None  # None: a search matched more than are shown; counting costs reads
    more_below: bool


def order_result_count(
    query: OrderQuery, counts: OrderCounts, page: OrderPage, continuing: bool
) -> OrderResultCount:
    """Return what the list holds, from what the page and the tiles read, nothing more.

    Without a search the rollups count exactly what the list's Query lists (the same stored
    status, hours and currency); with one only a last first page is an exact count.
    """
    shown, more = len(page.orders), page.next_cursor is not None
    if not query.search.strip():
        matched = counts.by_status[query.status] if query.status else counts.total
        return OrderResultCount(shown, matched, more)
    if not more and not continuing:
        return OrderResultCount(shown, shown, more)
    return OrderResultCount(shown, None, more)


class OrderService:
    """The order use cases of one deployment."""

    def __init__(
        self,
        repository: OrderRepository,
        payments: PaymentService,
        cursors: CursorCodec,
        clock: Callable[[], datetime] = utc_now,
    ):
        self._repository = repository
        self._payments = payments
        self._cursors = cursors
        self._now = clock
        # Money on an order's earlier link, arriving after the order moved on, is never lost.
        payments.when_an_order_payment_completes(self.settle_with_late_payment)

    # Reading ------------------------------------------------------------------------------

    def get_order(self, user_id: str, order_id: str) -> Order:
        """Return the merchant's order; raise OrderNotFound for unknown or foreign ids."""
        if not RECORD_ID.fullmatch(order_id):
            raise OrderNotFound(order_id[:64])  # not even an id: no need to ask DynamoDB
        order = self._repository.get(user_id, order_id)
        if order is None:
            raise OrderNotFound(order_id)
        return order

    def order_payment(self, order: Order) -> Payment | None:
        """Return the payment link that settles the order, if one was requested and exists."""
        if not order.payment_id:
            return None
        try:
            return self._payments.get_payment(order.user_id, order.payment_id)
        except PaymentNotFound:
            return None  # the request was cut short before the payment was written

    def shown_statuses(self, orders: list[Order], now: datetime) -> dict[str, OrderStatus]:
        """Return the status to show for each order, as its own page would show it.

        Only orders waiting on a link can differ from what is stored (a lapsed link shows them
        failed at once); their payments are read with one BatchGetItem per page.
        """
        shown = {order.order_id: order.status for order in orders}
        waiting = {
            order.payment_id: order
            for order in orders
            if order.status is OrderStatus.PAYMENT_REQUESTED and order.payment_id
        }
        if waiting:
            user_id = next(iter(waiting.values())).user_id
            for payment in self._payments.get_payments(user_id, list(waiting)):
                order = waiting[payment.payment_id]
                shown[order.order_id] = shown_order_status(order, payment.effective_status(now))
        return shown

    def list_orders(
        self, user_id: str, query: OrderQuery, cursor: str | None = None, page_size: int = PAGE_SIZE
    ) -> OrderPage:
        """Return a page of the merchant's orders, newest first; raise InvalidCursor if bad."""
        fingerprint = query.fingerprint()
        state = self._cursors.decode(cursor, user_id, fingerprint) if cursor else {}
        truncated = False
        if query.search.strip():
            orders, next_state, truncated = self._search(user_id, query, state, page_size)
        else:
            orders, next_state = self._browse(user_id, query, state, page_size)
        next_cursor = self._cursors.encode(next_state, user_id, fingerprint) if next_state else None
        return OrderPage(orders, next_cursor, truncated)

    def status_counts(self, user_id: str, query: OrderQuery) -> OrderCounts:
        """Return counts per status for the query's span and currency, from the rollups.

        All time is one BatchGetItem; a span is one Query of its UTC hours.
        """
        rollups = self._repository.rollups
        if query.created:
            found = rollups.hours(user_id, *query.created, query.currency)
        else:
            found = rollups.all_time(user_id, query.currency)
        return OrderCounts(counts_by_status(found))

    def export_orders(self, user_id: str, query: OrderQuery) -> Iterator[ExportedOrder]:
        """Yield every order the query and its search match, newest first, page by page.

        Each comes with what its payment's refunds gave back; the payments of a page's paid
        orders are read with one BatchGetItem.
        """
        cursor = None
        while True:
            page = self.list_orders(user_id, query, cursor, page_size=100)
            refunded = self.refunded_amounts(user_id, page.orders)
            for order in page.orders:
                yield ExportedOrder(order, refunded.get(order.order_id, 0))
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    def refunded_amounts(self, user_id: str, orders: list[Order]) -> dict[str, int]:
        """Return, by order id, what the payment of each paid order gave back in refunds.

        Only a paid (or refunded) order's payment can have refunds: the others are not read.
        """
        paid = {o.payment_id: o.order_id for o in orders if o.status.was_paid and o.payment_id}
        if not paid:
            return {}
        payments = self._payments.get_payments(user_id, list(paid))
        return {paid[p.payment_id]: p.refunded_minor for p in payments if p.refunded_minor}

    def _browse(
        self, user_id: str, query: OrderQuery, state: dict, page_size: int
    ) -> tuple[list[Order], dict | None]:
        # One more than a page, so "Load more" only shows when there really is more.
        found = self._repository.newest_first(
            user_id,
            query.status,
            page_size + 1,
            state.get("key"),
            currency=query.currency,
            ids=query.id_range,
        )
        orders = found.orders[:page_size]
        if len(found.orders) <= page_size and not found.last_key:
            return orders, None
        if len(found.orders) <= page_size and found.last_key:
            # The Query stopped at its 1 MB page: go on from where DynamoDB stopped.
            return orders, {"key": found.last_key}
        return orders, {"key": continue_after(orders[-1], query.status, query.currency)}

    def _search(
        self, user_id: str, query: OrderQuery, state: dict, page_size: int
    ) -> tuple[list[Order], dict | None, bool]:
        candidates, words, truncated = self._candidates(user_id, query.search)
        before = state.get("before")
        ids = sorted((i for i in candidates if before is None or i < before), reverse=True)
        matches: list[Order] = []
        # A page and one more per read: the extra match tells whether there is a next page.
        for start in range(0, len(ids), page_size + 1):
            chunk = ids[start : start + page_size + 1]
            fetched = {o.order_id: o for o in self._repository.get_many(user_id, chunk)}
            for order_id in chunk:
                order = fetched.get(order_id)
                if order and _matches(order, query, words):
                    matches.append(order)
                    if len(matches) == page_size + 1:
                        next_state = {"before": matches[page_size - 1].order_id}
                        return matches[:page_size], next_state, truncated
        return matches, None, truncated

    def _candidates(self, user_id: str, search: str) -> tuple[set[str], list[str], bool]:
        """Return the ids a search may match, the words each must still have, and whether
        more ids matched than one search reads."""
        number = _ORDER_NUMBER.fullmatch(search.strip())
        if number:
            order_id = self._repository.id_by_number(user_id, int(number.group(1)))
            if order_id:
                return {order_id}, [], False
        words = words_of(search)
        if not words:
            return set(), [], False
        # The longest word narrows most; the others are checked on the orders it finds.
        driver = max(words, key=len)
        found = self._repository.ids_by_word_prefix(user_id, driver, MAX_SEARCH_MATCHES)
        return set(found.order_ids), words, found.truncated

    # Creating and changing ----------------------------------------------------------------

    def create_order(self, actor: Actor, order_id: str, fields: OrderFields) -> Order:
        """Create an order numbered from the account's counter; raise InvalidOrder if invalid.

        A second submit of the same form (same order id) returns the first order unchanged.
        """
        errors = check_order_fields(fields, complete=True)
        if errors:
            raise InvalidOrder(errors)
        # check_order_fields(complete=True) has refused every missing field.
        assert fields.customer_name is not None
        assert fields.customer_email is not None
        assert fields.product_name is not None
        assert fields.quantity is not None
        assert fields.unit_price is not None
        assert fields.currency is not None
        unit_price_minor = to_minor(fields.unit_price, fields.currency)
        errors = check_total(fields.quantity, unit_price_minor, fields.currency)
        if errors:
            raise InvalidOrder(errors)
        user_id = actor.account_id
        existing = self._repository.get(user_id, order_id)
        if existing is not None:
            return existing
        now = self._now()
        order = Order(
            user_id=user_id,
            order_id=order_id,
            order_number=self._repository.next_order_number(user_id),
            customer_name=fields.customer_name.strip(),
            customer_email=fields.customer_email.strip().lower(),
            product_name=fields.product_name.strip(),
            quantity=fields.quantity,
            unit_price_minor=unit_price_minor,
            currency=fields.currency,
            status=OrderStatus.PENDING,
            created_at=now,
            updated_at=now,
            shipping_address=(fields.shipping_address or "").strip() or None,
        )
        _check_word_count(order, "product_name")
        try:
            self._repository.add(order, audit_note(actor, AuditAction.ORDER_CREATED, now))
        except OrderAlreadyExists:
            # A double submit won the race; its order (under this merchant's key) is the answer.
            existing = self._repository.get(user_id, order_id)
            if existing is None:
                raise  # ...unless it was deleted in the meantime
            return existing
        return order

    def update_order(self, actor: Actor, order_id: str, changes: OrderFields) -> Order:
        """Change the customer, shipping address or quantity of an unpaid order.

        The product, unit price and currency are fixed once the order exists. The quantity may
        only change while no live payment link carries the order's total.
        """
        fixed = {"product_name": changes.product_name, "unit_price": changes.unit_price}
        errors = {name: "This cannot be changed." for name, value in fixed.items() if value}
        if changes.currency:
            errors["currency"] = "This cannot be changed."
        errors.update(check_order_fields(changes, complete=False))
        if errors:
            raise InvalidOrder(errors)
        for _ in range(_MAX_WRITE_ATTEMPTS):
            order = self.get_order(actor.account_id, order_id)
            updated = self._changed(order, changes)
            if updated == order:
                return order
            _check_word_count(updated, "customer_name")
            if updated.total_minor != order.total_minor:
                # The earlier link asked for the old total: it must never come back and settle
                # the order for that amount.
                self._end_previous_link(actor, order)
            audit = audit_note(actor, AuditAction.ORDER_CHANGED, updated.updated_at)
            try:
                return self._repository.save(order, updated, audit)
            except StaleOrder:
                continue  # the payment moved the order meanwhile; decide again on what is stored
        raise StaleOrder(order_id)

    def _changed(self, order: Order, changes: OrderFields) -> Order:
        if not order.status.is_unpaid:
            raise ActionNotAllowed(f"A {order.status.label.lower()} order cannot be changed.")
        quantity = order.quantity if changes.quantity is None else changes.quantity
        if quantity != order.quantity:
            if not order.can_change_quantity:
                raise ActionNotAllowed(
                    "The quantity cannot change while the payment link for this order is live."
                )
            errors = check_total(quantity, order.unit_price_minor, order.currency)
            if errors:
                raise InvalidOrder(errors)
        address = order.shipping_address
        if changes.shipping_address is not None:
            address = changes.shipping_address.strip() or None
        return dataclasses.replace(
            order,
            customer_name=(changes.customer_name or order.customer_name).strip(),
            customer_email=(changes.customer_email or order.customer_email).strip().lower(),
            shipping_address=address,
            quantity=quantity,
            updated_at=self._now(),
        )

    # Payment ------------------------------------------------------------------------------

    def request_payment(self, actor: Actor, order_id: str, resume: bool = False) -> Payment:
        """Create the payment link for the order's total and return it.

        The order first records the new payment's id (a conditional write), then the payment is
        created with the order number as reference and the customer as payer. Asking again while
        a link is live returns that link; a request cut short before its payment was written is
        finished by the next one, with the same payment id, so there is never a second link.
        """
        for _ in range(_MAX_WRITE_ATTEMPTS):
            payment = self._request_payment_once(actor, order_id, resume)
            if payment is not None:
                return payment
            # Another request changed the order meanwhile (a double click): look again.
        raise StaleOrder(order_id)

    def _request_payment_once(self, actor: Actor, order_id: str, resume: bool) -> Payment | None:
        """Do ``request_payment`` on the order as read now; None if it changed under us."""
        order = self.get_order(actor.account_id, order_id)
        if order.status is OrderStatus.PAYMENT_REQUESTED and order.payment_id:
            existing = self.order_payment(order)
            if existing is None:
                return self._create_link(actor, order, order.payment_id)
            creating = existing.status is PaymentStatus.CREATING
            if creating and (resume or self._payments.is_stuck_creating(existing)):
                # The request that made it was cut short mid-way (or, with ``resume``, is known
                # to have ended): finish it, the same link, as the provider call is idempotent.
                return self._payments.finish_creation(actor, existing.payment_id)
            if existing.effective_status(self._now()) is not PaymentStatus.EXPIRED:
                return existing
            # The link lapsed unpaid, but no event has said so yet: record it, which fails the
            # order, and go on to a new link.
            self._payments.record_expiry_if_due(existing)
            order = self.get_order(actor.account_id, order_id)
        if not order.can_request_payment:
            raise ActionNotAllowed(
                f"Payment cannot be requested for a {order.status.label.lower()} order."
            )
        self._end_previous_link(actor, order)
        payment_id = new_id()
        requested = dataclasses.replace(
            order,
            status=OrderStatus.PAYMENT_REQUESTED,
            payment_id=payment_id,
            updated_at=self._now(),
        )
        try:
            requested = self._repository.save(order, requested)
        except StaleOrder:
            return None
        return self._create_link(actor, requested, payment_id)

    def can_request_payment(
        self, order: Order, payment: Payment | None, now: datetime | None = None
    ) -> bool:
        """Return True when Request payment does something for the order (now, or at ``now``).

        That is: no link yet, or only a failed or lapsed one, or a link whose creation was cut
        short and can be finished.
        """
        if order.status is OrderStatus.PAYMENT_REQUESTED:
            if payment is None or self._payments.is_stuck_creating(payment):
                return True
            return payment.effective_status(now or self._now()) is PaymentStatus.EXPIRED
        return order.can_request_payment

    def _create_link(self, actor: Actor, order: Order, payment_id: str) -> Payment:
        """Return the payment link for the order's total, made under ``payment_id``."""
        return self._payments.create_payment_link(
            actor,
            NewPaymentLink(
                payment_id=payment_id,
                amount_minor=order.total_minor,
                currency=order.currency,
                reference=order.number_label,
                payer_name=order.customer_name,
                payer_email=order.customer_email,
                order_id=order.order_id,
            ),
        )

    def _end_previous_link(self, actor: Actor, order: Order) -> None:
        """Cancel a failed order's earlier link if it could still come back to life.

        A link whose creation failed may be retried from its payment page; once the order has a
        new link, the old one must never be paid as well.
        """
        previous = self.order_payment(order)
        if previous is not None and previous.status is PaymentStatus.CREATION_FAILED:
            self._payments.cancel_payment(actor, previous.payment_id)

    # Money that arrives late ----------------------------------------------------------------

    def settle_with_late_payment(self, actor: Actor, payment: Payment) -> None:
        """Make sense of an order's payment that completed after the order moved on.

        The payment's own transaction moves an order that still follows it. One that asked for
        payment again meanwhile does not: if it is still unpaid and this payment covers its
        total, the payment settles it and the newer link is cancelled; otherwise (it was paid by
        its newer link, cancelled, or its total changed) the payment is kept on the order as
        extra money, which its page shows, so someone can refund it. Idempotent. ``actor`` is who
        applied the event that completed the payment; it also cancels the newer link.
        """
        for _ in range(_MAX_WRITE_ATTEMPTS):
            order = self._repository.get(payment.user_id, payment.order_id or "")
            if order is None or payment.payment_id in (order.payment_id, *order.extra_payment_ids):
                return  # deleted, following this payment already, or already known
            covers_total = (order.total_minor, order.currency) == (
                payment.amount_minor,
                payment.currency,
            )
            if order.status.is_unpaid and covers_total:
                if order.payment_id:
                    # First, so that a provider outage (raised: the webhook is retried) can never
                    # leave a paid order with a second live link its payer could pay as well.
                    self._cancel_replaced_link(actor, order.payment_id)
                settled = dataclasses.replace(
                    order,
                    status=OrderStatus.PAID,
                    payment_id=payment.payment_id,
                    updated_at=self._now(),
                )
            else:
                settled = dataclasses.replace(
                    order,
                    extra_payment_ids=(*order.extra_payment_ids, payment.payment_id),
                    updated_at=self._now(),
                )
            try:
                self._repository.save(order, settled)
            except StaleOrder:
                continue
            log.warning(
                "Order %s: payment %s completed after the order moved on; %s",
                order.order_id,
                payment.payment_id,
                "it settles the order"
                if settled.payment_id == payment.payment_id
                else "kept on it as extra money to look at",
            )
            return
        raise StaleOrder(payment.order_id or "")

    def _cancel_replaced_link(self, actor: Actor, payment_id: str) -> None:
        """Cancel the link an order no longer needs; a payer already paying on it is let be."""
        try:
            self._payments.cancel_payment(actor, payment_id)
        except (ActionNotAllowed, PaymentNotFound) as exc:
            # Being paid right now, paid, or ended: if it completes, it comes back here as
            # extra money on the order.
            log.info("Replaced link %s of a settled order left as it is: %s", payment_id, exc)

    # Ending -------------------------------------------------------------------------------

    def cancel_order(self, actor: Actor, order_id: str) -> Order:
        """Cancel an unpaid order; a live payment link for it is cancelled first.

        An order already cancelled is returned as it is (a repeated click, a retried request).
        """
        order = self.get_order(actor.account_id, order_id)
        if order.status is OrderStatus.CANCELLED:
            return order
        if not order.status.is_unpaid:
            raise ActionNotAllowed(f"A {order.status.label.lower()} order cannot be cancelled.")
        payment = self.order_payment(order)
        if payment is None and order.status is OrderStatus.PAYMENT_REQUESTED:
            # The order holds a payment id whose payment is not written yet: a request for
            # payment is running (or was cut short; Request payment finishes it).
            raise ActionNotAllowed(
                "The payment link is being created. Wait a moment, then cancel the order."
            )
        if payment is not None and self._payments.can_cancel(payment):
            # Raises ActionNotAllowed if the payer started paying meanwhile: the order waits.
            self._payments.cancel_payment(actor, payment.payment_id)
            order = self.get_order(actor.account_id, order_id)
        elif payment is not None and payment.effective_status(self._now()) in (
            PaymentStatus.CREATING,
            PaymentStatus.PROCESSING,
        ):
            raise ActionNotAllowed(
                "The payment link is being created or paid right now; "
                "wait for the result before cancelling."
            )
        cancelled = dataclasses.replace(order, status=OrderStatus.CANCELLED, updated_at=self._now())
        audit = audit_note(actor, AuditAction.ORDER_CANCELLED, cancelled.updated_at)
        try:
            return self._repository.save(order, cancelled, audit)
        except StaleOrder as exc:
            raise ActionNotAllowed("The order changed meanwhile; look again and retry.") from exc

    def delete_order(self, actor: Actor, order_id: str) -> None:
        """Delete an order that was never paid and has no live payment link.

        A paid order, refunded or not, is a record of money received and is never deleted.
        """
        order = self.get_order(actor.account_id, order_id)
        if order.status.was_paid:
            raise ActionNotAllowed(
                f"A {order.status.label.lower()} order is a record of a payment "
                "and cannot be deleted."
            )
        if order.status is OrderStatus.PAYMENT_REQUESTED:
            raise ActionNotAllowed(
                "This order has a live payment link. Cancel the order first, then delete it."
            )
        # A link whose creation failed could be retried from its payment's page: end it, so a
        # deleted order's link can never be paid.
        self._end_previous_link(actor, order)
        try:
            self._repository.delete(
                order, audit_note(actor, AuditAction.ORDER_DELETED, self._now())
            )
        except StaleOrder as exc:
            raise ActionNotAllowed("The order changed meanwhile; look again and retry.") from exc


def _check_word_count(order: Order, field: str) -> None:
    """Refuse an order with more separate words than search indexes (never a silent cut)."""
    if len(all_order_words(order)) > MAX_WORDS_PER_ORDER:
        raise InvalidOrder(
            {
                field: f"Use fewer separate words: the customer's name and email and the product "
                f"can have at most {MAX_WORDS_PER_ORDER} in all, so that search finds each one."
            }
        )


def _matches(order: Order, query: OrderQuery, words: list[str]) -> bool:
    """Return True when the order passes the query's filters and has every search word."""
    if query.status is not None and order.status is not query.status:
        return False
    if query.currency is not None and order.currency != query.currency:
        return False
    span = query.id_range
    if span is not None and not span[0] <= order.order_id <= span[1]:
        return False
    own = order_words(order)
    return all(any(w.startswith(word) for w in own) for word in words)
