"""``flask --app app seed-demo``: realistic payments for a merchant, made through the service layer.

Payments are spread over the last 90 days, in both currencies and every status, by driving the
same use cases a merchant and payers would (create, pay, decline, cancel, expire) on a clock
that is moved back in time. Development only: it needs the sandbox provider.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from unittest import mock

import click
from flask import current_app
from flask.cli import with_appcontext

from dashboard.core.ids import id_minted_at, new_id
from dashboard.core.progress import Progress
from dashboard.domain.actor import Actor
from dashboard.domain.orders import OrderFields
from dashboard.domain.payments import Payment, PaymentStatus, ProviderEvent
from dashboard.providers.base import ProviderUnavailable
from dashboard.providers.sandbox import SandboxProvider
from dashboard.services.orders import OrderService
from dashboard.services.payments import NewPaymentLink, PaymentService
from dashboard.store.cursors import CursorCodec

_REFERENCES = (
    "Invoice {n}",
    "Order {n}",
    "INV-{n}",
    "Deposit {n}",
    "Rent flat {d}",
    "Consulting {m}/26",
    "Subscription {mon}",
    "Tickets {n}",
    "Repair job {n}",
    "Catering {n}",
)
_PAYERS = (
    "Amelia Hughes", "Oliver Smith", "Isla Patel", "Noah Williams", "Sofia Rossi",
    "Lucas Müller", "Chloé Martin", "Jack O'Brien", "Freya Jones", "Mateo García",
)  # fmt: skip
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# What happens to the payments, roughly as in a real account.
_OUTCOMES = (
    ("paid", 55),
    ("awaiting", 12),
    ("declined", 8),
    ("declined_then_paid", 6),
    ("expired", 9),
    ("cancelled", 6),
    ("processing", 2),
    ("creation_failed", 2),
)


class _DemoClock:
    """A clock the seeding moves to each payment's moment."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def _reference(rng: random.Random) -> str:
    template = rng.choice(_REFERENCES)
    return template.format(
        n=rng.randint(100, 99999), d=rng.randint(1, 40), m=rng.randint(1, 12),
        mon=rng.choice(_MONTHS),
    )[:18]  # fmt: skip


def _amount_minor(rng: random.Random) -> int:
    if rng.random() < 0.4:
        return rng.choice((500, 1000, 1250, 2000, 2500, 4999, 5000, 9900, 10000, 25000))
    return rng.randint(199, 250_000)


def seed_demo_payments(
    service: PaymentService, sandbox: SandboxProvider, clock: _DemoClock, user_id: str,
    count: int, rng: random.Random, progress: Progress | None = None,
) -> dict[str, int]:  # fmt: skip
    """Create ``count`` payments over the last 90 days; return how many ended in each status."""
    start = datetime.now(UTC)
    outcomes = [outcome for outcome, _ in _OUTCOMES]
    weights = [weight for _, weight in _OUTCOMES]
    made: dict[str, int] = {}
    for _ in range(count):
        created = start - timedelta(seconds=rng.randint(0, 90 * 24 * 3600))
        clock.now = created
        outcome = rng.choices(outcomes, weights)[0]
        if outcome == "processing" and created < start - timedelta(hours=1):
            outcome = "paid"  # a bank answers within the hour
        payer = rng.choice(_PAYERS) if rng.random() < 0.7 else None
        request = NewPaymentLink(
            payment_id=new_id(),
            amount_minor=_amount_minor(rng),
            currency="GBP" if rng.random() < 0.7 else "EUR",
            reference=_reference(rng),
            payer_name=payer,
            payer_email=(
                f"{payer.split()[0].lower()}@example.com" if payer and rng.random() < 0.6 else None
            ),
            expires_at=created + timedelta(hours=24),
        )
        payment = _create(service, sandbox, user_id, request, outcome == "creation_failed")
        _play_outcome(service, sandbox, clock, payment, outcome, created)
        if start >= payment.expires_at:
            # An unpaid link from before yesterday has expired by now, as the sync would record.
            clock.now = start
            _apply(service, sandbox.expire_if_due(payment.provider_link_id or ""))
        final = service.get_payment(user_id, payment.payment_id)
        made[final.status.value] = made.get(final.status.value, 0) + 1
        if progress:
            progress.update(1)
    return made


def _create(
    service: PaymentService,
    sandbox: SandboxProvider,
    user_id: str,
    request: NewPaymentLink,
    fail: bool,
) -> Payment:
    actor = Actor.system(user_id)
    if not fail:
        return service.create_payment_link(actor, request)
    outage = ProviderUnavailable("demo: provider outage")
    with mock.patch.object(sandbox, "create_link", side_effect=outage):
        return service.create_payment_link(actor, request)


