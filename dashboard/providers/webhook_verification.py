"""Verifying TrueLayer webhooks: the ``Tl-Signature`` JWS, its key URL, and the timestamp.

The signature names the key set (``jku``) that signs it; only TrueLayer's own key URLs are
trusted (tests add a local one), so a forged message cannot point at the forger's keys.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import requests
from truelayer_signing import HttpMethod, JwsHeader, extract_jws_header, verify_with_jwks
from truelayer_signing.errors import TlSigningException

# TrueLayer's webhook key URLs, per environment: a production app trusts production keys only.
TRUELAYER_JKUS = {
    "production": "https://webhooks.truelayer.com/.well-known/jwks",
    "sandbox": "https://webhooks.truelayer-sandbox.com/.well-known/jwks",
}
MAX_CLOCK_SKEW = timedelta(minutes=5)
TIMESTAMP_HEADER = "X-TL-Webhook-Timestamp"
_JWKS_TTL_SECONDS = 600
_FETCH_TIMEOUT = (3.05, 5)  # connect, read
# A signature naming a key id we do not know may mean TrueLayer rotated its keys, or a forger
# sending junk: look again, but at most this often per key URL, so forged webhooks cannot make
# the app fetch (each fetch may hold a worker for seconds) once per request.
JWKS_REFETCH_INTERVAL_SECONDS = 60


class WebhookRejected(Exception):
    """Raised for a webhook whose signature, key URL or timestamp cannot be trusted."""


@dataclass
class _KeySet:
    keys: dict | None = None
    fetched_at: float = 0.0
    last_attempt_at: float | None = None  # successful or not: the throttle counts attempts
    fetched: threading.Event = field(default_factory=threading.Event)  # set when one ends


class JwksCache:
    """TrueLayer's public keys per key URL: fetched with a timeout, kept for ten minutes, and
    fetched again early (for an unknown key id) at most once a minute per URL."""

    def __init__(
        self,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._session = session or requests.Session()
        self._clock = clock
        self._lock = threading.Lock()
        self._sets: dict[str, _KeySet] = {}
        self._local: dict[str, dict] = {}

    def add_local(self, jku: str, keys: dict) -> None:
        """Know the keys of a local signer (the sandbox) without ever fetching them."""
        self._local[jku] = keys

    def get(self, jku: str) -> dict:
        """Return the key set at ``jku``, fetching it when missing or older than ten minutes."""
        if jku in self._local:
            return self._local[jku]
        with self._lock:
            known = self._sets.get(jku)
            if known and known.keys and self._clock() - known.fetched_at < _JWKS_TTL_SECONDS:
                return known.keys
        return self._fetch_at_most_once_a_minute(jku)

    def refresh(self, jku: str) -> dict:
        """Return the key set fetched anew, unless ``jku`` was fetched in the last minute."""
        if jku in self._local:
            return self._local[jku]
        return self._fetch_at_most_once_a_minute(jku)

    def _fetch_at_most_once_a_minute(self, jku: str) -> dict:
        with self._lock:
            known = self._sets.setdefault(jku, _KeySet())
            now = self._clock()
            recent = (
                known.last_attempt_at is not None
                and now - known.last_attempt_at < JWKS_REFETCH_INTERVAL_SECONDS
            )
            if not recent:
                # Claimed before fetching: concurrent requests use what we have, or wait for
                # this one fetch when we have nothing yet, instead of fetching too.
                known.last_attempt_at = now
                known.fetched.clear()
        if recent:
            if known.keys is None:
                known.fetched.wait(_FETCH_TIMEOUT[0] + _FETCH_TIMEOUT[1])
            if known.keys is None:
                raise WebhookRejected("the signing keys could not be fetched a moment ago")
            return known.keys
        try:
            response = self._session.get(jku, timeout=_FETCH_TIMEOUT)
            response.raise_for_status()
            keys = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise WebhookRejected(f"could not fetch the signing keys: {exc}") from exc
        else:
            with self._lock:
                known.keys, known.fetched_at = keys, self._clock()
            return keys
        finally:
            known.fetched.set()


def _has_kid(keys: dict, kid: str) -> bool:
    entries = keys.get("keys") if isinstance(keys, dict) else None
    return isinstance(entries, list) and any(
        isinstance(key, dict) and key.get("kid") == kid for key in entries
    )


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

    def _check_signature(
        self,
        signature: str,
        jws_header: JwsHeader,
        path: str,
        headers: Mapping[str, str],
        body: str,
    ) -> None:
        keys = self._jwks.get(jws_header.jku)
        if not _has_kid(keys, jws_header.kid):
            keys = self._jwks.refresh(jws_header.jku)  # TrueLayer may have rotated its keys
        if not _has_kid(keys, jws_header.kid):
            raise WebhookRejected(f"unknown signing key id {str(jws_header.kid)[:64]!r}")
        try:
            verify_with_jwks(keys, jws_header).set_method(HttpMethod.POST).set_path(
                path
            ).add_headers(dict(headers)).add_required_header(TIMESTAMP_HEADER).set_body(
                body
            ).verify(signature)
        except TlSigningException as exc:
            # Includes a signature that leaves the timestamp out: otherwise a captured webhook
            # could be replayed forever with a fresh timestamp header beside it.
            raise WebhookRejected(f"invalid signature: {exc}") from exc

    def _check_timestamp(self, headers: Mapping[str, str], now: datetime) -> None:
        raw = headers.get(TIMESTAMP_HEADER, "")
        try:
            sent = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise WebhookRejected("missing or malformed X-TL-Webhook-Timestamp") from None
        if sent.tzinfo is None or abs(now - sent) > MAX_CLOCK_SKEW:
            raise WebhookRejected("X-TL-Webhook-Timestamp is too old or in the future")
