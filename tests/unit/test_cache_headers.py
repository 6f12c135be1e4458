"""Signed-in pages show a merchant's payments: browsers and proxies must not keep copies."""

from __future__ import annotations

import pytest
from flask import Flask, url_for

from dashboard.app import create_app
from dashboard.core.ids import new_id
from dashboard.domain.actor import Role
from tests.conftest import TEST_SECRET_KEY, actor_for
from tests.unit.test_access import PUBLIC_ENDPOINTS
from tests.unit.test_confirm_pages import _join
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
    if endpoint == "refunds.new_refund":  # only a paid payment has a refund form
        payments = app.extensions["payment_service"]
        link_id = payments.get_payment("alice@example.com", payment_id).provider_link_id
        for event in app.extensions["payment_provider"].pay(link_id):
            payments.apply_provider_event(event)
    order = _place(app)
    alice = actor_for("alice@example.com")
    key, _secret = app.extensions["api_keys"].create_key(alice, "Till")
    invitation, _token = app.extensions["invitations"].invite(
        alice, new_id(), "dan@example.com", Role.VIEWER
    )
    # A second Owner, so Alice may leave; an Admin she may remove or make the Owner.
    _join(app, "alice@example.com", "bob@example.com", Role.OWNER)
    carol = _join(app, "alice@example.com", "carol@example.com", Role.ADMIN)
    endpoint_id = (
        app.extensions["webhook_endpoints"].add(alice, None, "https://shop.example/in", "all")[0]
    ).endpoint_id
    with app.test_request_context():
        rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
        ids = {
            "payment_id": payment_id,
            "order_id": order.order_id,
            "key_id": key.key_id,
            "invitation_id": invitation.invitation_id,
            "endpoint_id": endpoint_id,
        }
        values = {arg: ids.get(arg, "x") for arg in rule.arguments}
        if endpoint in ("team.confirm_remove_member", "team.confirm_transfer_ownership"):
            values["member"] = carol.key
        url = url_for(endpoint, **values)

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
