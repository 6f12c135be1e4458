"""Sign-in against a real OpenID Connect provider (oidc-provider-mock), the Authlib code path
Auth0 uses: authorization code with PKCE, state and nonce, then a fresh session."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from dashboard.app import create_app

pytestmark = pytest.mark.integration


@pytest.fixture
def app(live_settings) -> Flask:
    """The app on the real DynamoDB Local and OIDC provider, with its tables."""
    app = create_app(live_settings)
    app.extensions["store"].ensure_tables()
    return app


def _authorize_at_provider(authorize_url: str, subject: str) -> str:
    """Do what the person does on the provider's page; return the callback URL it sends back."""
    response = requests.post(
        authorize_url, data={"sub": subject}, allow_redirects=False, timeout=10
    )
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def _sign_in(client: FlaskClient, subject: str, next_path: str = "/payments/abc"):
    start = client.get(f"/login?next={next_path}")
    assert start.status_code == 302
    authorize_url = start.headers["Location"]
    query = parse_qs(urlsplit(authorize_url).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["state"]
    assert query["nonce"]
    callback = urlsplit(_authorize_at_provider(authorize_url, subject))
    return client.get(f"{callback.path}?{callback.query}")


def test_signing_in_lands_on_the_page_asked_for_with_a_fresh_session(app):
    client = app.test_client()
    with client.session_transaction() as session:
        session["planted"] = "by an attacker before sign-in"

    response = _sign_in(client, "alice@example.com", "/payments/abc")

    assert response.status_code == 302
    assert response.headers["Location"] == "/payments/abc"
    with client.session_transaction() as session:
        assert "planted" not in session
        # The cookie names a server-side session and says nothing of who is signed in.
        assert set(session) - {"_permanent"} == {"sid"}
        assert "alice" not in repr(dict(session))
    assert client.get("/payments").status_code == 200


def test_a_forged_callback_is_refused(app):
    client = app.test_client()
    start = client.get("/login")
    callback = urlsplit(_authorize_at_provider(start.headers["Location"], "alice@example.com"))
    forged_query = callback.query.replace("state=", "state=forged")

    response = client.get(f"{callback.path}?{forged_query}")

    assert response.status_code == 400
    assert "Sign-in did not work" in response.get_data(as_text=True)
    assert client.get("/payments").status_code == 302


def test_denying_at_the_provider_says_so(app):
    client = app.test_client()
    start = client.get("/login")
    denied = requests.post(
        start.headers["Location"], data={"action": "deny"}, allow_redirects=False, timeout=10
    )
    callback = urlsplit(denied.headers["Location"])

    response = client.get(f"{callback.path}?{callback.query}")

    assert response.status_code == 400
    assert "Sign-in did not work" in response.get_data(as_text=True)


def _provider_knows(oidc_provider, subject: str, **claims) -> None:
    """Tell the provider what it knows of a person (oidc-provider-mock's ``PUT /users/{sub}``)."""
    answer = requests.put(f"{oidc_provider.url}/users/{subject}", json=claims, timeout=10)
    assert answer.status_code == 204, answer.text


def test_only_allowed_email_domains_may_sign_in(live_settings, oidc_provider):
    app = create_app({**live_settings, "SIGNIN_ALLOWED_EMAIL_DOMAINS": "shop.example"})
    _provider_knows(
        oidc_provider, "sam@shop.example", email="sam@shop.example", email_verified=True
    )
    _provider_knows(oidc_provider, "eve@elsewhere.example", email="eve@elsewhere.example",
                    email_verified=True)  # fmt: skip
    # The provider never checked this address: no email_verified claim at all.
    _provider_knows(oidc_provider, "una@shop.example", email="una@shop.example")

    refused = _sign_in(app.test_client(), "eve@elsewhere.example")
    unverified = _sign_in(app.test_client(), "una@shop.example")
    allowed = _sign_in(app.test_client(), "sam@shop.example")

    assert refused.status_code == 403
    assert unverified.status_code == 403
    assert allowed.status_code == 302


def test_signing_out_ends_the_session_and_calls_the_providers_logout(app, oidc_provider):
    client = app.test_client()
    _sign_in(client, "alice@example.com")
    page = client.get("/payments").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]

    response = client.post("/logout", data={"csrf_token": token})

    assert response.status_code == 302
    logout = urlsplit(response.headers["Location"])
    assert f"{logout.scheme}://{logout.netloc}" == oidc_provider.url
    assert parse_qs(logout.query)["post_logout_redirect_uri"] == ["http://localhost/"]
    assert client.get("/payments").status_code == 302


def test_a_session_cookie_replayed_after_sign_out_signs_nobody_in(app):
    client = app.test_client()
    _sign_in(client, "alice@example.com")
    page = client.get("/payments/new").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    payment_token = page.split('name="payment_token" type="hidden" value="')[1].split('"')[0]
    cookie = client.get_cookie("pd_session").value

    assert client.post("/logout", data={"csrf_token": token}).status_code == 302

    thief = app.test_client()
    thief.set_cookie("pd_session", cookie)
    assert thief.get("/payments").status_code == 302
    created = thief.post(
        "/payments",
        data={
            "csrf_token": token,
            "payment_token": payment_token,
            "amount": "5.00",
            "currency": "GBP",
            "reference": "Replayed",
        },
    )
    assert created.status_code == 302  # sent to sign in, nothing created
    assert thief.get("/api/v1/payments").status_code == 401
