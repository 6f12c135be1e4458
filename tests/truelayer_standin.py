"""A local stand-in for TrueLayer's auth and Payments API hosts, and a webhook signer.

The stand-in checks what TrueLayer checks: every POST's ``Tl-Signature`` (with the test public
key), the ``Idempotency-Key`` (the same key returns the same answer), and the bearer token. It
answers with the documented shapes, for payment links and for refunds of payments (refusing more
than a payment's amount when a test told it the amount). Webhooks are signed with a test key
whose JWKS it serves.
"""

from __future__ import annotations

import base64
import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pytest_httpserver import HTTPServer, URIPattern
from truelayer_signing import HttpMethod, sign_with_pem, verify_with_pem
from truelayer_signing.errors import TlSigningException
from werkzeug import Request, Response


def _b64(number: int) -> str:
    return base64.urlsafe_b64encode(number.to_bytes(66, "big")).rstrip(b"=").decode()


@dataclass
class SigningKey:
    """An ES512 key pair, as TrueLayer signing uses, with its ``kid``."""

    kid: str
    private_pem: str
    public_pem: str
    jwk: dict

    @classmethod
    def generate(cls, kid: str) -> SigningKey:
        key = ec.generate_private_key(ec.SECP521R1())
        private_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        public = key.public_key()
        public_pem = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()
        numbers = public.public_numbers()
        jwk = {"kty": "EC", "crv": "P-521", "kid": kid, "x": _b64(numbers.x), "y": _b64(numbers.y)}
        return cls(kid, private_pem, public_pem, jwk)


