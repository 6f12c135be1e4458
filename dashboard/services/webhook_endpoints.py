"""Webhook endpoint use cases: add (secret shown once), list, rotate, disable, enable, delete.

A signing secret reads ``whsec_`` + base64 of 32 random bytes (the Standard Webhooks form). It
is shown to the merchant once, when the endpoint is added or its secret rotated, and stored
only sealed under ``WEBHOOK_SECRETS_KEY`` (``dashboard.store.secret_box``). Rotation keeps the
old secret signing for 24 hours beside the new one. Nothing here knows about HTTP.
"""

from __future__ import annotations

import base64
import builtins
import secrets
import socket
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from dashboard.core.errors import Conflict, InvalidInput, NotFound
from dashboard.core.ids import new_id
from dashboard.domain.actor import Actor
from dashboard.domain.audit import AuditAction, AuditNote, audit_note
from dashboard.domain.events import EventType
from dashboard.domain.webhook_endpoints import (
    EndpointStatus,
    SigningSecret,
    WebhookEndpoint,
    clean_description,
    clean_event_types,
    clean_url,
)
from dashboard.providers import webhook_sender
from dashboard.store.secret_box import SecretBox
from dashboard.store.webhook_endpoints import EndpointChanged, WebhookEndpointRepository

SECRET_PREFIX = "whsec_"  # noqa: S105 - the Standard Webhooks prefix, not a secret
_SECRET_BYTES = 32
MAX_ENDPOINTS = 10
_MAX_ATTEMPTS = 3  # a change raced by another is decided again on what is stored now


class WebhookEndpointNotFound(NotFound):
    """Raised for an endpoint id that is unknown or belongs to another account."""

    title = "Webhook endpoint not found"
    message = "There is no such webhook endpoint in your account."


class WebhookEndpointLimitReached(Conflict):
    """Raised when the account already has the most endpoints allowed."""

    title = "Too many webhook endpoints"
    message = (
        f"An account can have at most {MAX_ENDPOINTS} webhook endpoints: "
        "delete one you no longer use first."
    )


class WebhookEndpointExists(Conflict):
    """Raised when the id given for a new endpoint is already one of the account's."""

    title = "Webhook endpoint exists"
    message = "This webhook endpoint was already added; its secret was shown then."


class WebhookEndpointBusy(Conflict):
    """Raised when other changes of the endpoint kept racing this one."""

    title = "Webhook endpoint changed"
    message = "The webhook endpoint changed meanwhile. Please try again."


def resolve_host(host: str, port: int, **kwargs: Any) -> Sequence[tuple[Any, ...]]:
    """Return the system resolver's answer for ``host`` (replaced by a stub in tests)."""
    return socket.getaddrinfo(host, port, **kwargs)


