"""Verifying TrueLayer webhooks: the ``Tl-Signature`` JWS, its key URL, and the timestamp.

The signature names the key set (``jku``) that signs it; only TrueLayer's own key URLs are
trusted (tests add a local one), so a forged message cannot point at the forger's keys.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from datetime import datetime, timedelta

import requests
from truelayer_signing import HttpMethod, extract_jws_header, verify_with_jwks
from truelayer_signing.errors import TlSigningException

# TrueLayer's webhook key URLs, per environment: a production app trusts production keys only.
TRUELAYER_JKUS = {
    "production": "https://webhooks.truelayer.com/.well-known/jwks",
    "sandbox": "https://webhooks.truelayer-sandbox.com/.well-known/jwks",
}
MAX_CLOCK_SKEW = timedelta(minutes=5)
_JWKS_TTL_SECONDS = 600


class WebhookRejected(Exception):
    """Raised for a webhook whose signature, key URL or timestamp cannot be trusted."""


class JwksCache:
    """TrueLayer's public keys per key URL, fetched with a timeout and kept for ten minutes."""

    def __init__(self, session: requests.Session | None = None):
        self._session = session or requests.Session()
        self._lock = threading.Lock()
        self._keys: dict[str, tuple[float, dict]] = {}
        self._local: dict[str, dict] = {}

    def add_local(self, jku: str, keys: dict) -> None:
        """Know the keys of a local signer (the sandbox) without ever fetching them."""
        self._local[jku] = keys

    def get(self, jku: str, refresh: bool = False) -> dict:
        """Return the key set at ``jku``; fetch it when missing, stale or ``refresh`` is asked."""
        if jku in self._local:
            return self._local[jku]
        with self._lock:
            cached = self._keys.get(jku)
            if cached and not refresh and time.monotonic() - cached[0] < _JWKS_TTL_SECONDS:
                return cached[1]
        try:
            response = self._session.get(jku, timeout=(3.05, 5))
            response.raise_for_status()
            keys = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise WebhookRejected(f"could not fetch the signing keys: {exc}") from exc
        with self._lock:
            self._keys[jku] = (time.monotonic(), keys)
        return keys


class WebhookVerifier:
    """Checks that a webhook request really comes from TrueLayer, and is fresh."""

    def __init__(self, allowed_jkus: tuple[str, ...], jwks: JwksCache):
        self._allowed = allowed_jkus
        self._jwks = jwks

    def verify(
        self, signature: str, path: str, headers: Mapping[str, str], body: str, now: datetime
    ) -> None:
        """Return quietly for an authentic, fresh webhook; raise WebhookRejected otherwise."""
        if not signature:
            raise WebhookRejected("no Tl-Signature header")
        try:
            jws_header = extract_jws_header(signature)
        except TlSigningException as exc:
            raise WebhookRejected(f"malformed signature: {exc}") from exc
        if jws_header.jku not in self._allowed:
            raise WebhookRejected(f"untrusted key URL {jws_header.jku!r}")
        self._check_signature(signature, jws_header, path, headers, body)
        self._check_timestamp(headers, now)

    def _check_signature(self, signature, jws_header, path, headers, body) -> None:
        for refresh in (False, True):  # TrueLayer may have rotated its keys: fetch once more
            keys = self._jwks.get(jws_header.jku, refresh=refresh)
            try:
                verify_with_jwks(keys, jws_header).set_method(HttpMethod.POST).set_path(
                    path
                ).add_headers(dict(headers)).set_body(body).verify(signature)
                return
            except TlSigningException as exc:
                if refresh:
                    raise WebhookRejected(f"invalid signature: {exc}") from exc

    def _check_timestamp(self, headers: Mapping[str, str], now: datetime) -> None:
        raw = headers.get("X-TL-Webhook-Timestamp", "")
        try:
            sent = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise WebhookRejected("missing or malformed X-TL-Webhook-Timestamp") from None
        if sent.tzinfo is None or abs(now - sent) > MAX_CLOCK_SKEW:
            raise WebhookRejected("X-TL-Webhook-Timestamp is too old or in the future")
