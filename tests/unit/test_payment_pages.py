"""The payment pages through Flask's test client, on moto: forms, errors, fragments, headers."""

from __future__ import annotations

import dataclasses
import re

import pytest
from botocore.exceptions import EndpointConnectionError
from flask.testing import FlaskClient

from tests.conftest import csrf_token_from
from tests.unit.conftest import csrf_token, sign_in


def _new_form_fields(client: FlaskClient) -> dict[str, str]:
    html = client.get("/payments/new").get_data(as_text=True)
    token = re.search(
        r'id="payment_token" name="payment_token" type="hidden" value="([^"]+)"', html
    )
    assert token, "the form carries a signed payment id"
    return {"csrf_token": csrf_token(client), "payment_token": token.group(1)}


def _create(client: FlaskClient, **fields) -> str:
    data = {
        **_new_form_fields(client),
        "amount": "12.50",
        "currency": "GBP",
        "reference": "Invoice 42",
    }
    data.update(fields)
    response = client.post("/payments", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"]


def test_the_list_says_what_to_do_when_there_are_no_payments(merchant):
    html = merchant.get("/payments").get_data(as_text=True)

    assert "No payment links yet" in html
    assert 'href="/payments/new"' in html


def test_creating_a_payment_link_shows_its_page(merchant):
    location = _create(merchant)

    html = merchant.get(location).get_data(as_text=True)
    assert "£12.50" in html
    assert "Invoice 42" in html
    assert "Awaiting payment" in html
    assert "Copy link" in html
    assert "<svg" in html  # the QR code
    assert re.search(r'<a href="http://localhost/sandbox/links/sbx-link-[0-9a-f]+"', html)


def test_invalid_input_shows_the_form_again_with_messages_and_values(merchant, app):
    data = {
        **_new_form_fields(merchant),
        "amount": "12.555",
        "currency": "GBP",
        "reference": "Invoice <42>",
        "payer_email": "not-an-email",
    }

    response = merchant.post("/payments", data=data)

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "at most 2 digits after the point" in html
    assert "Use letters, digits" in html
    assert "Enter an email address" in html
    assert 'value="12.555"' in html
    assert 'value="not-an-email"' in html
    assert "No payment links yet" in merchant.get("/payments").get_data(as_text=True)


@pytest.mark.parametrize("payer_name", ["Ann\nSmith", "Ann\tSmith", "Ann\r;=1+1"])
def test_a_payer_name_with_a_line_break_or_tab_is_refused_with_the_values_kept(
    merchant, payer_name
):
    data = {
        **_new_form_fields(merchant),
        "amount": "12.50",
        "currency": "GBP",
        "reference": "Invoice 42",
        "payer_name": payer_name,
    }

    response = merchant.post("/payments", data=data)

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "no line breaks, tabs or control characters" in html
    assert 'value="12.50"' in html
    assert 'value="Invoice 42"' in html
    assert "No payment links yet" in merchant.get("/payments").get_data(as_text=True)


def test_the_form_posts_to_its_own_address_so_a_422_keeps_the_url(merchant):
    """After an invalid submit the browser is still at /payments/new, with the form again."""
    form = merchant.get("/payments/new").get_data(as_text=True)
    assert '<form method="post" action="/payments/new"' in form
    data = {**_new_form_fields(merchant), "amount": "12.50", "currency": "EUR"}

    response = merchant.post(
        "/payments/new", data={**data, "reference": "Invoice #42 & more stuff!!"}
    )

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Use at most 18 characters (this has 26)" in page
    assert 'value="Invoice #42 &amp; more stuff!!"' in page  # kept whole, not cut
    assert ">26 / 18</small>" in page
    # Focus goes to the field to correct; the symbol shows the code until app.js runs.
    assert re.search(r'<input[^>]*autofocus[^>]*name="reference"', page)
    assert 'data-currency-symbol-of="currency" aria-hidden="true">EUR</span>' in page


def test_the_new_form_focuses_the_amount_and_shows_the_currency_beside_it(merchant):
    page = merchant.get("/payments/new").get_data(as_text=True)

    assert re.search(r'<input[^>]*autofocus[^>]*name="amount"', page)
    assert page.count("autofocus") == 1
    assert '<option data-symbol="£" selected value="GBP">GBP</option>' in page
    assert 'aria-hidden="true">GBP</span>' in page


def test_a_double_submit_lands_on_the_same_payment(merchant):
    fields = {
        **_new_form_fields(merchant),
        "amount": "5",
        "currency": "EUR",
        "reference": "Order 7",
    }

    first = merchant.post("/payments", data=fields)
    second = merchant.post("/payments", data=fields)

    assert first.headers["Location"] == second.headers["Location"]
    html = merchant.get("/payments").get_data(as_text=True)
    assert html.count("Order 7") == 1


def test_a_tampered_payment_id_is_refused_without_writing(merchant):
    fields = {
        **_new_form_fields(merchant),
        "amount": "5",
        "currency": "EUR",
        "reference": "Order 7",
    }
    fields["payment_token"] = fields["payment_token"][:-2] + "xx"

    response = merchant.post("/payments", data=fields)

    assert response.status_code == 422
    assert "open too long" in response.get_data(as_text=True)
    assert "No payment links yet" in merchant.get("/payments").get_data(as_text=True)


def test_another_merchants_payment_is_not_found_on_every_route(app, merchant):
    location = _create(merchant)
    payment_id = location.rsplit("/", 1)[1]
    other = sign_in(app.test_client(), "mallory@example.com")
    token = csrf_token(other)

    assert other.get(location).status_code == 404
    for action in ("cancel", "retry", "refresh"):
        response = other.post(f"/payments/{payment_id}/{action}", data={"csrf_token": token})
        assert response.status_code == 404, action
    assert "Awaiting payment" in merchant.get(location).get_data(as_text=True)


def test_an_unknown_payment_is_not_found(merchant):
    assert merchant.get("/payments/01900000-0000-7000-8000-000000000000").status_code == 404


def test_htmx_polls_get_only_the_status_panel(merchant):
    location = _create(merchant)

    response = merchant.get(location, headers={"HX-Request": "true"})

    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="payment-panel"')
    assert "<html" not in html
    assert "HX-Request" in response.headers["Vary"]
    assert 'hx-trigger="every 3s"' in html


def test_a_history_restore_gets_the_full_page(merchant):
    location = _create(merchant)

    html = merchant.get(
        location, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    ).get_data(as_text=True)

    assert "<html" in html


def test_polling_stops_once_the_payment_is_final(merchant):
    location = _create(merchant)
    payment_id = location.rsplit("/", 1)[1]
    merchant.post(f"/payments/{payment_id}/cancel", data={"csrf_token": csrf_token(merchant)})

    html = merchant.get(location, headers={"HX-Request": "true"}).get_data(as_text=True)

    assert "Cancelled" in html
    assert "hx-trigger" not in html
    assert "Cancel link" not in html


def test_an_expired_session_sends_htmx_to_sign_in_instead_of_swapping_a_redirect(client):
    response = client.get(
        "/payments/abc",
        headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/payments/abc"},
    )

    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/login?next=/payments/abc"


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"],
)
def test_sign_in_never_redirects_off_site(app, target):
    from dashboard.web.auth.routes import safe_next_url

    with app.test_request_context():
        assert safe_next_url(target) == "/payments"
        assert safe_next_url("/payments/abc?x=1") == "/payments/abc?x=1"


