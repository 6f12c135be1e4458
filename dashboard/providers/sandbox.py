"""The sandbox payment provider: a stand-in for TrueLayer in development and tests.

It keeps its own links (as a real provider would), serves a hosted payment page under
``/sandbox/`` where a payer can **Pay now** or **Decline**, and reports every step of an attempt
as a ProviderEvent in TrueLayer v3 statuses, through the same ``apply_provider_event`` path that
TrueLayer's webhooks use. It is refused in production.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from uuid6 import uuid7

from dashboard.domain.payments import AttemptStatus, ProviderEvent, ProviderEventKind
from dashboard.domain.refunds import RefundStatus
from dashboard.providers import sandbox_refunds
from dashboard.providers.base import (
    CreatedLink,
    LinkRequest,
    LinkState,
    ProviderRefund,
    ProviderRejected,
    RefundRequest,
)
from dashboard.providers.sandbox_refunds import INSUFFICIENT_FUNDS, RefundMove
from dashboard.store.sandbox_links import (
    SandboxAttempt,
    SandboxLink,
    SandboxLinkConflict,
    SandboxLinkRepository,
    SandboxRefund,
)

NAME = "sandbox"
# The reason a declined sandbox attempt fails with, as TrueLayer words it.
DECLINE_REASON = "provider_rejected"
# An attempt starts (the payer picks their bank and is sent there), then the bank decides. In
# between, the link cannot be disabled outright: it is "disabling" until the attempt ends.
_START_STEPS = (AttemptStatus.AUTHORIZATION_REQUIRED, AttemptStatus.AUTHORIZING)
_PAY_STEPS = (AttemptStatus.AUTHORIZED, AttemptStatus.EXECUTED)
_DECLINE_STEPS = (AttemptStatus.FAILED,)
# How long a payer may stay at their bank before the attempt fails as expired.
ATTEMPT_TIMEOUT = timedelta(minutes=15)


class LinkNotPayable(Exception):
    """Raised when a payer tries to pay a link that is paid, disabled or expired."""


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


class SandboxProvider:
    """Implements PaymentProvider with links stored in DynamoDB and a hosted page of its own."""

    name = NAME

    def __init__(
        self,
        links: SandboxLinkRepository,
        secret: bytes,
        hosted_page_url: Callable[[str], str],
        clock: Callable[[], datetime],
    ):
        self._links = links
        self._secret = secret
        self._hosted_page_url = hosted_page_url
        self._now = clock

    def with_clock(self, clock: Callable[[], datetime]) -> SandboxProvider:
        """Return the same provider on another clock (demo data lives in the past)."""
        return SandboxProvider(self._links, self._secret, self._hosted_page_url, clock)

    # PaymentProvider -----------------------------------------------------------------------

    def create_link(self, request: LinkRequest) -> CreatedLink:
        """Create the link, or return the one made earlier with the same idempotency key."""
        if request.currency not in ("GBP", "EUR"):
            raise ProviderRejected(f"currency {request.currency} is not supported")
        link_id = self._link_id_for(request.idempotency_key)
        self._links.add_if_new(
            SandboxLink(
                link_id=link_id,
                amount_minor=request.amount_minor,
                currency=request.currency,
                reference=request.reference,
                return_uri=request.return_uri,
                expires_at=_iso(request.expires_at),
                created_at=_iso(self._now()),
            )
        )
        return CreatedLink(provider_link_id=link_id, url=self._hosted_page_url(link_id))

    def link_state(self, provider_link_id: str) -> LinkState:
        """Return the link's status and events that describe its attempts as they are now."""
        link = self._links.get(provider_link_id)
        if link is None:
            return LinkState("disabled")
        if any(self._abandoned(a) for a in link.attempts):
            link = self._update(provider_link_id, self._fail_abandoned_attempts)
        events = [
            self._attempt_event(link, attempt, AttemptStatus(attempt.status))
            for attempt in link.attempts
        ]
        if link.status == "disabled":
            events.append(self._disabled_event(link))
        return LinkState(link.status, tuple(events))

    def disable_link(self, provider_link_id: str) -> None:
        """Stop the link from accepting payments; one at the payer's bank still ends."""
        self._update(provider_link_id, lambda link: _disable(link, "cancelled"))

    def create_refund(self, request: RefundRequest) -> ProviderRefund:
        """Make a pending refund, or return the one made earlier with the same idempotency key.

        Raises ProviderRejected for an unknown payment, one that has not succeeded, a
        non-positive amount, or more than is left of the payment.
        """
        if request.provider_link_id is None or self._links.get(request.provider_link_id) is None:
            raise ProviderRejected(f"payment {request.provider_payment_id} was not found")
        refund_id = self._derived_id("sbx-refund", request.idempotency_key)

        def add(link: SandboxLink) -> None:
            sandbox_refunds.add_refund(link, request, refund_id, _iso(self._now()))

        link = self._update(request.provider_link_id, add)
        refund = _refund_of(link, request.provider_payment_id, refund_id)
        return sandbox_refunds.as_provider_refund(refund)

    def refunds(
        self, provider_payment_id: str, provider_link_id: str | None
    ) -> list[ProviderRefund]:
        """Return every refund of the attempt as it is now (none for an unknown one)."""
        link = self._links.get(provider_link_id) if provider_link_id else None
        attempt = sandbox_refunds.find_attempt(link, provider_payment_id) if link else None
        if attempt is None:
            return []
        return [sandbox_refunds.as_provider_refund(r) for r in attempt.refunds]

    # The hosted page ------------------------------------------------------------------------

    def get_link(self, link_id: str) -> SandboxLink | None:
        """Return the link for the hosted page, or None for an unknown id."""
        return self._links.get(link_id)

    def is_expired(self, link: SandboxLink) -> bool:
        """Return True once the link is past its expiry time."""
        return self._now() >= datetime.fromisoformat(link.expires_at)

    def expire_if_due(self, link_id: str) -> list[ProviderEvent]:
        """Disable a link that is past its expiry and return the event saying so."""
        link = self._links.get(link_id)
        if link is None or link.status != "active" or not self.is_expired(link):
            return []
        link = self._update(link_id, lambda current: _disable(current, "expired"))
        return [self._disabled_event(link)]

    def start_attempt(self, link_id: str) -> list[ProviderEvent]:
        """Start an attempt (the payer goes to their bank) and return its first events.

        Raises LinkNotPayable when the link is paid, disabled or expired. Until the attempt is
        finished, disabling the link only makes it ``disabling``.
        """
        attempt_id = f"sbx-pay-{uuid7()}"

        def add_attempt(link: SandboxLink) -> None:
            if link.status != "active" or self.is_expired(link):
                raise LinkNotPayable(link_id)
            if any(AttemptStatus(a.status).succeeded for a in link.attempts):
                raise LinkNotPayable(link_id)
            if _attempt_in_flight(link):
                # A single-payment link: one payer at their bank at a time (a double click,
                # a second device), so it can never be paid twice.
                raise LinkNotPayable(link_id)
            now = _iso(self._now())
            link.attempts.append(
                SandboxAttempt(
                    payment_id=attempt_id,
                    status=_START_STEPS[-1].value,
                    created_at=now,
                    updated_at=now,
                )
            )

        link = self._update(link_id, add_attempt)
        attempt = next(a for a in link.attempts if a.payment_id == attempt_id)
        return [self._attempt_event(link, attempt, status) for status in _START_STEPS]

    def finish_attempt(self, link_id: str, attempt_id: str, paid: bool) -> list[ProviderEvent]:
        """Let the payer's bank execute (``paid``) or decline the attempt; return its events.

        A link that was being disabled meanwhile is disabled now that nobody is paying on it.
        """
        steps = _PAY_STEPS if paid else _DECLINE_STEPS
        closed_now = False

        def decide(link: SandboxLink) -> None:
            nonlocal closed_now
            attempt = next((a for a in link.attempts if a.payment_id == attempt_id), None)
            if attempt is None or not AttemptStatus(attempt.status).in_flight:
                raise LinkNotPayable(link_id)  # the bank has decided already
            attempt.status = steps[-1].value
            attempt.updated_at = _iso(self._now())
            attempt.failure_reason = None if paid else DECLINE_REASON
            closed_now = link.status == "disabling" and not _attempt_in_flight(link)
            if closed_now:
                link.status = "disabled"

        link = self._update(link_id, decide)
        attempt = next(a for a in link.attempts if a.payment_id == attempt_id)
        events = [self._attempt_event(link, attempt, status) for status in steps]
        if closed_now:
            events.append(self._disabled_event(link))  # the merchant's cancel completes
        return events

    # The payment controls page --------------------------------------------------------------

    def settle(self, link_id: str, attempt_id: str) -> list[ProviderEvent]:
        """Settle an executed attempt (the money reached the merchant) and return its event.

        Raises PaymentNotSettleable when the attempt is not executed.
        """

        def settle_it(link: SandboxLink) -> None:
            sandbox_refunds.settle_attempt(link, attempt_id, _iso(self._now()))

        link = self._update(link_id, settle_it)
        attempt = sandbox_refunds.find_attempt(link, attempt_id)
        assert attempt is not None
        return [self._attempt_event(link, attempt, AttemptStatus.SETTLED)]

    def execute_refund(self, link_id: str, attempt_id: str, refund_id: str) -> list[ProviderEvent]:
        """Execute a pending or authorised refund of a settled payment; return its event.

        Raises RefundNotMovable otherwise (TrueLayer starts refunds only on settled payments).
        """
        return self._move_refund(link_id, attempt_id, refund_id, sandbox_refunds.EXECUTE)

    def fail_refund(
        self, link_id: str, attempt_id: str, refund_id: str, reason: str = INSUFFICIENT_FUNDS
    ) -> list[ProviderEvent]:
        """Fail a pending or authorised refund for ``reason``; return its event."""
        return self._move_refund(link_id, attempt_id, refund_id, sandbox_refunds.FAIL, reason)

    def return_refund(self, link_id: str, attempt_id: str, refund_id: str) -> list[ProviderEvent]:
        """Fail an executed refund as returned by the payer's bank; return its event."""
        return self._move_refund(
            link_id, attempt_id, refund_id, sandbox_refunds.RETURN, sandbox_refunds.RETURNED
        )

    def _move_refund(
        self,
        link_id: str,
        attempt_id: str,
        refund_id: str,
        move: RefundMove,
        reason: str | None = None,
    ) -> list[ProviderEvent]:
        def change(link: SandboxLink) -> None:
            now = _iso(self._now())
            sandbox_refunds.move_refund(link, attempt_id, refund_id, move, now, reason)

        link = self._update(link_id, change)
        refund = _refund_of(link, attempt_id, refund_id)
        return [self._refund_event(attempt_id, refund, move.event_suffix)]

    def _abandoned(self, attempt: SandboxAttempt) -> bool:
        """Return True for an attempt left at the bank past the time a bank allows."""
        started = datetime.fromisoformat(attempt.created_at)
        return AttemptStatus(attempt.status).in_flight and self._now() - started > ATTEMPT_TIMEOUT

    def _fail_abandoned_attempts(self, link: SandboxLink) -> None:
        # As a bank does when the payer never finishes: the attempt fails, and a link that was
        # being disabled closes. Without it a sandbox payment could stay processing for good.
        for attempt in link.attempts:
            if self._abandoned(attempt):
                attempt.status = AttemptStatus.FAILED.value
                attempt.updated_at = _iso(self._now())
                attempt.failure_reason = "expired"
        if link.status == "disabling" and not _attempt_in_flight(link):
            link.status = "disabled"

    def pay(self, link_id: str) -> list[ProviderEvent]:
        """Run a successful attempt and return its events, one per status it passed."""
        started = self.start_attempt(link_id)
        return started + self.finish_attempt(link_id, attempt_id_of(started), paid=True)

    def decline(self, link_id: str) -> list[ProviderEvent]:
        """Run an attempt that the payer's bank declines and return its events."""
        started = self.start_attempt(link_id)
        return started + self.finish_attempt(link_id, attempt_id_of(started), paid=False)

    def _update(self, link_id: str, change: Callable[[SandboxLink], None]) -> SandboxLink:
        for _ in range(5):
            link = self._links.get(link_id)
            if link is None:
                raise LinkNotPayable(link_id)
            change(link)
            try:
                self._links.save(link)
                return link
            except SandboxLinkConflict:
                continue
        raise SandboxLinkConflict(link_id)

    def _attempt_event(
        self, link: SandboxLink, attempt: SandboxAttempt, status: AttemptStatus
    ) -> ProviderEvent:
        return ProviderEvent(
            event_id=f"{attempt.payment_id}:{status.value}",
            provider=NAME,
            kind=ProviderEventKind.ATTEMPT_UPDATED,
            provider_link_id=link.link_id,
            provider_payment_id=attempt.payment_id,
            attempt_status=status,
            failure_reason=attempt.failure_reason if status is AttemptStatus.FAILED else None,
            occurred_at=datetime.fromisoformat(attempt.updated_at),
        )

    def _disabled_event(self, link: SandboxLink) -> ProviderEvent:
        return ProviderEvent(
            event_id=f"{link.link_id}:disabled",
            provider=NAME,
            kind=ProviderEventKind.LINK_DISABLED,
            provider_link_id=link.link_id,
            disabled_reason=link.disabled_reason,
            occurred_at=self._now(),
        )

    def _refund_event(
        self, attempt_id: str, refund: SandboxRefund, event_suffix: str
    ) -> ProviderEvent:
        return ProviderEvent(
            event_id=f"{refund.refund_id}:{event_suffix}",  # one per step: a return is its own
            provider=NAME,
            kind=ProviderEventKind.REFUND_UPDATED,
            provider_link_id=None,  # as TrueLayer's refund webhooks: they name the payment only
            occurred_at=datetime.fromisoformat(refund.updated_at),
            provider_payment_id=attempt_id,
            provider_refund_id=refund.refund_id,
            refund_status=RefundStatus(refund.status),
            failure_reason=refund.failure_reason,
            refund_id=refund.our_refund_id,
        )

    def _link_id_for(self, idempotency_key: str) -> str:
        # Derived from the idempotency key with a secret: the same request gives the same link,
        # and nobody can guess a link id (it is the payer's way in to the hosted page).
        return self._derived_id("sbx-link", idempotency_key)

    def _derived_id(self, prefix: str, idempotency_key: str) -> str:
        digest = hmac.new(self._secret, idempotency_key.encode(), hashlib.sha256).hexdigest()
        return f"{prefix}-{digest[:32]}"


def attempt_id_of(events: list[ProviderEvent]) -> str:
    """Return the attempt the events of one attempt are about (the last names it)."""
    attempt_id = events[-1].provider_payment_id
    assert attempt_id is not None
    return attempt_id


def _refund_of(link: SandboxLink, attempt_id: str, refund_id: str) -> SandboxRefund:
    """Return the refund a change just stored (it is there: the change would have raised)."""
    attempt = sandbox_refunds.find_attempt(link, attempt_id)
    refund = sandbox_refunds.find_refund(attempt, refund_id) if attempt else None
    assert refund is not None
    return refund


def _attempt_in_flight(link: SandboxLink) -> bool:
    return any(AttemptStatus(a.status).in_flight for a in link.attempts)


def _disable(link: SandboxLink, reason: str) -> None:
    if link.status == "active":
        # As TrueLayer does: a payment already at the payer's bank is not cut off.
        link.status = "disabling" if _attempt_in_flight(link) else "disabled"
        link.disabled_reason = reason
