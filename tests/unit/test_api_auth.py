"""Who may call the JSON API: API keys, the browser session (with CSRF), and nobody else."""

from __future__ import annotations

import pytest

from tests.conftest import actor_for
from tests.unit.api_support import (
    ALICE,
    BOB,
    NEW_PAYMENT,
    api_key_for,
    assert_problem,
    bearer,
)
from tests.unit.conftest import csrf_token, sign_in


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/api/v1/payments"),
        ("POST", "/api/v1/payments"),
        ("GET", "/api/v1/payments/0190a3c2-0000-7000-8000-000000000000"),
        ("POST", "/api/v1/payments/0190a3c2-0000-7000-8000-000000000000/cancel"),
        ("GET", "/api/v1/stats"),
    ],
)
def test_without_credentials_every_private_endpoint_is_a_401_problem(client, method, url):
    response = client.open(url, method=method, json=NEW_PAYMENT, headers={"Accept": "text/html"})

    problem = assert_problem(response, 401, "unauthenticated")
    assert "Location" not in response.headers  # never the browser's redirect to sign-in
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    assert "API key" in problem["detail"]


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer",
        "Bearer    ",
        "Basic YWxpY2U6c2VjcmV0",
        "pdk_abcdefghijkl_" + "x" * 43,  # a key without the scheme
        "Bearer pdk_short",
        "Bearer pdk_abcdefghijkl_" + "x" * 43,  # well-formed, unknown
    ],
)
def test_a_malformed_or_unknown_key_is_a_401(client, authorization):
    response = client.get("/api/v1/payments", headers={"Authorization": authorization})

    assert_problem(response, 401, "unauthenticated")
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_a_revoked_key_is_refused_at_once(app, client):
    service = app.extensions["api_keys"]
    key, presented = service.create_key(actor_for(ALICE), "Old shop")
    assert client.get("/api/v1/payments", headers=bearer(presented)).status_code == 200

    service.revoke_key(actor_for(ALICE), key.key_id)
    response = client.get("/api/v1/payments", headers=bearer(presented))

    assert_problem(response, 401, "unauthenticated")


def test_a_refused_key_never_falls_back_to_the_signed_in_session(client):
    sign_in(client, ALICE)
    assert client.get("/api/v1/payments").status_code == 200

    response = client.get("/api/v1/payments", headers={"Authorization": "Bearer wrong"})

    assert_problem(response, 401, "unauthenticated")


def test_a_key_acts_for_its_merchant_even_beside_another_merchants_session(app, client):
    sign_in(client, BOB)
    alices_key = bearer(api_key_for(app, ALICE))

    created = client.post("/api/v1/payments", json=NEW_PAYMENT, headers=alices_key)

    assert created.status_code == 201
    assert client.get("/api/v1/payments").json["data"] == []  # Bob's session sees none
    assert len(client.get("/api/v1/payments", headers=alices_key).json["data"]) == 1


def test_a_key_request_never_writes_a_session_cookie(app, client):
    key = bearer(api_key_for(app, ALICE))

    for response in (
        client.post("/api/v1/payments", json=NEW_PAYMENT, headers=key),
        client.get("/api/v1/payments", headers=key),
    ):
        assert "Set-Cookie" not in response.headers
        assert response.headers["Cache-Control"] == "no-store"
    assert client.get_cookie("pd_session") is None


def test_key_requests_need_no_csrf_token(app, client):
    app.config["WTF_CSRF_ENABLED"] = True
    key = bearer(api_key_for(app, ALICE))

    response = client.post("/api/v1/payments", json=NEW_PAYMENT, headers=key)

    assert response.status_code == 201


def test_the_signed_in_browser_reads_with_its_session(client):
    sign_in(client, ALICE)

    assert client.get("/api/v1/payments").json == {"data": [], "next_cursor": None}
    assert client.get("/api/v1/stats").status_code == 200


def test_a_session_write_without_the_csrf_token_is_refused(client):
    sign_in(client, ALICE)

    response = client.post("/api/v1/payments", json=NEW_PAYMENT)

    assert_problem(response, 403, "csrf-failed")
    assert client.get("/api/v1/payments").json["data"] == []


def test_a_session_write_with_the_csrf_token_goes_through(client):
    sign_in(client, ALICE)
    token = csrf_token(client)

    response = client.post("/api/v1/payments", json=NEW_PAYMENT, headers={"X-CSRFToken": token})

    assert response.status_code == 201
    assert len(client.get("/api/v1/payments").json["data"]) == 1


def test_health_the_document_and_the_docs_are_public(client):
    assert client.get("/api/v1/health").json["status"] == "ok"
    assert client.get("/api/v1/openapi.json").json["openapi"] == "3.1.0"
    assert client.get("/api/v1/docs").status_code == 200
    # Presented credentials do not matter on public endpoints.
    assert client.get("/api/v1/health", headers={"Authorization": "Bearer x"}).status_code == 200
