"""The audit log is exactly the changes people and API keys made, in order, with their actors.

A hypothesis state machine creates, cancels and retries payment links, creates, changes, cancels
and deletes orders, creates and revokes API keys, as Alice (signed in) or the shop's API key, and
lets the provider's webhook pay links in between. After every step the log, oldest first, must
equal the list of changes the machine expects: one entry per change that landed, none for a
refused one, none for the webhook.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from moto import mock_aws

from dashboard.core.errors import DomainError
from dashboard.core.ids import new_id
from dashboard.domain.audit import AuditAction
from dashboard.domain.orders import OrderFields, OrderStatus
from dashboard.domain.payments import PaymentStatus
from dashboard.providers.base import ProviderUnavailable
from dashboard.providers.sandbox import LinkNotPayable
from dashboard.services.api_keys import ApiKeyService
from dashboard.services.payments import NewPaymentLink
from tests.conftest import moto_world
from tests.unit.audit_support import ALICE, SHOP_KEY, logged

ACTORS = st.sampled_from([ALICE, SHOP_KEY])
INDEX = st.integers(0, 1000)


class AuditMachine(RuleBasedStateMachine):
    """Random changes by two actors; the audit log must list each one that landed."""

    @initialize()
    def start(self):
        self.aws = mock_aws()
        self.aws.start()
        world = moto_world("audit-sm-")
        self.store, self.clock, self.sandbox = world.store, world.clock, world.sandbox
        self.payments, self.orders = world.payments, world.orders
        self.keys = ApiKeyService(self.store.api_keys, self.clock)
        self.links: list[str] = []
        self.order_ids: list[str] = []
        self.key_ids: list[str] = []
        # What the log must hold, oldest first: (action, who, target id).
        self.expected: list[tuple[AuditAction, str | None, str]] = []

    def teardown(self):
        if hasattr(self, "aws"):
            self.aws.stop()

    def _step(self):
        self.clock.advance(seconds=1)

    def _payment(self, index):
        payment_id = self.links[index % len(self.links)]
        return self.payments.get_payment(ALICE.account_id, payment_id)

    # Payment links ----------------------------------------------------------------------------

    @rule(actor=ACTORS, provider_down=st.booleans(), pence=st.integers(1, 99_999))
    def create_link(self, actor, provider_down, pence):
        self._step()
        request = NewPaymentLink(new_id(), pence, "GBP", f"Ref {len(self.links)}")
        if provider_down:
            original = self.sandbox.create_link

            def down(_request):
                raise ProviderUnavailable("down")

            self.sandbox.create_link = down
            try:
                self.payments.create_payment_link(actor, request)
            finally:
                self.sandbox.create_link = original
        else:
            self.payments.create_payment_link(actor, request)
        self.links.append(request.payment_id)
        self.expected.append((AuditAction.PAYMENT_LINK_CREATED, actor.who, request.payment_id))

    @precondition(lambda self: self.links)
    @rule(actor=ACTORS, index=INDEX)
    def cancel_link(self, actor, index):
        self._step()
        payment = self._payment(index)
        allowed = self.payments.can_cancel(payment)
        try:
            self.payments.cancel_payment(actor, payment.payment_id)
        except DomainError:
            assert not allowed
            return
        assert allowed
        self.expected.append((AuditAction.PAYMENT_LINK_CANCELLED, actor.who, payment.payment_id))

    @precondition(lambda self: self.links)
    @rule(actor=ACTORS, index=INDEX)
    def retry_link(self, actor, index):
        self._step()
        payment = self._payment(index)
        try:
            self.payments.retry_link_creation(actor, payment.payment_id)
        except DomainError:
            assert payment.status is not PaymentStatus.CREATION_FAILED
            return
        assert payment.status is PaymentStatus.CREATION_FAILED
        self.expected.append((AuditAction.PAYMENT_LINK_RETRIED, actor.who, payment.payment_id))

    @precondition(lambda self: self.links)
    @rule(index=INDEX)
    def webhook_pays_a_link(self, index):
        self._step()
        payment = self._payment(index)
        if not payment.provider_link_id:
            return
        try:
            events = self.sandbox.pay(payment.provider_link_id)
        except LinkNotPayable:
            return
        for event in events:
            self.payments.apply_provider_event(event)  # the provider's doing: no entry

    # Orders -----------------------------------------------------------------------------------

    @rule(actor=ACTORS, quantity=st.integers(1, 5))
    def create_order(self, actor, quantity):
        self._step()
        fields = OrderFields(
            customer_name="Ada Lovelace",
            customer_email="ada@example.com",
            product_name="Manual",
            quantity=quantity,
            unit_price=Decimal("12.50"),
            currency="GBP",
        )
        order = self.orders.create_order(actor, new_id(), fields)
        self.order_ids.append(order.order_id)
        self.expected.append((AuditAction.ORDER_CREATED, actor.who, order.order_id))

    @precondition(lambda self: self.order_ids)
    @rule(actor=ACTORS, index=INDEX, quantity=st.integers(1, 5))
    def change_order(self, actor, index, quantity):
        self._step()
        order_id = self.order_ids[index % len(self.order_ids)]
        before = self.orders.get_order(ALICE.account_id, order_id)
        try:
            self.orders.update_order(actor, order_id, OrderFields(quantity=quantity))
        except DomainError:
            assert before.status is OrderStatus.CANCELLED
            return
        if quantity != before.quantity:
            self.expected.append((AuditAction.ORDER_CHANGED, actor.who, order_id))

    @precondition(lambda self: self.order_ids)
    @rule(actor=ACTORS, index=INDEX)
    def cancel_order(self, actor, index):
        self._step()
        order_id = self.order_ids[index % len(self.order_ids)]
        before = self.orders.get_order(ALICE.account_id, order_id)
        self.orders.cancel_order(actor, order_id)
        if before.status is not OrderStatus.CANCELLED:
            self.expected.append((AuditAction.ORDER_CANCELLED, actor.who, order_id))

    @precondition(lambda self: self.order_ids)
    @rule(actor=ACTORS, index=INDEX)
    def delete_order(self, actor, index):
        self._step()
        order_id = self.order_ids.pop(index % len(self.order_ids))
        self.orders.delete_order(actor, order_id)
        self.expected.append((AuditAction.ORDER_DELETED, actor.who, order_id))

    # API keys ---------------------------------------------------------------------------------

    @precondition(lambda self: len(self.key_ids) < 20)
    @rule(actor=ACTORS)
    def create_key(self, actor):
        self._step()
        key, _ = self.keys.create_key(actor, f"Key {len(self.key_ids)}")
        self.key_ids.append(key.key_id)
        self.expected.append((AuditAction.API_KEY_CREATED, actor.who, key.key_id))

    @precondition(lambda self: self.key_ids)
    @rule(actor=ACTORS, index=INDEX)
    def revoke_key(self, actor, index):
        self._step()
        key_id = self.key_ids[index % len(self.key_ids)]
        was_active = self.store.api_keys.get(key_id).key.is_active
        self.keys.revoke_key(actor, key_id)
        if was_active:
            self.expected.append((AuditAction.API_KEY_REVOKED, actor.who, key_id))

    @invariant()
    def the_log_is_the_changes_made(self):
        if not hasattr(self, "store"):
            return
        entries = logged(self.store, ALICE.account_id)
        assert [(e.action, e.actor, e.target_id) for e in entries] == self.expected
        by_actor = {ALICE.who: ALICE, SHOP_KEY.who: SHOP_KEY}
        for entry in entries:
            actor = by_actor[entry.actor]
            assert (entry.via, entry.actor_label, entry.ip_address) == (
                actor.channel,
                actor.label,
                actor.ip_address,
            )


AuditMachine.TestCase.settings = settings(max_examples=12, stateful_step_count=15, deadline=None)
test_the_audit_log_equals_the_changes_made = AuditMachine.TestCase
