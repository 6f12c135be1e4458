"""The payment provider interface that TrueLayer and the sandbox both implement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from dashboard.core.errors import RefusedUpstream, Unavailable
from dashboard.domain.payments import AttemptStatus, ProviderEvent, ProviderEventKind
from dashboard.domain.refunds import RefundStatus


@dataclass(frozen=True)
class LinkRequest:
    """What we ask a provider for when creating a payment link."""

    payment_id: str
    idempotency_key: str
    amount_minor: int
    currency: str
    reference: str
    expires_at: datetime
    return_uri: str
    payer_name: str | None = None
    payer_email: str | None = None


@dataclass(frozen=True)
class CreatedLink:
    """The provider's answer: its id for the link and the URL to give the payer."""

    provider_link_id: str
    url: str


@dataclass(frozen=True)
class LinkState:
    """What the provider says of a link now: its status, and an event for each of its payments.

    ``status`` is ``active``, ``disabling`` (disabled while a payment on it is still being
    authorised at the payer's bank, as TrueLayer reports it) or ``disabled``.
    """

    status: str
    events: tuple[ProviderEvent, ...] = ()

    @property
    def payer_is_paying(self) -> bool:
        """Return True when money may still arrive: a payment in flight, or one that succeeded."""
        return self.status == "disabling" or any(
            event.kind is ProviderEventKind.ATTEMPT_UPDATED
            and event.attempt_status is not AttemptStatus.FAILED
            for event in self.events
        )


@dataclass(frozen=True)
class RefundRequest:
    """What we ask a provider for to refund (part of) a payment.

    ``provider_payment_id`` is the succeeded attempt's: refunds are made against the payment
    that moved the money. ``refund_id`` (ours) travels as metadata, so a refund the provider
    made while its answer was lost is found in its list and adopted, never made twice.
    """

    payment_id: str
    refund_id: str
    idempotency_key: str
    provider_payment_id: str
    provider_link_id: str | None
    amount_minor: int
    currency: str
    reference: str


@dataclass(frozen=True)
class ProviderRefund:
    """A refund as the provider holds it: its id, ours (when it carries it), status, amount."""

    provider_refund_id: str
    status: RefundStatus
    amount_minor: int
    refund_id: str | None = None
    failure_reason: str | None = None


class ProviderUnavailable(Unavailable):
    """Raised when the provider cannot be reached or fails on its side; try again later."""

    title = "Payment provider unavailable"
    message = "The payment provider is not answering right now. Please try again in a minute."


class ProviderRejected(RefusedUpstream):
    """Raised when the provider refuses the request itself; retrying the same will not help."""

    title = "Payment provider refused the request"


class PaymentProvider(Protocol):
    """Creates payment links and reports what happened to them.

    Status changes reach the app as ProviderEvents passed to
    ``PaymentService.apply_provider_event``: pushed (webhooks, the sandbox's hosted page) or
    pulled (``link_state`` for Cancel, Refresh and the sync command).
    """

    name: str

    def create_link(self, request: LinkRequest) -> CreatedLink:
        """Create the link; the same idempotency key must give back the same link."""
        ...

    def link_state(self, provider_link_id: str) -> LinkState:
        """Return the link's status and events describing each of its attempts as they are."""
        ...

    def disable_link(self, provider_link_id: str) -> None:
        """Stop the link from accepting new payments (the merchant cancelled it).

        A payment already at the payer's bank goes on: the link is ``disabling`` until it ends.
        """
        ...

    def create_refund(self, request: RefundRequest) -> ProviderRefund:
        """Ask for a refund; the same idempotency key must give back the same refund.

        The provider refuses (ProviderRejected) more than is left of the payment.
        """
        ...

    def refunds(
        self, provider_payment_id: str, provider_link_id: str | None
    ) -> list[ProviderRefund]:
        """Return every refund the provider holds for the payment, as it is now."""
        ...
