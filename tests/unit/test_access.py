"""Every route, enumerated from the app's URL map: who may call it, and CSRF on every POST.

New routes are covered automatically; a route that should be public must be listed here, on
purpose, with DESIGN.md's exemptions.
"""

from __future__ import annotations

import pytest
from flask import session, url_for
from flask.testing import FlaskClient
from flask_wtf.csrf import generate_csrf

from dashboard.app import create_app
from tests.conftest import TEST_SECRET_KEY, actor_for
from tests.unit.conftest import sign_in

# DESIGN.md: landing, sign-in, health, static files, webhooks and the payer's pages are public.
PUBLIC_ENDPOINTS = {
    "main.landing",
    "main.health",
    "auth.login",
    "auth.callback",
    "auth.logout",  # signing out needs no sign-in, but still a CSRF token (below)
    "static",
    "payer.payment_result",
    "team.show_invitation",  # the invitation behind its secret link; accepting needs sign-in
    "business.logo",  # the logo payer pages show, by its digest
    "main.choose_theme",  # a display preference in a cookie, signed in or not (CSRF still)
    "sandbox.hosted_page",
    "sandbox.pay",
    "sandbox.decline",
    "sandbox.jwks",  # the public key that signs the sandbox's webhooks
    # The sandbox's controls of a paid payment (settle, refund steps), behind the link's secret
    "sandbox.payment_controls",
    "sandbox.settle_payment",
    "sandbox.execute_refund",
    "sandbox.fail_refund",
    "sandbox.return_refund",
    # The local mail server's Mailbox (never in production): the payer of a test is signed out
    "mailbox.mailbox_page",
    "mailbox.email_page",
    "mailbox.email_html",
    "webhooks.truelayer_webhook",  # authenticated by TrueLayer's signature
    "api.health",
    "api.openapi_document",  # the API's OpenAPI document and its docs page
    "api.docs",
}
# Requests authenticated otherwise than by the session cookie (signatures, API keys).
CSRF_EXEMPT_ENDPOINTS = {"webhooks.truelayer_webhook"}


def _all_routes() -> list[tuple[str, str, str]]:
    """Return (endpoint, method, url) for every route; building the app touches no DynamoDB."""
    app = create_app({"APP_ENV": "test", "SECRET_KEY": TEST_SECRET_KEY})
    routes = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            args = dict.fromkeys(rule.arguments, "x")
            if rule.endpoint == "static":
                args = {"filename": "css/app.css"}
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                routes.append((rule.endpoint, method, url_for(rule.endpoint, **args)))
    return routes


ROUTES = _all_routes()


def _valid_csrf_header(client: FlaskClient) -> dict[str, str]:
    # Mint a token the way a rendered form would, and give the client the session it belongs to.
    with client.application.test_request_context():
        token = generate_csrf()
        raw = session["csrf_token"]
    with client.session_transaction() as client_session:
        client_session["csrf_token"] = raw
    return {"X-CSRFToken": token}


@pytest.mark.parametrize(("endpoint", "method", "url"), ROUTES)
def test_every_private_route_needs_sign_in(client: FlaskClient, endpoint, method, url):
    if endpoint in PUBLIC_ENDPOINTS:
        pytest.skip("public by design")

    response = client.open(url, method=method, headers=_valid_csrf_header(client))

    if endpoint.startswith("api."):
        # The JSON API answers scripts with a 401 problem, never the browser's redirect.
        assert response.status_code == 401
        assert response.mimetype == "application/problem+json"
        assert "Location" not in response.headers
        return
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize(("endpoint", "method", "url"), ROUTES)
def test_every_post_needs_a_csrf_token(client: FlaskClient, endpoint, method, url):
    if method == "GET" or endpoint in CSRF_EXEMPT_ENDPOINTS:
        pytest.skip("not state-changing, or authenticated by a signature")
    sign_in(client)

    response = client.open(url, method=method)

    if endpoint.startswith("api."):
        # Session-authenticated API writes need the token too, refused as a problem.
        assert response.status_code == 403
        assert response.json["type"].endswith("#problem-csrf-failed")
        return
    assert response.status_code == 400
    assert b"Form expired" in response.data


API_WRITES = [r for r in ROUTES if r[0].startswith("api.") and r[1] != "GET"]


@pytest.mark.parametrize(("endpoint", "method", "url"), API_WRITES)
def test_api_writes_with_an_api_key_need_no_csrf_token(app, client, endpoint, method, url):
    _key, presented = app.extensions["api_keys"].create_key(actor_for("alice@example.com"), "Shop")

    response = client.open(url, method=method, headers={"Authorization": f"Bearer {presented}"})

    # Past authentication and CSRF: the route itself answered (no body: 415; no such id: 404).
    assert response.status_code in (404, 415)
    assert "csrf" not in response.json["type"]


def test_the_api_has_writes_to_check():
    assert {e for e, _, _ in API_WRITES} >= {"api.create_payment", "api.cancel_payment"}


def test_the_route_list_covers_the_pages_of_the_product():
    endpoints = {endpoint for endpoint, _, _ in ROUTES}
    assert {
        "payments.list_payments",
        "payments.create_payment",
        "payments.cancel_payment",
    } <= endpoints


def test_a_webhook_without_a_valid_signature_is_refused(client):
    response = client.post(
        "/webhooks/truelayer", json={"type": "payment_executed", "event_id": "e"}
    )

    assert response.status_code == 401
    assert response.json["error"] == "Unauthorized"
