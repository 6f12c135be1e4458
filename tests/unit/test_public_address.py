"""Links and redirects come from PUBLIC_BASE_URL, never from the request's Host header.

Requests naming another host are refused, except the load balancer's probe of /health.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from moto import mock_aws
from pytest_httpserver import HTTPServer

from dashboard.app import create_app
from dashboard.config import ConfigError, load_settings
from tests.conftest import TEST_SECRET_KEY, csrf_token_from
from tests.unit.conftest import sign_in
from tests.unit.test_payment_pages import _create, _new_form_fields

PUBLIC = "https://pay.shop.example"
LONG_LABEL_HOST = "a" * 64 + ".shop.example"


@pytest.fixture
def oidc_metadata(httpserver: HTTPServer) -> str:
    """A sign-in provider that publishes its metadata (all /login needs); return its issuer."""
    issuer = httpserver.url_for("").rstrip("/")
    httpserver.expect_request("/.well-known/openid-configuration").respond_with_json(
        {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/authorize",
            "token_endpoint": f"{issuer}/token",
            "jwks_uri": f"{issuer}/jwks",
            "end_session_endpoint": f"{issuer}/logout",
        }
    )
    return issuer


@pytest.fixture
def public_app(oidc_metadata: str) -> Iterator[Flask]:
    """The app at https://pay.shop.example behind one proxy; the test client's host is trusted."""
    with mock_aws():
        app = create_app(
            {
                "APP_ENV": "test",
                "SECRET_KEY": TEST_SECRET_KEY,
                "OIDC_ISSUER": oidc_metadata,
                "PUBLIC_BASE_URL": PUBLIC,
                "TRUSTED_HOSTS": "localhost",
                "TRUSTED_PROXY_COUNT": "1",
            }
        )
        app.extensions["store"].ensure_tables()
        yield app


def test_a_payment_link_and_its_return_page_are_on_the_public_address(public_app):
    merchant = sign_in(public_app.test_client())

    page = merchant.get(_create(merchant)).get_data(as_text=True)

    link = re.search(r'<a href="([^"]+/sandbox/links/sbx-link-[0-9a-f]+)"', page).group(1)
    assert link.startswith(f"{PUBLIC}/sandbox/links/")
    payer = public_app.test_client()
    hosted_page = payer.get(urlsplit(link).path).get_data(as_text=True)
    paid = payer.post(
        urlsplit(link).path + "/pay", data={"csrf_token": csrf_token_from(hosted_page)}
    )
    assert paid.status_code == 303
    assert paid.headers["Location"].startswith(f"{PUBLIC}/pay/")


def test_a_request_naming_another_host_is_refused_and_creates_nothing(public_app):
    merchant = sign_in(public_app.test_client())
    fields = {**_new_form_fields(merchant), "amount": "12.50", "currency": "GBP"}
    # As curl would send it: the merchant's own cookie, and a Host of the attacker's choosing.
    curl = public_app.test_client()
    session = merchant.get_cookie("pd_session").value
    curl.set_cookie("pd_session", session, domain="evil.example")

    forged = curl.post(
        "/payments", data={**fields, "reference": "Invoice 42"}, headers={"Host": "evil.example"}
    )

    assert forged.status_code == 400
    assert forged.get_data(as_text=True) == f"This server answers for {PUBLIC} only.\n"
    assert "No payment links yet" in merchant.get("/payments").get_data(as_text=True)


def test_a_forged_x_forwarded_host_does_not_choose_the_sign_in_redirect_uri(public_app):
    browser = public_app.test_client()

    response = browser.get("/login", headers={"X-Forwarded-Host": "evil.example"})

    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["redirect_uri"] == [f"{PUBLIC}/callback"]


def test_signing_out_returns_to_the_public_address(public_app):
    merchant = sign_in(public_app.test_client())
    token = re.search(
        r'name="csrf_token" value="([^"]+)"', merchant.get("/payments").get_data(as_text=True)
    ).group(1)

    response = merchant.post(
        "/logout", data={"csrf_token": token}, headers={"X-Forwarded-Host": "evil.example"}
    )

    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["post_logout_redirect_uri"] == [f"{PUBLIC}/"]


@pytest.mark.parametrize("path", ["/", "/login", "/payments", "/api/v1/payments", "/nowhere"])
def test_a_host_label_over_63_characters_is_a_400_not_a_500(public_app, path):
    response = public_app.test_client().get(path, headers={"Host": LONG_LABEL_HOST})

    assert response.status_code == 400


def test_the_load_balancers_health_probe_by_ip_address_is_answered(public_app):
    probe = public_app.test_client()

    health = probe.get("/health", headers={"Host": "10.0.3.7:8000"})
    landing = probe.get("/", headers={"Host": "10.0.3.7:8000"})
    malformed = probe.get("/health", headers={"Host": LONG_LABEL_HOST})

    assert health.status_code == 200
    assert landing.status_code == 400
    assert malformed.status_code == 400
    assert malformed.is_json  # the health endpoint's own JSON error, not a crash


def test_production_needs_an_https_public_base_url():
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL"):
        load_settings({"APP_ENV": "production"})
    with pytest.raises(ConfigError, match="https"):
        load_settings({"APP_ENV": "production", "PUBLIC_BASE_URL": "http://pay.shop.example"})


@pytest.mark.parametrize(
    "value", ["pay.shop.example", "https://pay.shop.example/dashboard", "ftp://pay.shop.example"]
)
def test_a_public_base_url_is_a_scheme_and_host_only(value):
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL"):
        load_settings({"APP_ENV": "development", "PUBLIC_BASE_URL": value})


def test_development_defaults_to_where_make_run_serves():
    assert load_settings({"PORT": "5001"}).public_base_url == "http://127.0.0.1:5001"
