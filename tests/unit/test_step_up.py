"""Step-up: a sensitive action (creating an API key) needs a sign-in from the last 5 minutes.

A stale sign-in is asked to "Confirm it's you" (a page, an htmx redirect or a 401 problem) and
the action is not done; signing in again with ``max_age`` keeps the session, its account and
its CSRF token, and an ID token older than the ``max_age`` asked is refused.
"""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from moto import mock_aws

from dashboard.app import create_app
from dashboard.domain.actor import Person
from dashboard.services.sessions import SESSION_ID_KEY
from dashboard.web.api.openapi import endpoint
from dashboard.web.step_up import recent_sign_in_required
from tests.conftest import TEST_SECRET_KEY, FakeClock, actor_for, csrf_token_from
from tests.oidc_standin import CLIENT_ID, OidcStandIn
from tests.unit.conftest import sign_in

_KEY_TOKEN = re.compile(r'name="key_token" type="hidden" value="([^"]+)"')
SENSITIVE_API_PATH = "/api/v1/step-up-test"


def _sensitive_api_action() -> dict[str, bool]:
    return {"done": True}


def _with_sensitive_api_route(app: Flask) -> Flask:
    """Give the app a JSON API route behind the step-up (no real API route has one yet)."""
    view = recent_sign_in_required()(_sensitive_api_action)
    app.add_url_rule(SENSITIVE_API_PATH, "api.step_up_test", view, methods=["POST"])
    return app


@pytest.fixture
def app(clock: FakeClock) -> Flask:
    """The whole app on moto, its sessions on the test clock, with a sensitive API route."""
    with mock_aws():
        app = create_app(
            {"APP_ENV": "test", "SECRET_KEY": TEST_SECRET_KEY, "DYNAMODB_TABLE_PREFIX": "app-"}
        )
        app.extensions["store"].ensure_tables()
        app.extensions["sessions"].clock = clock
        yield _with_sensitive_api_route(app)


def _create_form(client: FlaskClient, name: str = "Web shop") -> dict[str, str]:
    html = client.get("/settings").get_data(as_text=True)
    match = _KEY_TOKEN.search(html)
    assert match, "the Settings page shows no create form"
    return {"csrf_token": csrf_token_from(html), "key_token": match.group(1), "name": name}


def _keys(app: Flask, account_id: str = "alice@example.com") -> list:
    return app.extensions["api_keys"].list_keys(account_id)


def test_a_fresh_sign_in_creates_an_api_key(app, clock):
    merchant = sign_in(app.test_client())
    form = _create_form(merchant)
    clock.advance(minutes=4, seconds=59)

    response = merchant.post("/settings/api-keys", data=form)

    assert response.status_code == 200
    assert "API key created" in response.get_data(as_text=True)
    assert [key.name for key in _keys(app)] == ["Web shop"]


def test_with_a_stale_sign_in_settings_asks_to_confirm_in_the_create_forms_place(app, clock):
    merchant = sign_in(app.test_client())
    clock.advance(minutes=5, seconds=1)

    html = merchant.get("/settings").get_data(as_text=True)

    assert "<strong>Confirm it's you</strong>" in html
    assert ">Create API key</button>" not in html
    assert 'href="/login?next=/settings&amp;max_age=300"' in html
    assert "Sign out everywhere" in html  # the rest of the page is still there


def test_a_stale_sign_in_posting_the_create_form_gets_confirm_and_no_key(app, clock):
    merchant = sign_in(app.test_client())
    form = _create_form(merchant)
    clock.advance(minutes=6)

    response = merchant.post("/settings/api-keys", data=form)
    html = response.get_data(as_text=True)

    assert response.status_code == 401
    assert "<h1>Confirm it's you</h1>" in html
    assert "nothing was\n     done yet" in html
    # The button signs in again and comes back to the form's page, with a GET: never a replay.
    assert 'href="/login?next=/settings&amp;max_age=300"' in html
    assert _keys(app) == []


def test_a_session_that_never_learnt_when_its_person_signed_in_is_stale(app):
    merchant = sign_in(app.test_client())
    form = _create_form(merchant)
    person = Person(app.extensions["settings"].oidc_issuer, "alice@example.com")
    # What a provider that sends no auth_time leaves: a session with no sign-in time.
    session_id = app.extensions["sessions"].start(person, "alice@example.com")
    with merchant.session_transaction() as session:
        session[SESSION_ID_KEY] = session_id

    response = merchant.post("/settings/api-keys", data=form)

    assert response.status_code == 401
    assert _keys(app) == []


