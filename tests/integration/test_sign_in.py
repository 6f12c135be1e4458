"""Sign-in against a real OpenID Connect provider (oidc-provider-mock), the Authlib code path
Auth0 uses: authorization code with PKCE, state and nonce, then a fresh session; and step-up,
signing in again with max_age before a sensitive action."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from dashboard.app import create_app
from dashboard.core.ids import new_id
from dashboard.web.step_up import recent_sign_in_required
from tests.conftest import csrf_token_from

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


def test_the_local_provider_knows_alice_bob_and_carol_with_verified_emails(app):
    sessions = app.extensions["sessions"]
    for subject, name in [("alice@example.com", "Alice Adams"), ("bob@example.com", "Bob Brown"),
                          ("carol@example.com", "Carol Clark")]:  # fmt: skip
        client = app.test_client()
        assert _sign_in(client, subject).status_code == 302
        with client.session_transaction() as session:
            user = sessions.resolve(session["sid"])
        assert (user.email, user.name, user.email_verified) == (subject, name, True)


# Step-up: oidc-provider-mock sets auth_time to the time of the token exchange, unless the
# person's claims (PUT /users/{sub}) say otherwise; each test signs in its own subject, since
# the provider is shared by the whole test session.

_KEY_TOKEN = re.compile(r'name="key_token" type="hidden" value="([^"]+)"')
SENSITIVE_API_PATH = "/api/v1/step-up-test"


@pytest.fixture
def step_up_app(live_settings) -> Flask:
    """The app on the real services, with a JSON API route behind the step-up."""
    app = create_app(live_settings)
    app.extensions["store"].ensure_tables()
    view = recent_sign_in_required()(lambda: {"done": True})
    app.add_url_rule(SENSITIVE_API_PATH, "api.step_up_test", view, methods=["POST"])
    return app


def _signed_in_an_hour_ago(app: Flask, oidc_provider) -> tuple[FlaskClient, str]:
    subject = f"stepup-{new_id()[-8:]}@example.com"
    _provider_knows(oidc_provider, subject, email=subject, email_verified=True,
                    auth_time=int(time.time()) - 3600)  # fmt: skip
    client = app.test_client()
    assert _sign_in(client, subject, "/settings").status_code == 302
    return client, subject


def _key_form(html: str, name: str) -> dict[str, str]:
    match = _KEY_TOKEN.search(html)
    assert match, "the Settings page shows no create form"
    return {"csrf_token": csrf_token_from(html), "key_token": match.group(1), "name": name}


def _account(app: Flask, client: FlaskClient) -> str:
    with client.session_transaction() as session:
        return app.extensions["sessions"].resolve(session["sid"]).account_id


def test_a_fresh_sign_in_creates_an_api_key(step_up_app):
    client = step_up_app.test_client()
    subject = f"fresh-{new_id()[-8:]}@example.com"
    _sign_in(client, subject, "/settings")

    form = _key_form(client.get("/settings").get_data(as_text=True), "Web shop")
    created = client.post("/settings/api-keys", data=form)

    assert created.status_code == 200
    keys = step_up_app.extensions["api_keys"].list_keys(_account(step_up_app, client))
    assert [key.name for key in keys] == ["Web shop"]


def test_a_stale_sign_in_is_asked_to_confirm_and_nothing_is_created(step_up_app, oidc_provider):
    client, _subject = _signed_in_an_hour_ago(step_up_app, oidc_provider)
    account = _account(step_up_app, client)
    token = csrf_token_from(client.get("/payments").get_data(as_text=True))
    settings = client.get("/settings").get_data(as_text=True)
    assert "<strong>Confirm it's you</strong>" in settings
    assert ">Create API key</button>" not in settings

    posted = client.post("/settings/api-keys", data={"csrf_token": token, "key_token": "x",
                                                     "name": "Web shop"})  # fmt: skip
    htmx = client.post(
        "/settings/api-keys",
        data={"csrf_token": token, "key_token": "x", "name": "Web shop"},
        headers={"HX-Request": "true"},
    )
    api = client.post(SENSITIVE_API_PATH, headers={"X-CSRFToken": token})

    assert posted.status_code == 401
    assert "<h1>Confirm it's you</h1>" in posted.get_data(as_text=True)
    assert htmx.headers["HX-Redirect"] == "/confirm-sign-in?next=/settings"
    assert api.status_code == 401
    assert api.json["type"].endswith("#problem-step-up-required")
    assert step_up_app.extensions["api_keys"].list_keys(account) == []


def test_after_signing_in_again_the_same_session_account_and_csrf_token_work(
    step_up_app, oidc_provider
):
    client, subject = _signed_in_an_hour_ago(step_up_app, oidc_provider)
    with client.session_transaction() as session:
        session_id = session["sid"]
    account = _account(step_up_app, client)
    token = csrf_token_from(client.get("/payments").get_data(as_text=True))
    confirm = client.get("/confirm-sign-in?next=/settings").get_data(as_text=True)
    step_up_link = "/login?next=/settings&max_age=300"
    assert f'href="{step_up_link.replace("&", "&amp;")}" class="button">Sign in again' in confirm
    # The provider authenticates the person again: auth_time is now once more.
    _provider_knows(oidc_provider, subject, email=subject, email_verified=True)

    start = client.get(step_up_link)
    query = parse_qs(urlsplit(start.headers["Location"]).query)
    callback = urlsplit(_authorize_at_provider(start.headers["Location"], subject))
    back = client.get(f"{callback.path}?{callback.query}")

    assert (query["max_age"], query["prompt"]) == (["300"], ["login"])
    assert back.status_code == 302
    assert back.headers["Location"] == "/settings"  # the form's page, with a GET: no replay
    with client.session_transaction() as session:
        assert session["sid"] == session_id
    assert _account(step_up_app, client) == account
    form = _key_form(client.get("/settings").get_data(as_text=True), "Web shop")
    form["csrf_token"] = token  # the one from before signing in again
    assert client.post("/settings/api-keys", data=form).status_code == 200
    assert client.post(SENSITIVE_API_PATH, headers={"X-CSRFToken": token}).status_code == 200
    keys = step_up_app.extensions["api_keys"].list_keys(account)
    assert [key.name for key in keys] == ["Web shop"]


def test_an_id_token_signed_in_longer_ago_than_max_age_is_refused(step_up_app, oidc_provider):
    client, _subject = _signed_in_an_hour_ago(step_up_app, oidc_provider)
    with client.session_transaction() as session:
        session_id = session["sid"]

    # The person's claims still say an hour ago: the provider answers max_age=300 with that.
    start = client.get("/login?next=/settings&max_age=300")
    callback = urlsplit(_authorize_at_provider(start.headers["Location"], _subject))
    refused = client.get(f"{callback.path}?{callback.query}")

    assert refused.status_code == 400
    assert "did not confirm a recent sign-in" in refused.get_data(as_text=True)
    with client.session_transaction() as session:
        assert session["sid"] == session_id  # still signed in, still not confirmed
    assert ">Create API key</button>" not in client.get("/settings").get_data(as_text=True)