def _play_outcome(
    service: PaymentService,
    sandbox: SandboxProvider,
    clock: _DemoClock,
    payment: Payment,
    outcome: str,
    created: datetime,
) -> None:
    if payment.status is not PaymentStatus.AWAITING_PAYMENT:
        return
    link = _link_id(payment)
    clock.now = created + timedelta(minutes=5)
    if outcome in ("declined", "declined_then_paid"):
        _apply(service, sandbox.decline(link))
        clock.now += timedelta(minutes=7)
    if outcome in ("paid", "declined_then_paid"):
        _apply(service, sandbox.pay(link))
    elif outcome == "processing":
        _apply(service, sandbox.start_attempt(link))  # the bank has not answered yet
    elif outcome == "cancelled":
        service.cancel_payment(Actor.system(payment.user_id), payment.payment_id)
    elif outcome == "expired":
        clock.now = payment.expires_at + timedelta(minutes=1)
        _apply(service, sandbox.expire_if_due(link))


_PRODUCTS = (
    ("Ceramic mug", "9.50"), ("Linen apron", "24.00"), ("Walnut chopping board", "48.00"),
    ("Espresso beans 1kg", "27.90"), ("Wool throw", "89.00"), ("Gift card", "50.00"),
    ("Cast-iron pan", "64.50"), ("Notebook set", "12.00"),
)  # fmt: skip
# What becomes of a demo order: left pending, link sent and unpaid, paid, or cancelled.
_ORDER_OUTCOMES = (("pending", 15), ("requested", 20), ("paid", 55), ("cancelled", 10))


def seed_demo_orders(
    orders: OrderService, service: PaymentService, sandbox: SandboxProvider, clock: _DemoClock,
    user_id: str, count: int, rng: random.Random,
) -> int:  # fmt: skip
    """Create ``count`` orders over the last 30 days, most of them paid through their link."""
    actor = Actor.system(user_id)
    start = datetime.now(UTC)
    outcomes = [outcome for outcome, _ in _ORDER_OUTCOMES]
    weights = [weight for _, weight in _ORDER_OUTCOMES]
    # Oldest first, each id minted at its order's moment: ids sort as the orders' times do, and
    # the list's Created filter (a range of ids) finds each order on the day it shows.
    moments = sorted(
        start - timedelta(seconds=rng.randint(3600, 30 * 24 * 3600)) for _ in range(count)
    )
    for moment in moments:
        clock.now = moment
        product, price = rng.choice(_PRODUCTS)
        customer = rng.choice(_PAYERS)
        order = orders.create_order(
            actor,
            id_minted_at(moment),
            OrderFields(
                customer_name=customer,
                customer_email=f"{customer.split()[0].lower()}@example.com",
                product_name=product,
                quantity=rng.choice((1, 1, 1, 2, 3, 5)),
                unit_price=Decimal(price),
                currency="GBP" if rng.random() < 0.8 else "EUR",
            ),
        )
        outcome = rng.choices(outcomes, weights)[0]
        if outcome in ("requested", "paid"):
            clock.now += timedelta(minutes=10)
            payment = orders.request_payment(actor, order.order_id)
            if outcome == "paid":
                clock.now += timedelta(minutes=30)
                _apply(service, sandbox.pay(_link_id(payment)))
            elif start >= payment.expires_at:
                # An unpaid link from before yesterday has expired, and its order failed with it.
                clock.now = start
                _apply(service, sandbox.expire_if_due(_link_id(payment)))
        elif outcome == "cancelled":
            orders.cancel_order(actor, order.order_id)
    return count


def _link_id(payment: Payment) -> str:
    """Return the sandbox link of a payment awaiting payment (the sandbox made one)."""
    assert payment.provider_link_id is not None, "a payment awaiting payment has its link"
    return payment.provider_link_id


def _apply(service: PaymentService, events: Iterable[ProviderEvent]) -> None:
    for event in events:
        service.apply_provider_event(event)


@click.command("seed-demo")
@with_appcontext
@click.option("--user", "user_id", required=True, help="The merchant: an OIDC subject.")
@click.option("--count", default=200, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--orders", "order_count", default=20, show_default=True, type=click.IntRange(0))
@click.option("--seed", default=None, type=int, help="Random seed, for repeatable data.")
def seed_demo_command(user_id: str, count: int, order_count: int, seed: int | None) -> None:
    """Create realistic demo payments and orders for a merchant (development only)."""
    provider = current_app.extensions["payment_provider"]
    if not isinstance(provider, SandboxProvider):
        raise click.ClickException("seed-demo needs PAYMENT_PROVIDER=sandbox.")
    clock = _DemoClock()
    sandbox = provider.with_clock(clock)
    service = current_app.extensions["payment_service"].with_clock(clock, provider=sandbox)
    base_url = current_app.extensions["settings"].public_base_url
    with (
        current_app.test_request_context(base_url=base_url),
        click.progressbar(
            length=count, label=f"Seeding {count} payments for {user_id}"
        ) as progress,
    ):
        rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
        made = seed_demo_payments(service, sandbox, clock, user_id, count, rng, progress)
        orders = OrderService(
            current_app.extensions["store"].orders,
            service,
            CursorCodec(current_app.config["SECRET_KEY"]),
            clock,
        )
        seed_demo_orders(orders, service, sandbox, clock, user_id, order_count, rng)
    for status, number in sorted(made.items()):
        click.echo(f"{number:7d}  {PaymentStatus(status).label}")
    click.echo(f"{order_count:7d}  orders (each paid one adds a completed payment)")