def test_htmx_with_a_stale_sign_in_is_sent_to_the_confirm_page(app, clock):
    merchant = sign_in(app.test_client())
    form = _create_form(merchant)
    clock.advance(minutes=6)

    response = merchant.post(
        "/settings/api-keys",
        data=form,
        headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/settings"},
    )

    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/confirm-sign-in?next=/settings"
    assert _keys(app) == []
    page = merchant.get(response.headers["HX-Redirect"])
    assert page.status_code == 200
    assert "<h1>Confirm it's you</h1>" in page.get_data(as_text=True)


def test_the_confirm_page_never_sends_anyone_offsite(app, clock):
    merchant = sign_in(app.test_client())
    clock.advance(minutes=6)

    offsite = merchant.get("/confirm-sign-in?next=https://evil.example/")

    assert offsite.status_code == 200
    assert "evil.example" not in offsite.get_data(as_text=True)
    assert offsite.headers["Cache-Control"] == "no-store"
    assert app.test_client().get("/confirm-sign-in").status_code == 302  # signed out: sign in


def test_a_session_caller_of_the_api_gets_401_step_up_required(app, clock):
    merchant = sign_in(app.test_client())
    token = csrf_token_from(merchant.get("/settings").get_data(as_text=True))
    fresh = merchant.post(SENSITIVE_API_PATH, headers={"X-CSRFToken": token})
    clock.advance(minutes=6)

    stale = merchant.post(SENSITIVE_API_PATH, headers={"X-CSRFToken": token})

    assert fresh.status_code == 200
    assert stale.status_code == 401
    assert stale.mimetype == "application/problem+json"
    assert stale.json["type"].endswith("#problem-step-up-required")
    assert stale.json["title"] == "Confirm it's you"
    assert "max_age=300" in stale.json["detail"]
    assert 'error="insufficient_user_authentication"' in stale.headers["WWW-Authenticate"]


def test_an_api_key_has_no_sign_in_to_refresh_and_is_not_asked(app):
    _key, full_key = app.extensions["api_keys"].create_key(actor_for("acct-1"), "Shop")

    response = app.test_client().post(
        SENSITIVE_API_PATH, headers={"Authorization": f"Bearer {full_key}"}
    )

    assert response.status_code == 200


def test_the_api_documents_the_step_up_problem(app):
    document = app.test_client().get("/api/v1/openapi.json").json
    docs = app.test_client().get("/api/v1/docs").get_data(as_text=True)

    assert (
        "`step-up-required`"
        in document["paths"]["/payments"]["get"]["responses"]["401"]["description"]
    )
    assert 'id="problem-step-up-required"' in docs


# Signing in again, through the OIDC stand-in, which says when the person authenticated.


@pytest.fixture
def provider(httpserver) -> OidcStandIn:
    standin = OidcStandIn(httpserver)
    standin.install()
    return standin


@pytest.fixture
def oidc_app(provider: OidcStandIn, clock: FakeClock) -> Flask:
    with mock_aws():
        app = create_app(
            {
                "APP_ENV": "test",
                "SECRET_KEY": TEST_SECRET_KEY,
                "DYNAMODB_TABLE_PREFIX": "stepup-",
                "OIDC_ISSUER": provider.issuer,
                "OIDC_CLIENT_ID": CLIENT_ID,
                "OIDC_CLIENT_SECRET": "tests-secret",
            }
        )
        app.extensions["store"].ensure_tables()
        yield app


STEP_UP = "/login?next=/settings&max_age=300"


def _signed_in_long_ago(app: Flask, provider: OidcStandIn) -> FlaskClient:
    """Return a browser whose sign-in at the provider was an hour ago."""
    client = app.test_client()
    provider.claims["auth_time"] = int(time.time()) - 3600
    assert provider.sign_in(client).status_code == 302
    return client


def _session_id(client: FlaskClient) -> str:
    with client.session_transaction() as session:
        return session[SESSION_ID_KEY]


