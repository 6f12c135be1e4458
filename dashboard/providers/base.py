"""The payment provider interface that TrueLayer and the sandbox both implement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from dashboard.payments.model import ProviderEvent


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


class ProviderUnavailable(Exception):
    """Raised when the provider cannot be reached or fails on its side; try again later."""


class ProviderRejected(Exception):
    """Raised when the provider refuses the request itself; retrying the same will not help."""


class PaymentProvider(Protocol):
    """Creates payment links and reports what happened to them.

    Status changes reach the app as ProviderEvents passed to
    ``PaymentService.apply_provider_event``: pushed (webhooks, the sandbox's hosted page) or
    pulled (``fetch_link_events`` for Refresh and the sync command).
    """

    name: str

    def create_link(self, request: LinkRequest) -> CreatedLink:
        """Create the link; the same idempotency key must give back the same link."""
        ...

    def fetch_link_events(self, provider_link_id: str) -> list[ProviderEvent]:
        """Return events describing the link's current state and that of its attempts."""
        ...

    def disable_link(self, provider_link_id: str) -> None:
        """Stop the link from accepting payments (the merchant cancelled it)."""
        ...
