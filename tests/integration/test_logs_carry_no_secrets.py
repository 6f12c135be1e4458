"""A whole merchant and payer journey, on DynamoDB Local and the real sign-in provider, then a
look through everything the app logged: no secret any request carried may appear in it."""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from dashboard.app import create_app
from dashboard.web.request_log import declared_path_secrets
from tests.conftest import actor_for, csrf_token_from

pytestmark = pytest.mark.integration

PAYER_EMAIL = "ann.payer@example.com"
# Query parameters that carry secrets or personal data: the sign-in code and state, the search
# text, the provider's payment id on the payer's return. Query strings are never logged at all.
SECRET_QUERY_PARAMETERS = ("code", "state", "q", "payment_id")


class RecordingClient(FlaskClient):
    """A test browser that remembers every method and URL it requested."""

    visited: list[tuple[str, str]]

    def open(self, *args, **kwargs):
        url = args[0] if args and isinstance(args[0], str) else kwargs.get("path", "/")
        self.visited.append((kwargs.get("method", "GET"), url))
        return super().open(*args, **kwargs)


@pytest.fixture
def app(live_settings) -> Flask:
    app = create_app({**live_settings, "DYNAMODB_TABLE_PREFIX": "logs-"})
    app.extensions["store"].ensure_tables()
    app.test_client_class = RecordingClient
    RecordingClient.visited = []
    return app


def _sign_in(browser: FlaskClient, subject: str) -> None:
    start = browser.get("/login?next=/payments")
    signed_in_at_provider = requests.post(
        start.headers["Location"], data={"sub": subject}, allow_redirects=False, timeout=10
    )
    callback = urlsplit(signed_in_at_provider.headers["Location"])
    assert browser.get(f"{callback.path}?{callback.query}").status_code == 302


def _create_payment(browser: FlaskClient) -> str:
    form = browser.get("/payments/new").get_data(as_text=True)
    payment_token = re.search(r'name="payment_token" type="hidden" value="([^"]+)"', form)
    created = browser.post(
        "/payments",
        data={
            "csrf_token": csrf_token_from(form),
            "payment_token": payment_token.group(1),
            "amount": "42.00",
            "currency": "GBP",
            "reference": "Invoice 77",
            "payer_name": "Ann Payer",
            "payer_email": PAYER_EMAIL,
        },
    )
    assert created.status_code == 303, created.get_data(as_text=True)
    page = browser.get(created.headers["Location"]).get_data(as_text=True)
    return re.search(r'<a href="http://localhost(/sandbox/links/[^"]+)"', page).group(1)


def _pay_as_the_payer(payer: FlaskClient, link_path: str) -> None:
    hosted = payer.get(link_path).get_data(as_text=True)
    paid = payer.post(f"{link_path}/pay", data={"csrf_token": csrf_token_from(hosted)})
    assert paid.status_code == 303
    result = urlsplit(paid.headers["Location"])
    result_page = payer.get(f"{result.path}?{result.query}").get_data(as_text=True)
    assert "payment is complete" in result_page


def _secrets_sent(app: Flask, visited: list[tuple[str, str]]) -> set[str]:
    """Return every declared path secret and secret query value the journey's requests held."""
    declared = declared_path_secrets(app)
    adapter = app.url_map.bind("localhost")
    secrets = set()
    for method, url in visited:
        parts = urlsplit(url)
        endpoint, args = adapter.match(parts.path, method=method)
        secrets.update(str(args[name]) for name in declared.get(endpoint, ()))
        secrets.update(v for k, v in parse_qsl(parts.query) if k in SECRET_QUERY_PARAMETERS)
    return secrets


def test_a_whole_journey_logs_none_of_the_secrets_its_requests_carried(app, caplog):
    caplog.set_level(logging.INFO)  # the level the app logs at in production
    merchant, payer = app.test_client(), app.test_client()
    api_key = app.extensions["api_keys"].create_key(actor_for("journey@example.com"), "Shop")[1]

    _sign_in(merchant, "journey@example.com")
    link_path = _create_payment(merchant)
    _pay_as_the_payer(payer, link_path)
    merchant.get(f"/payments?q={PAYER_EMAIL}")
    merchant.get(f"/payments/export.csv?q={PAYER_EMAIL}")
    scripted = merchant.get("/api/v1/payments", headers={"Authorization": f"Bearer {api_key}"})
    assert scripted.status_code == 200
    page = merchant.get("/payments").get_data(as_text=True)
    merchant.post("/logout", data={"csrf_token": csrf_token_from(page)})

    secrets = _secrets_sent(app, RecordingClient.visited) | {api_key, PAYER_EMAIL}
    kinds = {s[:4] for s in secrets}
    assert len(secrets) >= 6, secrets  # link id, payer token, code, state, search, payment id
    assert "sbx-" in kinds  # the sandbox link id was among them
    logged = [logging.Formatter("%(name)s %(message)s").format(r) for r in caplog.records]
    leaks = sorted({secret for secret in secrets for line in logged if secret in line})
    assert leaks == []
    access = [r for r in caplog.records if r.name == "dashboard.access"]
    assert len(access) == len(RecordingClient.visited)  # one line per request, each with its id
    assert all(re.fullmatch(r"[0-9a-f]{32}", r.request_id) for r in access)