def test_pages_carry_a_strict_content_security_policy(client):
    response = client.get("/")

    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert response.headers["X-Frame-Options"] == "DENY"


def test_health_reports_dynamodb(client):
    response = client.get("/health")

    assert response.status_code == 200
    assert response.json["dynamodb"] == "ok"
    assert response.json["version"]


def test_dynamodb_down_is_a_clear_503_page_not_a_trace(merchant, app, monkeypatch):
    def unreachable(**_kwargs):
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:8000")

    client = app.extensions["store"].client
    monkeypatch.setattr(client, "query", unreachable)
    monkeypatch.setattr(client, "describe_table", unreachable)

    page = merchant.get("/payments")
    health = merchant.get("/health")

    assert page.status_code == 503
    html = page.get_data(as_text=True)
    assert "payment store" in html
    assert "Traceback" not in html
    assert re.search(r"Reference for support: <code>[0-9a-f]{32}</code>", html)
    assert health.status_code == 503
    assert health.json["dynamodb"] == "unavailable"


def test_json_clients_get_json_errors(merchant, app, monkeypatch):
    def unreachable(**_kwargs):
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:8000")

    monkeypatch.setattr(app.extensions["store"].client, "query", unreachable)

    response = merchant.get("/payments", headers={"Accept": "application/json"})

    assert response.status_code == 503
    assert response.json["error"] == "Payment store unavailable"


