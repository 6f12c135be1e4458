"""Signed-in pages show a merchant's payments: browsers and proxies must not keep copies."""

from __future__ import annotations

import pytest
from flask import Flask, url_for

from dashboard.app import create_app
from tests.conftest import TEST_SECRET_KEY
from tests.unit.test_access import PUBLIC_ENDPOINTS
from tests.unit.test_order_pages import _place
from tests.unit.test_payment_pages import _create


def _signed_in_pages() -> list[str]:
    """Return every GET endpoint behind sign-in that answers a page (not the JSON API)."""
    app = create_app({"APP_ENV": "test", "SECRET_KEY": TEST_SECRET_KEY})
    return sorted(
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods
        and rule.endpoint not in PUBLIC_ENDPOINTS
        and not rule.endpoint.startswith("api.")
    )


@pytest.mark.parametrize("endpoint", _signed_in_pages())
def test_every_signed_in_page_is_sent_with_no_store(app: Flask, merchant, endpoint):
    # Real records, so detail pages render the merchant's data rather than a 404.
    payment_id = _create(merchant).rsplit("/", 1)[1]
    order = _place(app)
    with app.test_request_context():
        rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
        ids = {"payment_id": payment_id, "order_id": order.order_id}
        url = url_for(endpoint, **{arg: ids.get(arg, "x") for arg in rule.arguments})

    response = merchant.get(url)

    assert response.status_code == 200, response.status
    assert "no-store" in response.headers.get("Cache-Control", "")


def test_an_error_page_of_a_signed_in_merchant_is_not_stored_either(merchant):
    response = merchant.get("/payments/not-a-payment")

    assert response.mimetype == "text/html"
    assert "no-store" in response.headers.get("Cache-Control", "")


def test_public_pages_may_be_cached_as_before(client):
    response = client.get("/")

    assert "no-store" not in response.headers.get("Cache-Control", "")
