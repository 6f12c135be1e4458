"""Sign-in rules a real provider cannot be made to break on demand: rotated keys, missing claims,
and the production issuer check."""

from __future__ import annotations

import pytest
from moto import mock_aws

from dashboard.app import create_app
from dashboard.config import ConfigError, load_settings
from tests.conftest import TEST_SECRET_KEY
from tests.oidc_standin import CLIENT_ID, OidcStandIn


@pytest.fixture
def provider(httpserver) -> OidcStandIn:
    standin = OidcStandIn(httpserver)
    standin.install()
    return standin


def _app(provider: OidcStandIn, **settings: str):
    app = create_app(
        {
            "APP_ENV": "test",
            "SECRET_KEY": TEST_SECRET_KEY,
            "DYNAMODB_TABLE_PREFIX": "signin-",
            "OIDC_ISSUER": provider.issuer,
            "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": "tests-secret",
            **settings,
        }
    )
    app.extensions["store"].ensure_tables()
    return app


@pytest.fixture
def app(provider):
    with mock_aws():
        yield _app(provider)


def test_a_provider_that_rotated_its_key_still_signs_the_merchant_in(app, provider):
    provider.sign_in(app.test_client())  # the app now holds the provider's key set
    provider.rotate_key()  # same kid, new key: the cached key set cannot verify the new token
    fetched_before = provider.jwks_requests

    client = app.test_client()
    response = provider.sign_in(client)

    assert response.status_code == 302
    assert provider.jwks_requests == fetched_before + 1  # one fresh key set, not one per try
    assert client.get("/payments").status_code == 200


def test_an_id_token_no_published_key_verifies_is_a_clear_sign_in_failure(app, provider):
    provider.signing_key = type(provider.published_key).generate_key(2048, {"kid": "k1"})
    client = app.test_client()

    response = provider.sign_in(client)

    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Sign-in did not work" in html
    assert "could not be verified" in html
    assert provider.jwks_requests == 2  # the cached set, then one forced refetch: no loop
    assert client.get("/payments").status_code == 302  # not signed in


def test_without_email_verified_an_allowed_domain_is_refused(provider):
    provider.claims = {"email": "sam@shop.example", "sub": "sam", "email_verified": None}
    with mock_aws():
        app = _app(provider, SIGNIN_ALLOWED_EMAIL_DOMAINS="shop.example")

        refused = provider.sign_in(app.test_client())
        provider.claims["email_verified"] = True
        allowed = provider.sign_in(app.test_client())

    assert refused.status_code == 403
    assert "not allowed to sign in" in refused.get_data(as_text=True)
    assert allowed.status_code == 302


_PRODUCTION = {
    "APP_ENV": "production",
    "SECRET_KEY": TEST_SECRET_KEY,
    "PAYMENT_PROVIDER": "sandbox",  # refused too, in the same message
    "PUBLIC_BASE_URL": "https://payments.shop.example",
    "RATELIMIT_STORAGE_URI": "redis://cache.shop.example:6379/0",
}


@pytest.mark.parametrize(
    "issuer",
    [
        "http://127.0.0.2:9400",
        "http://login.shop.example",
        "https://127.0.0.1",
        "https://10.1.2.3/",
        "https://192.168.0.10",
        "https://169.254.169.254",
        "https://[::1]:9400",
        "https://[fd00::1]",
        "https://localhost:9400",
        "https://sso.localhost",
        "https://0.0.0.0",
        # Carrier-grade NAT: not private, yet not the internet either.
        "https://100.64.0.1",
        # Short forms the resolver turns into 127.0.0.1 and 10.0.0.1.
        "https://127.1:9400",
        "https://2130706433",
        "https://0x7f000001",
        "https://10.1",
    ],
)
def test_production_refuses_a_sign_in_issuer_that_is_not_public_https(issuer):
    with pytest.raises(ConfigError, match="a real OIDC_ISSUER"):
        load_settings({**_PRODUCTION, "OIDC_ISSUER": issuer})


def test_production_accepts_a_public_https_issuer():
    with pytest.raises(ConfigError) as refused:  # the sandbox provider is still refused
        load_settings({**_PRODUCTION, "OIDC_ISSUER": "https://login.shop.example/"})
    assert "PAYMENT_PROVIDER=truelayer" in str(refused.value)
    assert "OIDC_ISSUER" not in str(refused.value)