def test_signing_in_again_keeps_the_session_its_account_and_csrf_token(oidc_app, provider):
    merchant = _signed_in_long_ago(oidc_app, provider)
    before = _session_id(merchant)
    account = oidc_app.extensions["sessions"].resolve(before).account_id
    settings = merchant.get("/settings").get_data(as_text=True)
    token = csrf_token_from(settings)
    assert ">Create API key</button>" not in settings

    provider.claims["auth_time"] = int(time.time())
    back = provider.sign_in(merchant, STEP_UP)

    assert provider.last_authorization["max_age"] == ["300"]
    assert provider.last_authorization["prompt"] == ["login"]
    assert back.status_code == 302
    assert back.headers["Location"] == "/settings"
    assert _session_id(merchant) == before
    assert oidc_app.extensions["sessions"].resolve(before).account_id == account
    html = merchant.get("/settings").get_data(as_text=True)
    key_token = _KEY_TOKEN.search(html).group(1)
    created = merchant.post(
        "/settings/api-keys",
        data={"csrf_token": token, "key_token": key_token, "name": "Shop", "account": account},
    )
    assert created.status_code == 200
    assert [key.name for key in oidc_app.extensions["api_keys"].list_keys(account)] == ["Shop"]


def test_an_id_token_signed_in_longer_ago_than_max_age_is_refused(oidc_app, provider):
    merchant = _signed_in_long_ago(oidc_app, provider)
    before = _session_id(merchant)

    provider.claims["auth_time"] = int(time.time()) - 301 - 60  # past max_age and the leeway
    refused = provider.sign_in(merchant, STEP_UP)

    assert refused.status_code == 400
    assert "did not confirm a recent sign-in" in refused.get_data(as_text=True)
    assert _session_id(merchant) == before  # still signed in, still not confirmed
    assert ">Create API key</button>" not in merchant.get("/settings").get_data(as_text=True)


def test_an_id_token_without_auth_time_is_refused_when_max_age_was_asked(oidc_app, provider):
    merchant = _signed_in_long_ago(oidc_app, provider)

    provider.claims["auth_time"] = None  # left out of the ID token
    refused = provider.sign_in(merchant, STEP_UP)

    assert refused.status_code == 400
    assert "did not confirm a recent sign-in" in refused.get_data(as_text=True)


def test_a_provider_clock_a_little_behind_is_allowed(oidc_app, provider):
    merchant = _signed_in_long_ago(oidc_app, provider)

    provider.claims["auth_time"] = int(time.time()) - 300 - 30  # within the 60 s leeway
    back = provider.sign_in(merchant, STEP_UP)

    assert back.status_code == 302


def test_someone_else_signing_in_at_the_step_up_gets_a_session_of_their_own(oidc_app, provider):
    merchant = _signed_in_long_ago(oidc_app, provider)
    before = _session_id(merchant)

    provider.claims.update(auth_time=int(time.time()), sub="bob@example.com")
    back = provider.sign_in(merchant, STEP_UP)

    assert back.status_code == 302
    assert _session_id(merchant) != before
    assert oidc_app.extensions["sessions"].resolve(before) is None
    assert oidc_app.extensions["sessions"].resolve(_session_id(merchant)).person.sub == (
        "bob@example.com"
    )


def test_a_plain_sign_in_asks_for_no_max_age(oidc_app, provider):
    provider.claims["auth_time"] = int(time.time())
    provider.sign_in(oidc_app.test_client())

    assert "max_age" not in provider.last_authorization
    assert "prompt" not in provider.last_authorization


@pytest.mark.parametrize("max_age", ["abc", "-1", "99999999", "３００"])
def test_a_max_age_that_is_not_a_number_of_seconds_is_a_plain_sign_in(oidc_app, max_age):
    start = oidc_app.test_client().get(f"/login?max_age={max_age}")

    query = parse_qs(urlsplit(start.headers["Location"]).query)
    assert start.status_code == 302
    assert "max_age" not in query


def test_an_api_operation_behind_the_step_up_says_so_in_the_document():
    operation = endpoint(
        "post", "/members", "inviteMember", "Invite", tag="Team", responses={}, step_up=True
    ).operation

    assert "`step-up-required`" in operation["description"]
    assert "401" in operation["responses"]


def test_confirming_a_sign_in_on_a_session_that_ended_writes_nothing(app, clock):
    sessions = app.extensions["sessions"]
    person = Person(app.extensions["settings"].oidc_issuer, "alice@example.com")
    session_id = sessions.start(person, "alice@example.com", auth_time=clock())
    sessions.end(session_id)

    assert sessions.confirm_sign_in(session_id, clock(), email_verified=True) is False
    assert sessions.resolve(session_id) is None
