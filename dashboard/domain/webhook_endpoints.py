"""What a webhook endpoint is to the merchant: where events go, which ones, and how they are signed.

Pure rules, no Flask, DynamoDB or cryptography. An endpoint holds its live signing secrets
(encrypted by the store; here only as opaque ciphertext) with the time each stops signing:
rotating a secret keeps the old one for 24 hours, so a receiver can switch over unhurried.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from dashboard.core.errors import InvalidInput
from dashboard.domain.events import EventType

DESCRIPTION_MAX_LENGTH = 140
URL_MAX_LENGTH = 2048
# How long a rotated-out secret keeps signing beside the new one.
ROTATION_OVERLAP = timedelta(hours=24)
ALL_EVENT_TYPES = "all"
# Outside production a receiver on the developer's own machine may be plain http.
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1"})


class EndpointStatus(StrEnum):
    """Whether events are delivered to an endpoint."""

    ACTIVE = "active"
    DISABLED = "disabled"


@dataclass(frozen=True)
class SigningSecret:
    """One signing secret of an endpoint, as stored: encrypted, with when it stops signing.

    ``expires_at`` is None for the current secret; a rotated-out one signs until then.
    """

    ciphertext: bytes  # nonce + AES-GCM ciphertext and tag (``dashboard.store.secret_box``)
    created_at: datetime
    expires_at: datetime | None = None
    # Names the request that made it, so a retried rotation finds its secret instead of
    # rotating twice.
    secret_id: str = ""

    def is_live(self, now: datetime) -> bool:
        """Return True while this secret still signs deliveries."""
        return self.expires_at is None or now < self.expires_at


@dataclass(frozen=True)
class WebhookEndpoint:
    """One of an account's webhook endpoints: its URL, the events it wants, its secrets."""

    endpoint_id: str  # a UUIDv7
    account_id: str
    url: str
    event_types: frozenset[EventType]
    created_at: datetime
    updated_at: datetime
    secrets: tuple[SigningSecret, ...]
    description: str = ""
    status: EndpointStatus = EndpointStatus.ACTIVE
    disabled_reason: str | None = None
    version: int = 1

    @property
    def is_active(self) -> bool:
        """Return True while events are delivered to this endpoint."""
        return self.status is EndpointStatus.ACTIVE

    def live_secrets(self, now: datetime) -> tuple[SigningSecret, ...]:
        """Return the secrets that sign deliveries at ``now``, the current one first."""
        return tuple(secret for secret in self.secrets if secret.is_live(now))

    def rotated(self, new_secret: SigningSecret, now: datetime) -> WebhookEndpoint:
        """Return the endpoint signing with ``new_secret``; the old one signs for 24 hours more.

        Secrets already past their time are dropped, so the list never grows.
        """
        kept = tuple(
            dataclasses.replace(s, expires_at=s.expires_at or now + ROTATION_OVERLAP)
            for s in self.live_secrets(now)
        )
        return self.changed(now, secrets=(new_secret, *kept))

    def changed(self, now: datetime, **changes: Any) -> WebhookEndpoint:
        """Return the endpoint with ``changes``, one version on, updated at ``now``."""
        return dataclasses.replace(self, **changes, updated_at=now, version=self.version + 1)


def clean_url(url: object, production: bool) -> str:
    """Return the endpoint URL trimmed; raise InvalidInput unless it is an https URL.

    Outside production, http://localhost and http://127.0.0.1 are accepted too. This is the
    syntactic check only: ``WebhookEndpointService.add`` then resolves the host
    (``dashboard.providers.webhook_sender.check_endpoint_url``: no private addresses).
    """
    problem = _url_problem(url, production)
    if problem:
        raise InvalidInput({"url": problem})
    assert isinstance(url, str)
    return url.strip()


def _url_problem(url: object, production: bool) -> str | None:
    if not isinstance(url, str) or not url.strip():
        return "Enter the https URL that should receive events."
    url = url.strip()
    if len(url) > URL_MAX_LENGTH:
        return f"Use a URL of at most {URL_MAX_LENGTH} characters."
    if not url.isprintable() or " " in url:
        return "A URL cannot contain spaces or control characters."
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return "Enter a URL such as https://example.com/webhooks."
    if not parts.hostname:
        return "Enter a URL such as https://example.com/webhooks."
    if parts.username or parts.password:
        return "A URL cannot carry a user name or password."
    if parts.fragment:
        return "A URL cannot have a #fragment."
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and not production and parts.hostname in _LOCAL_HOSTS:
        return None
    return "Use an https URL (http only for localhost, outside production)."


def clean_event_types(event_types: object) -> frozenset[EventType]:
    """Return the event types asked for: ``"all"`` or a non-empty list of known types."""
    if event_types == ALL_EVENT_TYPES or event_types == [ALL_EVENT_TYPES]:
        return frozenset(EventType)
    if isinstance(event_types, str) or not isinstance(event_types, Iterable):
        raise InvalidInput({"event_types": 'Give a list of event types, or "all".'})
    wanted = list(event_types)
    if not wanted:
        raise InvalidInput({"event_types": 'Choose at least one event type, or "all".'})
    known = [t.value for t in EventType]  # in EventType's order, so the message is stable
    unknown = [str(t) for t in wanted if t not in known]
    if unknown:
        raise InvalidInput(
            {"event_types": f"Unknown event type {unknown[0]!r}: use one of {', '.join(known)}."}
        )
    return frozenset(EventType(t) for t in wanted)


def clean_description(description: object) -> str:
    """Return the description trimmed (empty when none); at most 140 printable characters."""
    if description is None:
        return ""
    if not isinstance(description, str):
        raise InvalidInput({"description": "The description is text."})
    description = description.strip()
    if len(description) > DESCRIPTION_MAX_LENGTH:
        raise InvalidInput({"description": f"Use at most {DESCRIPTION_MAX_LENGTH} characters."})
    if not description.isprintable():
        raise InvalidInput({"description": "The description cannot contain control characters."})
    return description


def endpoint_summary(endpoint: WebhookEndpoint) -> dict[str, str]:
    """Return what the audit log shows of an endpoint: URL, events, status, description."""
    summary = {
        "url": endpoint.url,
        "event_types": (
            ALL_EVENT_TYPES
            if endpoint.event_types == frozenset(EventType)
            else ", ".join(sorted(endpoint.event_types))
        ),
        "status": endpoint.status.value,
    }
    if endpoint.disabled_reason:
        summary["reason"] = endpoint.disabled_reason
    if endpoint.description:
        summary["description"] = endpoint.description
    return summary
