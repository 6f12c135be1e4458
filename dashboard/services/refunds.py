"""Refund use cases: ask for a refund, retry one that was not sent, and keep them in step.

Routes and the API call these; these call the payment repository and the provider. A refund
lives in its payment's item (``Payment.refunds``) and every change of one is a write of the
payment, conditional on the version read. So what refunds in flight reserve is read and written
together with them: of two refunds asked for at once, the second write finds the payment
changed, reads it again, and is refused if the first left too little.

Never a refund the provider made that we do not record: the request's idempotency key derives
from our refund id, the provider carries our id back as metadata, and before a refund is sent
again the provider's list of the payment's refunds is read and one carrying our id is adopted.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from dashboard.core.clock import utc_now
from dashboard.domain.actor import Actor
from dashboard.domain.audit import AuditAction, refund_audit_note
from dashboard.domain.money import format_money
from dashboard.domain.payments import (
    Payment,
    PaymentStatus,
    ProviderEvent,
    ProviderEventKind,
    apply_event,
)
from dashboard.domain.refunds import (
    REFUND_REASON_MAX_LENGTH,
    Refund,
    RefundNotAllowed,
    RefundStatus,
    RefundStep,
    RefundTooLarge,
)
from dashboard.providers.base import (
    PaymentProvider,
    ProviderRefund,
    ProviderRejected,
    ProviderUnavailable,
    RefundRequest,
)
from dashboard.services.payments import STUCK_CREATION_AFTER, PaymentNotFound, find_payment
from dashboard.store.payments import PaymentRepository, StaleWrite

log = logging.getLogger(__name__)

_MAX_WRITE_ATTEMPTS = 5


class RefundNotFound(PaymentNotFound):
    """Raised for a refund id the payment does not have."""

    title = "Refund not found"
    message = "This payment has no such refund."


@dataclass(frozen=True)
class NewRefund:
    """What the merchant asked for: validated amount and reason, and the id minted for it."""

    refund_id: str
    amount_minor: int
    reason: str | None = None


class RefundService:
    """The refund use cases of one deployment: the payment repository and the provider."""

    def __init__(
        self,
        repository: PaymentRepository,
        provider: PaymentProvider,
        clock: Callable[[], datetime] = utc_now,
    ):
        self._repository = repository
        self._provider = provider
        self._now = clock

    # Asking --------------------------------------------------------------------------------

    def request_refund(self, actor: Actor, payment_id: str, request: NewRefund) -> Payment:
        """Reserve the amount, send the refund to the provider, and return the payment.

        Raises RefundNotAllowed (the payment cannot be refunded: 409) or RefundTooLarge (more
        than is left: 422) and writes nothing then. The same refund id again (a double submit,
        an API retry) returns the payment with that refund, never a second one. A provider that
        is down or refuses leaves the refund ``creation_failed``: its reservation is released
        and the merchant may retry it.
        """
        for _ in range(_MAX_WRITE_ATTEMPTS):
            payment = self._get(actor.account_id, payment_id)
            existing = payment.refund(request.refund_id)
            if existing is not None:
                if self.is_stuck_creating(existing):
                    return self._resend(actor, payment, existing.refund_id)
                return payment
            check_refundable(payment, request.amount_minor)
            now = self._now()
            refund = Refund(
                refund_id=request.refund_id,
                amount_minor=request.amount_minor,
                status=RefundStatus.CREATING,
                created_at=now,
                updated_at=now,
                requested_by=actor.label,
                reason=request.reason or None,
                history=(RefundStep(RefundStatus.CREATING, now, _asked_note(payment, request)),),
            )
            note = refund_audit_note(actor, AuditAction.REFUND_REQUESTED, now, refund.refund_id)
            try:
                stored = self._repository.save(
                    payment, payment.with_refund(refund, now), audit=note
                )
            except StaleWrite:
                continue  # another change landed first: read again and decide again
            return self._send(actor, stored, refund.refund_id)
        raise StaleWrite(payment_id)

    def retry_refund(self, actor: Actor, payment_id: str, refund_id: str) -> Payment:
        """Send again a refund that could not be sent (or whose sending was cut short).

        The provider's refunds of the payment are read first: one carrying our id was made
        after all and is adopted. Otherwise the amount is reserved again (refused if too little
        is left now) and the refund is sent with the same idempotency key.
        """
        payment = self._get(actor.account_id, payment_id)
        refund = self._refund(payment, refund_id)
        stuck = self.is_stuck_creating(refund)
        if refund.status is not RefundStatus.CREATION_FAILED and not stuck:
            raise RefundNotAllowed("This refund was sent already; it does not need a retry.")
        adopted = self._adopt(actor, payment, refund_id)
        if adopted is not None:
            return adopted
        if stuck:
            return self._send(actor, payment, refund_id)
        for _ in range(_MAX_WRITE_ATTEMPTS):
            if not refund.in_doubt:  # one in doubt kept its reservation all along
                check_refundable(payment, refund.amount_minor)
            now = self._now()
            note = refund_audit_note(actor, AuditAction.REFUND_RETRIED, now, refund_id)
            retried = refund.moved(RefundStatus.CREATING, now, "Sent again.")
            try:
                stored = self._repository.save(
                    payment, payment.with_refund(retried, now), audit=note
                )
            except StaleWrite:
                payment = self._get(actor.account_id, payment_id)
                refund = self._refund(payment, refund_id)
                if refund.status is not RefundStatus.CREATION_FAILED:
                    return payment  # another retry got there first
                continue
            return self._send(actor, stored, refund_id)
        raise StaleWrite(payment_id)

    def is_stuck_creating(self, refund: Refund) -> bool:
        """Return True for a refund left ``creating`` by a request that never finished."""
        return (
            refund.status is RefundStatus.CREATING
            and self._now() - refund.updated_at > STUCK_CREATION_AFTER
        )

    # Keeping in step ------------------------------------------------------------------------

    def sync_refunds(self, actor: Actor, payment: Payment) -> Payment:
        """Read the provider's refunds of the payment and apply what changed; return it.

        For the sync command and the merchant's Refresh: webhooks are the main path. A refund
        left ``creating`` by a request that never finished is adopted or sent again.
        """
        if not any(r.needs_checking for r in payment.refunds):
            return payment
        listed = self._provider_refunds(payment)
        payment = self._apply_provider_refunds(actor, payment, listed)
        known = {r.refund_id for r in listed}
        for refund in payment.refunds:
            if self.is_stuck_creating(refund):
                payment = self._send(actor, payment, refund.refund_id)
            elif (
                refund.in_doubt
                and refund.refund_id not in known
                and self._now() - refund.updated_at > STUCK_CREATION_AFTER
            ):
                # Minutes later the provider's list has no refund of ours by this id (a request
                # still being processed there would show by now): it was never made, and its
                # reservation is released (a retry reserves again).
                payment = self._change(actor, payment, refund.refund_id, _not_in_doubt)
        return payment

    # Internals --------------------------------------------------------------------------------

    def _get(self, account_id: str, payment_id: str) -> Payment:
        return find_payment(self._repository, account_id, payment_id)

    @staticmethod
    def _refund(payment: Payment, refund_id: str) -> Refund:
        refund = payment.refund(refund_id)
        if refund is None:
            raise RefundNotFound(refund_id[:64])
        return refund

    def _request_for(self, payment: Payment, refund: Refund) -> RefundRequest:
        attempt = payment.succeeded_attempt
        if attempt is None:  # check_refundable let nothing else through
            raise RefundNotAllowed("Only a payment whose money arrived can be refunded.")
        return RefundRequest(
            payment_id=payment.payment_id,
            refund_id=refund.refund_id,
            # Stable for every send of this refund: the provider makes at most one.
            idempotency_key=f"refund-{refund.refund_id}",
            provider_payment_id=attempt.provider_payment_id,
            provider_link_id=payment.provider_link_id,
            amount_minor=refund.amount_minor,
            currency=payment.currency,
            reference=payment.reference,
        )

    def _send(self, actor: Actor, payment: Payment, refund_id: str) -> Payment:
        """Ask the provider for a ``creating`` refund and record its answer."""
        request = self._request_for(payment, self._refund(payment, refund_id))
        try:
            answer = self._provider.create_refund(request)
        except (ProviderUnavailable, ProviderRejected) as exc:
            log.warning("Refund %s of %s not sent: %s", refund_id, payment.payment_id, exc)
            # Unreachable is not refused: the provider may have made it before the answer was
            # lost, so the refund stays in doubt until the provider's list says otherwise.
            unreachable = isinstance(exc, ProviderUnavailable)
            note = (
                "The payment provider did not answer; it is asked before the refund is sent again."
                if unreachable
                else f"The payment provider refused the refund: {exc}"
            )

            def not_sent(_payment: Payment, refund: Refund) -> Refund | None:
                if refund.status is not RefundStatus.CREATING:
                    return None  # a report got there first: the refund was made
                failed = refund.moved(RefundStatus.CREATION_FAILED, self._now(), note, note)
                return dataclasses.replace(failed, in_doubt=unreachable)

            return self._change(actor, payment, refund_id, not_sent)
        # Ours by construction, whether or not the provider echoed our id back.
        answer = dataclasses.replace(answer, refund_id=refund_id)
        return self._apply_provider_refunds(actor, payment, [answer])

    def _resend(self, actor: Actor, payment: Payment, refund_id: str) -> Payment:
        adopted = self._adopt(actor, payment, refund_id)
        return adopted if adopted is not None else self._send(actor, payment, refund_id)

    def _adopt(self, actor: Actor, payment: Payment, refund_id: str) -> Payment | None:
        """Record a refund of ours that the provider holds, or return None if it has none."""
        found = [r for r in self._provider_refunds(payment) if r.refund_id == refund_id]
        if not found:
            return None
        log.info("Refund %s found at the provider; adopting it", refund_id)
        return self._apply_provider_refunds(actor, payment, found)

    def _provider_refunds(self, payment: Payment) -> list[ProviderRefund]:
        attempt = payment.succeeded_attempt
        if attempt is None:
            return []
        return self._provider.refunds(attempt.provider_payment_id, payment.provider_link_id)

    def _apply_provider_refunds(
        self, actor: Actor, payment: Payment, refunds: list[ProviderRefund]
    ) -> Payment:
        """Apply the provider's view of refunds as events, one write per refund that moved."""
        attempt = payment.succeeded_attempt
        for found in refunds:
            ours = next(
                (
                    r
                    for r in payment.refunds
                    if r.provider_refund_id == found.provider_refund_id
                    or (found.refund_id and r.refund_id == found.refund_id)
                ),
                None,
            )
            if ours is None:
                continue  # made elsewhere (the provider's console): not ours to count
            event = ProviderEvent(
                event_id=f"poll:{found.provider_refund_id}:{found.status.value}",
                provider=payment.provider,
                kind=ProviderEventKind.REFUND_UPDATED,
                provider_link_id=None,
                occurred_at=self._now(),
                provider_payment_id=attempt.provider_payment_id if attempt else None,
                provider_refund_id=found.provider_refund_id,
                refund_status=found.status,
                refund_id=ours.refund_id,
                failure_reason=found.failure_reason,
            )
            payment = self._change(actor, payment, ours.refund_id, self._applying(event))
        return payment

    def _applying(self, event: ProviderEvent) -> Callable[[Payment, Refund], Refund | None]:
        """Return the change that applies a provider's report to the payment as it is then."""

        def change(current: Payment, _refund: Refund) -> Refund | None:
            return _moved_refund(current, event, self._now())

        return change

    def _change(
        self,
        actor: Actor,
        payment: Payment,
        refund_id: str,
        change: Callable[[Payment, Refund], Refund | None],
    ) -> Payment:
        """Write ``change(payment, refund)`` of one refund, reading again if the payment moved."""
        for _ in range(_MAX_WRITE_ATTEMPTS):
            refund = self._refund(payment, refund_id)
            changed = change(payment, refund)
            if changed is None or changed == refund:
                return payment
            now = self._now()
            note = (
                refund_audit_note(actor, AuditAction.REFUND_STATUS_CHANGED, now, refund_id)
                if changed.status is not refund.status
                else None
            )
            try:
                return self._repository.save(payment, payment.with_refund(changed, now), audit=note)
            except StaleWrite:
                payment = self._get(payment.user_id, payment.payment_id)
        raise StaleWrite(payment.payment_id)


