"""A local OpenID Connect provider whose keys and claims a test controls (on pytest-httpserver).

oidc-provider-mock is the real provider of the integration tests; this stand-in is for what it
cannot do: rotate its signing key under the same ``kid``, leave ``email_verified`` out, sign
with a key it never publishes, or say the person signed in long ago (``auth_time`` in
``claims``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.jwk import RSAKey
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

CLIENT_ID = "payment-dashboard-tests"


@dataclass
class OidcStandIn:
    """Serves discovery, JWKS and a token endpoint; signs ID tokens with ``signing_key``."""

    server: HTTPServer
    published_key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, {"kid": "k1"}))
    signing_key: RSAKey | None = None  # None: sign with the published key
    claims: dict = field(default_factory=dict)
    jwks_requests: int = 0
    last_authorization: dict = field(default_factory=dict)
    _nonce: str = ""

    @property
    def issuer(self) -> str:
        return self.server.url_for("").rstrip("/")

    def install(self) -> None:
        """Register the provider's endpoints on the HTTP server."""
        self.server.expect_request("/.well-known/openid-configuration").respond_with_json(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )
        self.server.expect_request("/jwks").respond_with_handler(self._jwks)
        self.server.expect_request("/token", method="POST").respond_with_handler(self._token)

    def rotate_key(self) -> None:
        """Sign and publish a new key under the same ``kid``, as a provider rotating keys may."""
        self.published_key = RSAKey.generate_key(2048, {"kid": self.published_key.kid})

    def _jwks(self, _request: Request) -> Response:
        self.jwks_requests += 1
        body = {"keys": [self.published_key.as_dict(private=False, alg="RS256", use="sig")]}
        return Response(json.dumps(body), content_type="application/json")

    def _token(self, _request: Request) -> Response:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": "alice@example.com",
            "email": "alice@example.com",
            "email_verified": True,
            "iat": now,
            "exp": now + 300,
            "nonce": self._nonce,
            **self.claims,
        }
        claims = {name: value for name, value in claims.items() if value is not None}
        key = self.signing_key or self.published_key
        id_token = jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)
        body = {
            "access_token": "at",
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": id_token,
        }
        return Response(json.dumps(body), content_type="application/json")

    def sign_in(self, client: FlaskClient, login_path: str = "/login"):
        """Go through ``login_path`` and the provider's consent; return the /callback response.

        The authorization request's query is kept in ``last_authorization``.
        """
        start = client.get(login_path)
        assert start.status_code == 302, start.get_data(as_text=True)
        query = parse_qs(urlsplit(start.headers["Location"]).query)
        self.last_authorization = query
        self._nonce = query["nonce"][0]
        return client.get(f"/callback?code=one-time-code&state={query['state'][0]}")
