"""A local stand-in for TrueLayer's auth and Payments API hosts, and a webhook signer.

The stand-in checks what TrueLayer checks: every POST's ``Tl-Signature`` (with the test public
key), the ``Idempotency-Key`` (the same key returns the same answer), and the bearer token. It
answers with the documented shapes. Webhooks are signed with a test key whose JWKS it serves.
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
    idempotent_answers: dict = field(default_factory=dict)
    token_requests: int = 0
    failures_to_serve: list = field(default_factory=list)  # status codes to answer first
    received: list = field(default_factory=list)
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


class _Pattern(URIPattern):
    """Matches every path under a prefix."""

    def __init__(self, prefix: str):
        self.prefix = prefix

    def match(self, path: str) -> bool:
        return path.startswith(self.prefix)


def _json(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")