def new_signing_secret() -> str:
    """Return a fresh signing secret: ``whsec_`` and base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(_SECRET_BYTES)).decode("ascii")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _is_endpoint_id(value: str) -> bool:
    try:
        return isinstance(value, str) and str(uuid.UUID(value)) == value
    except ValueError:
        return False


def clean_endpoint_input(
    url: object, event_types: object, description: object, production: bool
) -> tuple[str, frozenset[EventType], str]:
    """Return the URL, event types and description cleaned; InvalidInput names every bad field."""
    errors: dict[str, str] = {}
    clean_url_ = clean_types = clean_text = None
    try:
        clean_url_ = clean_url(url, production)
    except InvalidInput as exc:
        errors.update(exc.errors)
    try:
        clean_types = clean_event_types(event_types)
    except InvalidInput as exc:
        errors.update(exc.errors)
    try:
        clean_text = clean_description(description)
    except InvalidInput as exc:
        errors.update(exc.errors)
    if clean_url_ is None or clean_types is None or clean_text is None:
        raise InvalidInput(errors)
    return clean_url_, clean_types, clean_text


class WebhookEndpointService:
    """The webhook endpoint use cases of one deployment: one repository, one key, one clock."""

    def __init__(
        self,
        repository: WebhookEndpointRepository,
        box: SecretBox,
        production: bool = False,
        clock: Callable[[], datetime] = _utc_now,
        resolver: webhook_sender.Resolver | None = None,
    ):
        self._repository = repository
        # None: the system's resolver, looked up at each add (tests swap in a stub there).
        self._resolver = resolver
        self._box = box
        self._production = production
        self._now = clock

    def add(
        self,
        actor: Actor,
        endpoint_id: str | None,
        url: object,
        event_types: object,
        description: object = None,
    ) -> tuple[WebhookEndpoint, str]:
        """Add an endpoint to the actor's account; return it and its signing secret, shown once.

        ``endpoint_id`` is a UUID the caller drew (None: draw one here). Raise InvalidInput,
        WebhookEndpointLimitReached or WebhookEndpointExists (that id is already taken). The
        limit is checked before the write, so two adds at once may end one over it: it bounds
        abuse, not an invariant.
        """
        if endpoint_id is not None and not _is_endpoint_id(endpoint_id):
            raise ValueError("An endpoint id is a UUID.")
        clean_url_, types, text = clean_endpoint_input(
            url, event_types, description, self._production
        )
        # Checked again at every delivery; here so a URL into a private network is refused
        # while the merchant is still at the form.
        problem = webhook_sender.check_endpoint_url(
            clean_url_, self._production, resolver=self._resolver or resolve_host
        )
        if problem:
            raise InvalidInput({"url": problem})
        if len(self.list(actor.account_id)) >= MAX_ENDPOINTS:
            raise WebhookEndpointLimitReached(MAX_ENDPOINTS)
        endpoint_id = endpoint_id or new_id()
        now = self._now()
        secret = new_signing_secret()
        endpoint = WebhookEndpoint(
            endpoint_id=endpoint_id,
            account_id=actor.account_id,
            url=clean_url_,
            event_types=types,
            description=text,
            created_at=now,
            updated_at=now,
            secrets=(self._sealed(secret, endpoint_id, now),),
        )
        audit = audit_note(actor, AuditAction.WEBHOOK_ENDPOINT_CREATED, now)
        try:
            self._repository.write(None, endpoint, audit)
        except EndpointChanged:
            raise WebhookEndpointExists(endpoint_id) from None
        return endpoint, secret

    def list(self, account_id: str) -> list[WebhookEndpoint]:
        """Return the account's endpoints, oldest first."""
        return self._repository.list_for_account(account_id)

    def get(self, account_id: str, endpoint_id: str) -> WebhookEndpoint:
        """Return the account's endpoint; raise WebhookEndpointNotFound (another's too)."""
        endpoint = (
            self._repository.get(account_id, endpoint_id) if _is_endpoint_id(endpoint_id) else None
        )
        if endpoint is None:
            raise WebhookEndpointNotFound(endpoint_id[:64])
        return endpoint

    def rotate_secret(
        self, actor: Actor, endpoint_id: str, secret_id: str | None = None
    ) -> tuple[WebhookEndpoint, str]:
        """Give the endpoint a new signing secret; return it and the secret, shown once.

        The previous secret keeps signing for 24 hours, so the receiver can switch unhurried.
        ``secret_id`` names the request (the API's idempotent resource id): when the newest
        secret already has it, that rotation happened and its secret is returned, not a second.
        """
        secret = new_signing_secret()
        secret_id = secret_id or new_id()

        def rotate(endpoint: WebhookEndpoint, now: datetime) -> WebhookEndpoint | None:
            if endpoint.secrets and endpoint.secrets[0].secret_id == secret_id:
                return None  # this request's rotation landed already
            sealed = self._sealed(secret, endpoint.endpoint_id, now, secret_id)
            return endpoint.rotated(sealed, now)

        endpoint = self._change(
            actor, endpoint_id, AuditAction.WEBHOOK_ENDPOINT_SECRET_ROTATED, rotate
        )
        return endpoint, self.current_secret(endpoint)

    def disable(self, actor: Actor, endpoint_id: str, reason: str | None = None) -> WebhookEndpoint:
        """Stop delivering to the endpoint (``reason``: why); disabling again changes nothing."""

        def disable(endpoint: WebhookEndpoint, now: datetime) -> WebhookEndpoint | None:
            if not endpoint.is_active:
                return None
            return endpoint.changed(now, status=EndpointStatus.DISABLED, disabled_reason=reason)

        # The worker disabling a failing endpoint is audited too: the account should see why
        # its deliveries stopped, and that nobody in it did this.
        return self._change(
            actor, endpoint_id, AuditAction.WEBHOOK_ENDPOINT_DISABLED, disable, always_audit=True
        )

    def enable(self, actor: Actor, endpoint_id: str) -> WebhookEndpoint:
        """Deliver to the endpoint again; enabling an active endpoint changes nothing."""

        def enable(endpoint: WebhookEndpoint, now: datetime) -> WebhookEndpoint | None:
            if endpoint.is_active:
                return None
            return endpoint.changed(now, status=EndpointStatus.ACTIVE, disabled_reason=None)

        return self._change(actor, endpoint_id, AuditAction.WEBHOOK_ENDPOINT_ENABLED, enable)

    def delete(self, actor: Actor, endpoint_id: str) -> None:
        """Delete the account's endpoint and its secrets; raise WebhookEndpointNotFound."""
        for _ in range(_MAX_ATTEMPTS):
            endpoint = self.get(actor.account_id, endpoint_id)
            audit = audit_note(actor, AuditAction.WEBHOOK_ENDPOINT_DELETED, self._now())
            try:
                self._repository.write(endpoint, None, audit)
            except EndpointChanged:
                continue
            return
        raise WebhookEndpointBusy(endpoint_id)

    def signing_secrets(self, endpoint: WebhookEndpoint, now: datetime) -> builtins.list[str]:
        """Return the endpoint's secrets that sign at ``now``, decrypted, the newest first."""
        return [
            self._box.open(secret.ciphertext, endpoint.endpoint_id)
            for secret in endpoint.live_secrets(now)
        ]

    def current_secret(self, endpoint: WebhookEndpoint) -> str:
        """Return the endpoint's newest secret, decrypted: for an add retried with its key."""
        return self._box.open(endpoint.secrets[0].ciphertext, endpoint.endpoint_id)

    def _sealed(
        self, secret: str, endpoint_id: str, now: datetime, secret_id: str | None = None
    ) -> SigningSecret:
        return SigningSecret(
            ciphertext=self._box.seal(secret, endpoint_id),
            created_at=now,
            secret_id=secret_id or new_id(),
        )

    def _change(
        self,
        actor: Actor,
        endpoint_id: str,
        action: AuditAction,
        change: Callable[[WebhookEndpoint, datetime], WebhookEndpoint | None],
        always_audit: bool = False,
    ) -> WebhookEndpoint:
        """Apply ``change`` to the stored endpoint and write it with its audit entry.

        ``change`` returns None when there is nothing to do; a race with another change is
        decided again on what is stored then.
        """
        for _ in range(_MAX_ATTEMPTS):
            endpoint = self.get(actor.account_id, endpoint_id)
            now = self._now()
            changed = change(endpoint, now)
            if changed is None:
                return endpoint
            note = AuditNote(actor, action, now) if always_audit else audit_note(actor, action, now)
            try:
                self._repository.write(endpoint, changed, note)
            except EndpointChanged:
                continue
            return changed
        raise WebhookEndpointBusy(endpoint_id)
