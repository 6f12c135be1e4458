"""TrueLayer webhook signatures: the timestamp is signed, and forged key ids cannot make the app
fetch TrueLayer's key set more than once a minute."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pytest_httpserver import HTTPServer
from truelayer_signing import HttpMethod, sign_with_pem

from dashboard.providers.webhook_verification import JwksCache, WebhookRejected, WebhookVerifier
from tests.truelayer_standin import SigningKey

PATH = "/webhooks/truelayer"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SENT = "2026-11-20T12:00:00Z"
BODY = json.dumps({"type": "payment_executed", "event_id": "evt-1", "payment_id": "tl-pay-1"})


class MonotonicClock:
    """Seconds that the test moves by hand."""

    def __init__(self):
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds


@pytest.fixture(scope="module")
def truelayer_key() -> SigningKey:
    return SigningKey.generate("tl-webhook-key-1")


@pytest.fixture
def jwks_server(httpserver: HTTPServer, truelayer_key: SigningKey) -> HTTPServer:
    """TrueLayer's key URL, served locally; ``httpserver.log`` counts the fetches."""
    httpserver.expect_request("/.well-known/jwks").respond_with_json({"keys": [truelayer_key.jwk]})
    return httpserver


@pytest.fixture
def clock() -> MonotonicClock:
    return MonotonicClock()


@pytest.fixture
def verifier(jwks_server: HTTPServer, clock: MonotonicClock) -> WebhookVerifier:
    jku = jwks_server.url_for("/.well-known/jwks")
    return WebhookVerifier((jku,), JwksCache(clock=clock))


def _signature(server: HTTPServer, key: SigningKey, sign_timestamp: bool = True) -> str:
    signer = sign_with_pem(key.kid, key.private_pem).set_method(HttpMethod.POST).set_path(PATH)
    if sign_timestamp:
        signer = signer.add_header("X-TL-Webhook-Timestamp", SENT)
    return signer.set_jku(server.url_for("/.well-known/jwks")).set_body(BODY).sign()


def _verify(verifier: WebhookVerifier, signature: str, timestamp: str = SENT) -> None:
    verifier.verify(signature, PATH, {"X-TL-Webhook-Timestamp": timestamp}, BODY, NOW)


def _key_fetches(server: HTTPServer) -> int:
    return sum(1 for request, _ in server.log if request.path == "/.well-known/jwks")


def test_a_webhook_signed_with_its_timestamp_is_accepted(verifier, jwks_server, truelayer_key):
    _verify(verifier, _signature(jwks_server, truelayer_key))


def test_a_signature_that_leaves_out_the_timestamp_is_refused_even_with_a_fresh_one(
    verifier, jwks_server, truelayer_key
):
    # A captured webhook, replayed later: the signature still matches method, path and body,
    # and the replayer puts a fresh timestamp beside it.
    replayed = _signature(jwks_server, truelayer_key, sign_timestamp=False)

    with pytest.raises(WebhookRejected, match=r"(?i)x-tl-webhook-timestamp"):
        _verify(verifier, replayed, timestamp=SENT)


def test_forged_key_ids_fetch_the_key_set_at_most_once_a_minute(
    verifier, jwks_server, truelayer_key, clock
):
    _verify(verifier, _signature(jwks_server, truelayer_key))  # the first fetch
    forger = SigningKey.generate("forged-kid")
    clock.seconds += 61

    for _ in range(40):  # 40 forged webhooks over 80 seconds
        with pytest.raises(WebhookRejected, match="unknown signing key id"):
            _verify(verifier, _signature(jwks_server, forger))
        clock.seconds += 2

    # The first fetch, one for the first unknown key id, one more once that minute had passed.
    assert _key_fetches(jwks_server) == 1 + 2


def test_a_rotated_key_is_fetched_and_accepted(verifier, jwks_server, truelayer_key, clock):
    _verify(verifier, _signature(jwks_server, truelayer_key))
    rotated = SigningKey.generate("tl-webhook-key-2")
    jwks_server.clear_all_handlers()
    jwks_server.expect_request("/.well-known/jwks").respond_with_json(
        {"keys": [truelayer_key.jwk, rotated.jwk]}
    )
    clock.seconds += 61

    _verify(verifier, _signature(jwks_server, rotated))

    assert _key_fetches(jwks_server) == 2


def test_a_bad_signature_with_a_known_key_id_fetches_nothing_more(
    verifier, jwks_server, truelayer_key
):
    _verify(verifier, _signature(jwks_server, truelayer_key))
    impostor = SigningKey.generate(truelayer_key.kid)  # same kid, another key

    for _ in range(10):
        with pytest.raises(WebhookRejected, match="invalid signature"):
            _verify(verifier, _signature(jwks_server, impostor))

    assert _key_fetches(jwks_server) == 1