def test_the_sandbox_reports_through_the_signed_webhook_pipeline(merchant, app, client):
    location = _create(merchant)
    html = merchant.get(location).get_data(as_text=True)
    link_path = re.search(r'href="http://localhost(/sandbox/links/[^"]+)"', html).group(1)
    payer = app.test_client()
    token = csrf_token_from(payer.get(link_path).get_data(as_text=True))

    paid = payer.post(f"{link_path}/pay", data={"csrf_token": token})

    assert paid.status_code == 303
    assert "Completed" in merchant.get(location).get_data(as_text=True)
    store = app.extensions["store"]
    link_id = link_path.rsplit("/", 1)[1]
    attempt_id = store.sandbox_links.get(link_id).attempts[0].payment_id
    from dashboard.core.clock import utc_now

    # Each webhook was verified and recorded for deduplication, like TrueLayer's.
    assert store.webhook_events.seen(f"sandbox:{attempt_id}:executed", utc_now())
    assert store.webhook_events.seen(f"sandbox:{attempt_id}:authorization_required", utc_now())
    keys = client.get("/sandbox/jwks").json["keys"]
    assert keys[0]["crv"] == "P-521"


def test_absurd_input_is_a_clear_answer_never_a_500(merchant):
    huge = "9" * 40

    assert merchant.get(f"/payments?q={huge}").status_code == 200
    assert merchant.get(f"/payments?min={huge}").status_code == 400
    assert merchant.get("/stats?from=0001-01-01&to=0001-01-03").status_code == 400
    assert merchant.get("/payments/" + "x" * 3000).status_code == 404
    assert merchant.get("/pay/" + "t" * 3000).status_code == 404
    fields = {**_new_form_fields(merchant), "amount": huge, "currency": "GBP", "reference": "A"}
    response = merchant.post("/payments", data=fields)
    assert response.status_code == 422
    assert "at most £1,000,000.00" in response.get_data(as_text=True)


def test_health_does_not_tell_the_public_where_dynamodb_is(client, app, monkeypatch):
    def unreachable(**_kwargs):
        raise EndpointConnectionError(endpoint_url="http://internal-db.example:8000")

    monkeypatch.setattr(app.extensions["store"].client, "describe_table", unreachable)

    response = client.get("/health")

    assert response.status_code == 503
    assert "internal-db" not in response.get_data(as_text=True)


def test_a_next_address_with_control_characters_falls_back_to_payments(app):
    from dashboard.web.auth.routes import safe_next_url

    with app.test_request_context():
        assert safe_next_url("/a\nb") == "/payments"


def test_an_unverified_email_does_not_pass_the_domain_allow_list(app):
    from dashboard.web.auth.routes import _email_domain_allowed

    app.extensions["settings"] = dataclasses.replace(
        app.extensions["settings"], signin_allowed_email_domains=("shop.example",)
    )
    with app.app_context():
        assert _email_domain_allowed("ceo@shop.example", True)
        assert not _email_domain_allowed("ceo@shop.example", None)  # unsaid is not verified
        assert not _email_domain_allowed("ceo@shop.example", False)
        assert not _email_domain_allowed("ceo@elsewhere.example", True)


def test_the_create_form_says_how_long_a_payer_name_may_be(merchant):
    html = merchant.get("/payments/new").get_data(as_text=True)

    assert 'name="payer_name"' in html
    assert 'maxlength="60" name="payer_name"' in html or 'name="payer_name" maxlength="60"' in html
    assert "At most 60 characters." in html