def _not_in_doubt(_payment: Payment, refund: Refund) -> Refund | None:
    """Return the refund no longer in doubt (its creation surely failed), or None if it is not."""
    if not refund.in_doubt or refund.status is not RefundStatus.CREATION_FAILED:
        return None
    return dataclasses.replace(refund, in_doubt=False)


def _moved_refund(payment: Payment, event: ProviderEvent, now: datetime) -> Refund | None:
    """Return the refund ``event`` names as the event leaves it, or None if it is unchanged."""
    updated = apply_event(payment, event, now)
    if updated is None or event.refund_id is None:
        return None
    return updated.refund(event.refund_id)


def check_refundable(payment: Payment, amount_minor: int) -> None:
    """Raise RefundNotAllowed or RefundTooLarge unless ``amount_minor`` may be refunded now."""
    if payment.status is not PaymentStatus.COMPLETED or payment.succeeded_attempt is None:
        raise RefundNotAllowed("Only a completed payment can be refunded.")
    left = payment.refundable_minor
    if left <= 0:
        raise RefundNotAllowed(
            "Nothing is left to refund: refunds already cover the whole payment."
        )
    if amount_minor <= 0:
        raise RefundTooLarge(left, "Enter an amount greater than zero.")
    if amount_minor > left:
        most = format_money(left, payment.currency)
        raise RefundTooLarge(left, f"At most {most} can still be refunded.")


def _asked_note(payment: Payment, request: NewRefund) -> str:
    amount = format_money(request.amount_minor, payment.currency)
    return f"Refund of {amount} asked for." + (
        f" Reason: {request.reason}" if request.reason else ""
    )


__all__ = [
    "REFUND_REASON_MAX_LENGTH",
    "NewRefund",
    "RefundNotFound",
    "RefundService",
    "check_refundable",
]
