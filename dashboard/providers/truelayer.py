"""TrueLayer Payments API v3: payment links and refunds, created and read with signed requests.

* Access tokens come from ``POST /connect/token`` (client credentials, ``payments`` scope), are
  cached and renewed shortly before they expire, one refresh at a time.
* Every request with a body is signed with ``truelayer-signing`` (ES512, ``Tl-Signature``) over
  exactly the bytes sent, and carries an ``Idempotency-Key`` when it creates something.
* Every call has a total deadline, its token fetch and retries included, and takes one of a few
  slots per process (providers/outbound.py); only idempotent calls are retried; failures become
  ProviderUnavailable (try later) or ProviderRejected (the request itself is wrong).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
from truelayer_signing import HttpMethod, sign_with_pem

from dashboard.domain.payments import AttemptStatus, ProviderEvent, ProviderEventKind
from dashboard.domain.refunds import RefundStatus
from dashboard.providers import outbound
from dashboard.providers.base import (
    CreatedLink,
    LinkRequest,
    LinkState,
    ProviderRefund,
    ProviderRejected,
    ProviderUnavailable,
    RefundRequest,
)

log = logging.getLogger(__name__)
NAME = "truelayer"

ENVIRONMENTS = {
    "sandbox": ("https://auth.truelayer-sandbox.com", "https://api.truelayer-sandbox.com"),
    "production": ("https://auth.truelayer.com", "https://api.truelayer.com"),
}
# One budget per call, token fetch and retries included: a request that needs TrueLayer has its
# answer (or ProviderUnavailable) within it, never 3 x 13 s.
_BUDGET_SECONDS = 8.0
# Calls to TrueLayer at once per process, and how long a call waits for a slot: a hung TrueLayer
# holds at most this many worker threads, so /health, the API and webhooks keep answering.
_GATE = outbound.ConcurrencyGate("TrueLayer", limit=3, wait_seconds=2.0)
_RETRIES = 2
_TOKEN_MARGIN_SECONDS = 60
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class TrueLayerSettings:
    """What the client needs to talk to TrueLayer for one merchant account set."""

    auth_url: str
    api_url: str
    client_id: str
    client_secret: str
    signing_key_id: str
    signing_private_key_pem: str
    merchant_accounts: Mapping[str, str]  # currency -> merchant account id


def parse_merchant_accounts(raw: str) -> dict[str, str]:
    """Return ``{"GBP": "id", …}`` from ``GBP:id,EUR:id``; raise ValueError when malformed."""
    accounts = {}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        currency, _, account_id = part.partition(":")
        if len(currency) != 3 or not account_id:
            raise ValueError(f"Expected CURRENCY:merchant-account-id, got {part!r}")
        accounts[currency.upper()] = account_id.strip()
    return accounts


class _AccessToken:
    """A client-credentials token, renewed shortly before it expires, by one thread at a time."""

    def __init__(
        self,
        fetch: Callable[[outbound.Deadline], tuple[str, int]],
        clock: Callable[[], float] = time.monotonic,
    ):
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0

    def get(self, deadline: outbound.Deadline | None = None) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._expires_at - _TOKEN_MARGIN_SECONDS:
                token, expires_in = self._fetch(deadline or outbound.Deadline(_BUDGET_SECONDS))
                self._token, self._expires_at = token, self._clock() + expires_in
            return self._token


class TrueLayerProvider:
    """Implements PaymentProvider with TrueLayer's Payment Links."""

    name = NAME

    def __init__(self, settings: TrueLayerSettings, session: requests.Session | None = None):
        self._settings = settings
        self._session = session or requests.Session()
        self._token = _AccessToken(self._fetch_token)

    # PaymentProvider -------------------------------------------------------------------------

    def create_link(self, request: LinkRequest) -> CreatedLink:
        """Create a single-payment link; the idempotency key makes a retry return the same one."""
        account = self._settings.merchant_accounts.get(request.currency)
        if not account:
            raise ProviderRejected(f"No TrueLayer merchant account is set for {request.currency}")
        user: dict[str, Any] = {"id": request.payment_id}
        if request.payer_name:
            user["name"] = request.payer_name
        if request.payer_email:
            user["email"] = request.payer_email
        body = {
            "type": "single_payment",
            "expires_at": request.expires_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "reference": request.reference,
            "return_uri": request.return_uri,
            "payment_configuration": {
                "amount_in_minor": request.amount_minor,
                "currency": request.currency,
                "payment_method": {
                    "type": "bank_transfer",
                    "provider_selection": {"type": "user_selected"},
                    "beneficiary": {
                        "type": "merchant_account",
                        "merchant_account_id": account,
                        "reference": request.reference,
                    },
                },
                "user": user,
                "metadata": {"payment_id": request.payment_id},
            },
        }
        answer = self._call("POST", "/v3/payment-links", body, request.idempotency_key)
        if not answer.get("id") or not answer.get("uri"):
            raise ProviderUnavailable("TrueLayer created a link but did not say its id and uri")
        return CreatedLink(provider_link_id=answer["id"], url=answer["uri"])

    def link_state(self, provider_link_id: str) -> LinkState:
        """Return the link's status and an event for each of its payments, as TrueLayer has them."""
        now = datetime.now(UTC)
        link = self._call("GET", f"/v3/payment-links/{provider_link_id}")
        payments = self._call("GET", f"/v3/payment-links/{provider_link_id}/payments")
        events = [
            attempt_event(
                provider_link_id,
                item["id"],
                item.get("status", "authorization_required"),
                item.get("failure_reason"),
                now,
                event_id=f"poll:{item['id']}:{item.get('status')}",
            )
            for item in payments.get("items", [])
        ]
        if link.get("status") == "disabled":
            events.append(
                ProviderEvent(
                    event_id=f"poll:{provider_link_id}:disabled",
                    provider=NAME,
                    kind=ProviderEventKind.LINK_DISABLED,
                    provider_link_id=provider_link_id,
                    disabled_reason=link.get("disabled_reason") or "expired",
                    occurred_at=now,
                )
            )
        status = link.get("status")
        if status not in ("disabling", "disabled"):
            status = "active"
        return LinkState(status, tuple(e for e in events if e is not None))

    def disable_link(self, provider_link_id: str) -> None:
        """Disable the link so no new payment can start on it."""
        self._call(
            "POST",
            f"/v3/payment-links/{provider_link_id}/disable",
            {"reason": "merchant_cancelled"},
            f"disable-{provider_link_id}",
        )

    def create_refund(self, request: RefundRequest) -> ProviderRefund:
        """Ask TrueLayer to refund part of a payment; the idempotency key makes a retry safe.

        Our ids travel as metadata, so the refund can be recognised in ``refunds`` even when
        this answer is lost. TrueLayer refuses (ProviderRejected) more than is left to refund.
        """
        body = {
            "amount_in_minor": request.amount_minor,
            "reference": request.reference,
            "metadata": {"refund_id": request.refund_id, "payment_id": request.payment_id},
        }
        path = f"/v3/payments/{request.provider_payment_id}/refunds"
        answer = self._call("POST", path, body, request.idempotency_key)
        if not answer.get("id"):
            raise ProviderUnavailable("TrueLayer accepted a refund but did not say its id")
        # TrueLayer answers with the id only; a refund it just accepted is pending.
        return ProviderRefund(
            provider_refund_id=answer["id"],
            status=RefundStatus.PENDING,
            amount_minor=request.amount_minor,
            refund_id=request.refund_id,
        )

    def refunds(
        self, provider_payment_id: str, provider_link_id: str | None
    ) -> list[ProviderRefund]:
        """Return every refund TrueLayer holds for the payment (the link is not needed)."""
        answer = self._call("GET", f"/v3/payments/{provider_payment_id}/refunds")
        found = (_provider_refund(item) for item in answer.get("items", []))
        return [refund for refund in found if refund is not None]

    def get_payment(self, provider_payment_id: str) -> dict[str, Any]:
        """Return TrueLayer's view of one payment (``GET /v3/payments/{id}``)."""
        return self._call("GET", f"/v3/payments/{provider_payment_id}")

    def check_signature(self) -> dict[str, Any]:
        """Send a signed request to TrueLayer's ``/test-signature``; return its verdict."""
        body = {"check": "payment-dashboard"}
        return self._call("POST", "/test-signature", body, str(uuid.uuid4()))

    # HTTP -------------------------------------------------------------------------------------

    def _fetch_token(self, deadline: outbound.Deadline) -> tuple[str, int]:
        url = f"{self._settings.auth_url}/connect/token"
        data = {
            "grant_type": "client_credentials",
            "client_id": self._settings.client_id,
            "client_secret": self._settings.client_secret,
            "scope": "payments",
        }
        response = self._send(
            lambda: outbound.send(self._session.request, "POST", url, deadline, _GATE, data=data),
            True,
            deadline,
        )
        answer = response.json()
        return answer["access_token"], int(answer.get("expires_in", 3600))

    def _call(
        self, method: str, path: str, body: dict | None = None, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        url = f"{self._settings.api_url}{path}"
        payload = json.dumps(body, separators=(",", ":")) if body is not None else ""
        deadline = outbound.Deadline(_BUDGET_SECONDS)

        def send() -> requests.Response:
            token = self._token.get(deadline)
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            if idempotency_key:
                headers["Idempotency-Key"] = idempotency_key
            if method == "POST":
                headers["Content-Type"] = "application/json"
                headers["Tl-Signature"] = self._sign(path, payload, idempotency_key)
            return outbound.send(
                self._session.request, method, url, deadline, _GATE,
                data=payload.encode() if payload else None, headers=headers,
            )  # fmt: skip

        # GETs and POSTs with an idempotency key may be sent again safely.
        retry = method == "GET" or idempotency_key is not None
        response = self._send(send, retry, deadline)
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError as exc:
            raise ProviderUnavailable(f"TrueLayer answered {path} with something not JSON") from exc

    def _sign(self, path: str, payload: str, idempotency_key: str | None) -> str:
        signer = (
            sign_with_pem(self._settings.signing_key_id, self._settings.signing_private_key_pem)
            .set_method(HttpMethod.POST)
            .set_path(path)
            .set_body(payload)
        )
        if idempotency_key:
            signer = signer.add_header("Idempotency-Key", idempotency_key)
        return signer.sign()

    def _send(
        self, send: Callable[[], requests.Response], retry: bool, deadline: outbound.Deadline
    ) -> requests.Response:
        """Send with retries while ``deadline`` leaves time for them, one gate slot per attempt."""
        attempts = 1 + (_RETRIES if retry else 0)
        for attempt in range(attempts):
            last = attempt + 1 == attempts
            try:
                response = send()
            except outbound.NoSlotFree as exc:
                raise ProviderUnavailable(f"TrueLayer busy: {exc}") from exc
            except (requests.RequestException, outbound.OutboundUnavailable) as exc:
                if not last and deadline.pause_before_retry(0.2 * 2**attempt):
                    continue
                raise ProviderUnavailable(f"TrueLayer unreachable: {exc}") from exc
            if response.status_code in _RETRY_STATUSES:
                if not last and deadline.pause_before_retry(_retry_after(response, attempt)):
                    continue
                raise ProviderUnavailable(f"TrueLayer answered {response.status_code}")
            if response.status_code >= 400:
                raise ProviderRejected(_problem(response))
            return response
        raise ProviderUnavailable("TrueLayer did not answer")


def _retry_after(response: requests.Response, attempt: int) -> float:
    try:
        return max(0, min(int(response.headers.get("Retry-After", "")), 5))
    except ValueError:
        return 0.2 * 2**attempt


def _problem(response: requests.Response) -> str:
    try:
        detail = response.json()
    except ValueError:
        return f"TrueLayer answered {response.status_code}"
    title = detail.get("title") or detail.get("error") or "request refused"
    errors = detail.get("errors") or detail.get("error_description") or ""
    return f"{title} ({response.status_code}) {errors}".strip()


_ATTEMPT_STATUSES = {status.value: status for status in AttemptStatus}
# The refund statuses TrueLayer reports; creating and creation_failed are only ours.
_REFUND_STATUSES = {
    status.value: status
    for status in (
        RefundStatus.PENDING,
        RefundStatus.AUTHORIZED,
        RefundStatus.EXECUTED,
        RefundStatus.FAILED,
    )
}


def _provider_refund(item: dict[str, Any]) -> ProviderRefund | None:
    """Return one item of TrueLayer's refund list as a ProviderRefund, or None when untracked."""
    status = _REFUND_STATUSES.get(str(item.get("status")))
    if status is None:
        log.info("Ignoring TrueLayer refund %s in status %r", item.get("id"), item.get("status"))
        return None
    if not item.get("id") or not isinstance(item.get("amount_in_minor"), int):
        # Without its id or amount a refund cannot be matched or counted: try again later.
        raise ProviderUnavailable("TrueLayer listed a refund without its id or amount")
    metadata = item.get("metadata") or {}
    return ProviderRefund(
        provider_refund_id=item["id"],
        status=status,
        amount_minor=item["amount_in_minor"],
        refund_id=metadata.get("refund_id") if isinstance(metadata, dict) else None,
        failure_reason=item.get("failure_reason") if status is RefundStatus.FAILED else None,
    )


def attempt_event(
    provider_link_id: str | None,
    provider_payment_id: str,
    status: str,
    failure_reason: str | None,
    occurred_at: datetime,
    event_id: str,
    provider: str = NAME,
) -> ProviderEvent | None:
    """Return the event for a TrueLayer payment status, or None for a status we do not track."""
    attempt_status = _ATTEMPT_STATUSES.get(status)
    if attempt_status is None:
        log.info("Ignoring TrueLayer payment status %r", status)
        return None
    return ProviderEvent(
        event_id=event_id,
        provider=provider,
        kind=ProviderEventKind.ATTEMPT_UPDATED,
        provider_link_id=provider_link_id,
        provider_payment_id=provider_payment_id,
        attempt_status=attempt_status,
        failure_reason=failure_reason if attempt_status is AttemptStatus.FAILED else None,
        occurred_at=occurred_at,
    )
