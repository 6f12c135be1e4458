"""The OpenID Connect client: Authlib's Flask client, held to the outbound HTTP policy.

* Every call to the provider (discovery, token, JWKS, userinfo) runs within one deadline per
  request, retries included (Authlib and requests retry nothing by themselves), so a sign-in
  step gives up after ``BUDGET_SECONDS`` however many calls it makes.
* At most ``MAX_CONCURRENT_CALLS`` provider calls run at once per process; a request that
  cannot get a slot within ``SLOT_WAIT_SECONDS`` is refused at once ("Sign-in is unavailable"),
  so a hung provider never holds every worker thread.
* An ID token that fails verification is verified once more against a freshly fetched key set
  (the provider may have rotated its key under the same ``kid``); the code it came with is
  single-use, so the same token is checked again, never a new one requested.
"""

from __future__ import annotations

import logging
from typing import Any

from authlib.integrations.flask_client import FlaskOAuth2App, OAuth
from authlib.integrations.requests_client import OAuth2Session
from flask import g, has_request_context
from joserfc.errors import ClaimError, JoseError

from dashboard.providers import outbound

log = logging.getLogger(__name__)

BUDGET_SECONDS = 8.0
MAX_CONCURRENT_CALLS = 2
SLOT_WAIT_SECONDS = 0.25


class IdTokenRejected(Exception):
    """Raised when the provider's ID token cannot be verified, even with a fresh key set."""


class _ProviderSession(OAuth2Session):
    """A requests session whose every call takes a slot and stays within the request's budget."""

    gate: outbound.ConcurrencyGate
    budget_seconds: float

    def request(
        self,
        method: str,
        url: str,
        withhold_token: bool = False,
        auth: Any = None,
        **kwargs: Any,
    ) -> Any:
        """Send one provider request within the request's deadline, holding a gate slot."""
        deadline = _deadline(self.budget_seconds)
        parent = super().request

        def send(method_: str, url_: str, **kw: Any) -> Any:
            return parent(method_, url_, withhold_token=withhold_token, auth=auth, **kw)

        return outbound.send(send, method, url, deadline, self.gate, **kwargs)


def _deadline(seconds: float) -> outbound.Deadline:
    # One budget for every provider call a request makes: a callback's token exchange and key
    # fetches share it, so the merchant has an answer within it whatever the provider does.
    if not has_request_context():
        return outbound.Deadline(seconds)
    if "oidc_deadline" not in g:
        g.oidc_deadline = outbound.Deadline(seconds)
    return g.oidc_deadline


class DeadlineOAuth2App(FlaskOAuth2App):
    """Authlib's Flask OAuth 2 client with deadlines, a concurrency cap and one key refetch."""

    client_cls = _ProviderSession
    gate = outbound.ConcurrencyGate("the sign-in provider", MAX_CONCURRENT_CALLS, SLOT_WAIT_SECONDS)
    budget_seconds = BUDGET_SECONDS

    def _get_session(self) -> _ProviderSession:
        return self._held_to_policy(super()._get_session())

    def _get_oauth_client(self, **metadata: Any) -> _ProviderSession:
        return self._held_to_policy(super()._get_oauth_client(**metadata))

    def _held_to_policy(self, session: _ProviderSession) -> _ProviderSession:
        session.gate = self.gate
        session.budget_seconds = self.budget_seconds
        return session

    def parse_id_token(
        self,
        token: dict[str, Any],
        nonce: str | None,
        claims_options: Any = None,
        claims_cls: Any = None,
        leeway: int = 120,
    ) -> Any:
        """Return the verified ID token's claims; raise IdTokenRejected if it cannot be verified.

        A signature or key failure is retried once against a freshly fetched key set; wrong
        claims (audience, nonce, expiry) are not a key problem and are refused at once.
        """
        verify = lambda: super(DeadlineOAuth2App, self).parse_id_token(  # noqa: E731
            token, nonce, claims_options=claims_options, claims_cls=claims_cls, leeway=leeway
        )
        g.oidc_keys_refetched = False
        try:
            return verify()
        except ClaimError as exc:
            raise IdTokenRejected(f"ID token claims refused: {exc}") from exc
        except JoseError as exc:
            if g.oidc_keys_refetched:  # Authlib already refetched (unknown kid): no second try
                raise IdTokenRejected(f"ID token not verified: {exc}") from exc
            log.info("ID token not verified with the cached key set (%s); refetching it", exc)
        self.fetch_jwk_set(force=True)
        try:
            return verify()
        except JoseError as exc:
            raise IdTokenRejected(f"ID token not verified with a fresh key set: {exc}") from exc

    def fetch_jwk_set(self, force: bool = False) -> Any:
        """Return the provider's key set; fetch it at most once per request when forced."""
        if force and has_request_context():
            if g.get("oidc_keys_refetched") and self.server_metadata.get("jwks"):
                return self.server_metadata["jwks"]
            g.oidc_keys_refetched = True
        return super().fetch_jwk_set(force=force)


class DeadlineOAuth(OAuth):
    """Authlib's Flask registry, building DeadlineOAuth2App clients."""

    oauth2_client_cls = DeadlineOAuth2App