@dataclass
class TrueLayerStandIn:
    """The fake TrueLayer: records what it was sent, answers like the real one."""

    server: HTTPServer
    client_key: SigningKey  # the merchant's key: TrueLayer verifies our requests with it
    webhook_key: SigningKey  # TrueLayer's key: we verify its webhooks with its JWKS
    links: dict = field(default_factory=dict)
    payments: dict = field(default_factory=dict)
    payment_amounts: dict = field(default_factory=dict)  # provider payment id -> (minor, currency)
    refunds: dict = field(default_factory=dict)  # refund id -> item as listed, plus "request"
    idempotent_answers: dict = field(default_factory=dict)
    token_requests: int = 0
    failures_to_serve: list = field(default_factory=list)  # status codes to answer first
    received: list = field(default_factory=list)
    verified_signatures: list = field(default_factory=list)  # paths of POSTs whose signature held
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def url(self) -> str:
        return self.server.url_for("").rstrip("/")

    @property
    def jku(self) -> str:
        return self.server.url_for("/.well-known/jwks")

    def install(self) -> None:
        """Register the handlers on the HTTP server."""
        self.server.expect_request("/connect/token", method="POST").respond_with_handler(
            self._token
        )
        self.server.expect_request("/.well-known/jwks").respond_with_json(
            {"keys": [self.webhook_key.jwk]}
        )
        self.server.expect_request("/v3/payment-links", method="POST").respond_with_handler(
            self._create_link
        )
        self.server.expect_request("/test-signature", method="POST").respond_with_handler(
            self._test_signature
        )
        self.server.expect_request(
            _Pattern("/v3/payment-links/"), method="GET"
        ).respond_with_handler(self._get_link)
        self.server.expect_request(
            _Pattern("/v3/payment-links/"), method="POST"
        ).respond_with_handler(self._disable_link)
        self.server.expect_request(_Pattern("/v3/payments/"), method="POST").respond_with_handler(
            self._create_refund
        )
        self.server.expect_request(_Pattern("/v3/payments/"), method="GET").respond_with_handler(
            self._list_refunds
        )

    # Test controls ----------------------------------------------------------------------------

    def add_payment(self, provider_payment_id: str, amount_minor: int, currency: str = "GBP"):
        """Tell the stand-in a payment's amount, so it refuses refunds of more than that."""
        self.payment_amounts[provider_payment_id] = (amount_minor, currency)

    def set_refund_status(
        self, refund_id: str, status: str, failure_reason: str | None = None
    ) -> None:
        """Move a refund as TrueLayer would (``authorized``, ``executed``, ``failed``)."""
        refund = self.refunds[refund_id]
        refund["status"] = status
        if status in ("executed", "failed"):
            refund[f"{status}_at"] = _now()
        if status == "failed":
            refund["failure_reason"] = failure_reason or "unknown"

    # Handlers -------------------------------------------------------------------------------

    def _token(self, request: Request) -> Response:
        self.token_requests += 1
        form = request.form
        if form.get("grant_type") != "client_credentials" or form.get("scope") != "payments":
            return _json({"error": "invalid_request"}, 400)
        return _json({"access_token": f"token-{self.token_requests}", "expires_in": 3600})

    def _check(self, request: Request) -> Response | None:
        self.received.append(request)
        if not request.headers.get("Authorization", "").startswith("Bearer token-"):
            return _json({"title": "Unauthorized"}, 401)
        if request.method == "POST":
            try:
                verify_with_pem(self.client_key.public_pem).set_method(HttpMethod.POST).set_path(
                    request.path
                ).add_headers(dict(request.headers)).set_body(
                    request.get_data(as_text=True)
                ).verify(request.headers.get("Tl-Signature", ""))
            except TlSigningException as exc:
                return _json({"title": "Invalid signature", "detail": str(exc)}, 401)
            self.verified_signatures.append(request.path)
        if self.failures_to_serve:
            return _json({"title": "Service unavailable"}, self.failures_to_serve.pop(0))
        return None

    def _create_link(self, request: Request) -> Response:
        if refusal := self._check(request):
            return refusal
        key = request.headers.get("Idempotency-Key")
        if not key:
            return _json({"title": "Idempotency-Key header missing"}, 400)
        if key in self.idempotent_answers:
            return _json(self.idempotent_answers[key])
        body = request.get_json()
        link_id = f"tl-link-{next(self._ids)}"
        self.links[link_id] = {"body": body, "status": "enabled"}
        answer = {"id": link_id, "uri": f"https://payment.truelayer-sandbox.com/links/{link_id}"}
        self.idempotent_answers[key] = answer
        return _json(answer, 201)

    def _get_link(self, request: Request) -> Response:
        if refusal := self._check(request):
            return refusal
        parts = request.path.split("/")
        link_id = parts[3]
        if link_id not in self.links:
            return _json({"title": "Not found"}, 404)
        if len(parts) == 5 and parts[4] == "payments":
            items = [p for p in self.payments.values() if p["payment_link_id"] == link_id]
            return _json({"items": items})
        link = self.links[link_id]
        return _json({"id": link_id, "status": link["status"], **link.get("extra", {})})

    def _disable_link(self, request: Request) -> Response:
        if refusal := self._check(request):
            return refusal
        link_id = request.path.split("/")[3]
        # As TrueLayer does: a payment already being authorised is not cut off; the link is
        # "disabling" until it ends.
        in_flight = any(
            p["payment_link_id"] == link_id
            and p.get("status") in ("authorization_required", "authorizing", "authorized")
            for p in self.payments.values()
        )
        self.links[link_id]["status"] = "disabling" if in_flight else "disabled"
        self.links[link_id]["extra"] = {"disabled_reason": "merchant_cancelled"}
        return Response(status=202)

    def _create_refund(self, request: Request) -> Response:
        if refusal := self._check(request):
            return refusal
        parts = request.path.split("/")
        if len(parts) != 5 or parts[4] != "refunds":
            return _json({"title": "Not found"}, 404)
        payment_id = parts[3]
        key = request.headers.get("Idempotency-Key")
        if not key:
            return _json({"title": "Idempotency-Key header missing"}, 400)
        body = request.get_json()
        if key in self.idempotent_answers:
            answer = self.idempotent_answers[key]
            # As TrueLayer does: a key reused for a different request is refused, not replayed.
            if self.refunds[answer["id"]]["request"] != (payment_id, body):
                return _problem("Idempotency-Key reuse", 422, "the key was used for another body")
            return _json(answer, 201)
        amount = body.get("amount_in_minor")
        if not isinstance(amount, int) or amount <= 0 or not body.get("reference"):
            return _problem("Invalid Parameters", 400, "amount_in_minor and reference required")
        known, currency = self.payment_amounts.get(payment_id, (None, "GBP"))
        if known is not None and amount + self._refunded(payment_id) > known:
            return _problem("Refund amount exceeded", 422, "more than is left of the payment")
        refund_id = f"tl-refund-{next(self._ids)}"
        self.refunds[refund_id] = {
            "id": refund_id,
            "amount_in_minor": amount,
            "currency": currency,
            "reference": body["reference"],
            "status": "pending",
            "created_at": _now(),
            "metadata": body.get("metadata") or {},
            "request": (payment_id, body),
        }
        answer = {"id": refund_id}
        self.idempotent_answers[key] = answer
        return _json(answer, 201)

    def _refunded(self, payment_id: str) -> int:
        """Return what the payment's refunds hold: every one that has not failed."""
        return sum(
            r["amount_in_minor"]
            for r in self.refunds.values()
            if r["request"][0] == payment_id and r["status"] != "failed"
        )

    def _list_refunds(self, request: Request) -> Response:
        if refusal := self._check(request):
            return refusal
        parts = request.path.split("/")
        if len(parts) != 5 or parts[4] != "refunds":
            return _json({"title": "Not found"}, 404)
        items = [
            {k: v for k, v in r.items() if k != "request"}
            for r in self.refunds.values()
            if r["request"][0] == parts[3]
        ]
        return _json({"items": items})

    def _test_signature(self, request: Request) -> Response:
        if refusal := self._check(request):
            return refusal
        return Response(status=204)

    # Webhooks -------------------------------------------------------------------------------

    def signed_webhook(
        self, payload: dict, path: str = "/webhooks/truelayer", timestamp: datetime | None = None,
        jku: str | None = None, key: SigningKey | None = None,
    ) -> tuple[str, dict[str, str]]:  # fmt: skip
        """Return a webhook body and its headers, signed as TrueLayer signs them."""
        body = json.dumps(payload)
        sent = (timestamp or datetime.now(UTC)).isoformat().replace("+00:00", "Z")
        key = key or self.webhook_key
        signature = (
            sign_with_pem(key.kid, key.private_pem)
            .set_method(HttpMethod.POST)
            .set_path(path)
            .add_header("X-TL-Webhook-Timestamp", sent)
            .set_jku(jku or self.jku)
            .set_body(body)
            .sign()
        )
        headers = {
            "Tl-Signature": signature,
            "X-TL-Webhook-Timestamp": sent,
            "Content-Type": "application/json",
        }
        return body, headers

    def refund_executed_webhook(
        self, refund_id: str, event_id: str = "evt-refund-executed", **signing
    ) -> tuple[str, dict[str, str]]:
        """Mark the refund executed and return its signed ``refund_executed`` webhook."""
        self.set_refund_status(refund_id, "executed")
        refund = self.refunds[refund_id]
        payload = {
            "type": "refund_executed",
            "event_id": event_id,
            "event_version": 1,
            "refund_id": refund_id,
            "payment_id": refund["request"][0],
            "executed_at": refund["executed_at"],
        }
        return self.signed_webhook(payload, **signing)

    def refund_failed_webhook(
        self, refund_id: str, failure_reason: str = "insufficient_funds",
        event_id: str = "evt-refund-failed", **signing,
    ) -> tuple[str, dict[str, str]]:  # fmt: skip
        """Mark the refund failed and return its signed ``refund_failed`` webhook."""
        self.set_refund_status(refund_id, "failed", failure_reason)
        refund = self.refunds[refund_id]
        payload = {
            "type": "refund_failed",
            "event_id": event_id,
            "event_version": 1,
            "refund_id": refund_id,
            "payment_id": refund["request"][0],
            "failed_at": refund["failed_at"],
            "failure_reason": failure_reason,
        }
        return self.signed_webhook(payload, **signing)


class _Pattern(URIPattern):
    """Matches every path under a prefix."""

    def __init__(self, prefix: str):
        self.prefix = prefix

    def match(self, path: str) -> bool:
        return path.startswith(self.prefix)


def _json(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def _problem(title: str, status: int, detail: str) -> Response:
    """Return an RFC 7807 problem answer, as TrueLayer refuses requests."""
    body = {
        "type": "https://docs.truelayer.com/docs/error-types",
        "title": title,
        "status": status,
        "detail": detail,
    }
    return Response(json.dumps(body), status=status, content_type="application/problem+json")


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")
