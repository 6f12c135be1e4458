"""Server-side sessions, through Flask's test client on moto: sign-out ends them for good, they
time out when idle and after their lifetime, and an open tab's form keeps working meanwhile."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from botocore.exceptions import EndpointConnectionError
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import FakeClock, csrf_token_from
from tests.unit.conftest import csrf_token, sign_in

_PAYMENT_TOKEN = re.compile(r'name="payment_token" type="hidden" value="([^"]+)"')
_KEY_TOKEN = re.compile(r'name="key_token" type="hidden" value="([^"]+)"')


@pytest.fixture
def clock(app: Flask) -> FakeClock:
    """The clock the app's sessions run on, moved by hand."""
    fake = FakeClock()
    app.extensions["sessions"].clock = fake
    return fake


def _new_payment_form(client: FlaskClient) -> dict[str, str]:
    html = client.get("/payments/new").get_data(as_text=True)
    return {
        "csrf_token": csrf_token_from(html),
        "payment_token": _PAYMENT_TOKEN.search(html).group(1),
        "amount": "12.50",
        "currency": "GBP",
        "reference": "Invoice 42",
    }


def _new_key_form(client: FlaskClient) -> dict[str, str]:
    html = client.get("/settings").get_data(as_text=True)
    return {
        "csrf_token": csrf_token_from(html),
        "key_token": _KEY_TOKEN.search(html).group(1),
        "name": "Web shop",
    }


def _replaying(app: Flask, cookie: str) -> FlaskClient:
    """Return a browser that sends a copied session cookie."""
    thief = app.test_client()
    thief.set_cookie("pd_session", cookie)
    return thief


def _sessions_calls(app: Flask) -> list[str]:
    """Record the DynamoDB operations sent to the Sessions table from now on."""
    calls: list[str] = []
    table = app.extensions["store"].tables.sessions

    def record(model, params, **_kwargs):
        if params.get("TableName") == table or table in params.get("RequestItems", {}):
            calls.append(model.name)

    app.extensions["store"].client.meta.events.register("before-parameter-build.dynamodb", record)
    return calls


def test_a_cookie_replayed_after_sign_out_reads_and_writes_nothing(app, clock):
    merchant = sign_in(app.test_client())
    payment_form = _new_payment_form(merchant)
    key_form = _new_key_form(merchant)
    cookie = merchant.get_cookie("pd_session").value

    signed_out = merchant.post("/logout", data={"csrf_token": csrf_token(merchant)})
    assert signed_out.status_code == 302

    thief = _replaying(app, cookie)
    assert thief.get("/payments").status_code == 302
    assert thief.post("/payments", data=payment_form).status_code == 302
    assert thief.post("/settings/api-keys", data=key_form).status_code == 302
    api_list = thief.get("/api/v1/payments", headers={"X-CSRFToken": payment_form["csrf_token"]})
    assert api_list.status_code == 401
    api_create = thief.post(
        "/api/v1/payments",
        json={"amount": "1.00", "currency": "GBP", "reference": "Stolen"},
        headers={"X-CSRFToken": payment_form["csrf_token"]},
    )
    assert api_create.status_code == 401
    # Nothing was made for the merchant by the replayed cookie.
    again = sign_in(app.test_client())
    assert "Invoice 42" not in again.get("/payments").get_data(as_text=True)
    assert app.extensions["api_keys"].list_keys("alice@example.com") == []


def test_sign_out_everywhere_ends_every_session_of_that_person_only(app, clock):
    laptop = sign_in(app.test_client())
    phone = sign_in(app.test_client())
    bob = sign_in(app.test_client(), "bob@example.com")
    settings_page = laptop.get("/settings").get_data(as_text=True)
    assert ">Sign out everywhere</button>" in settings_page

    response = laptop.post(
        "/settings/sign-out-everywhere", data={"csrf_token": csrf_token_from(settings_page)}
    )

    assert response.status_code == 303
    assert laptop.get("/payments").status_code == 302
    assert phone.get("/payments").status_code == 302
    assert bob.get("/payments").status_code == 200


def test_a_session_ends_after_its_idle_timeout(app, clock):
    merchant = sign_in(app.test_client())
    idle = app.extensions["sessions"].idle
    assert idle == timedelta(minutes=120)  # the documented default

    clock.advance(minutes=119)
    assert merchant.get("/payments").status_code == 200  # and it counts as activity
    clock.advance(minutes=119)
    assert merchant.get("/payments").status_code == 200
    clock.advance(minutes=121)
    assert merchant.get("/payments").status_code == 302


def test_a_busy_session_still_ends_at_its_absolute_lifetime(app, clock):
    merchant = sign_in(app.test_client())
    assert app.extensions["sessions"].lifetime == timedelta(hours=12)

    for _hour in range(11):
        clock.advance(hours=1)
        assert merchant.get("/payments").status_code == 200
    clock.advance(minutes=59)
    assert merchant.get("/payments").status_code == 200
    clock.advance(minutes=1)
    assert merchant.get("/payments").status_code == 302


def test_an_open_tabs_form_keeps_working_while_its_session_lives(app, clock):
    merchant = sign_in(app.test_client())
    form = _new_payment_form(merchant)  # the tab is left open...

    clock.advance(minutes=100)  # ...and used again within the idle timeout
    response = merchant.post("/payments", data=form)

    assert response.status_code == 303
    assert "Invoice 42" in merchant.get(response.headers["Location"]).get_data(as_text=True)


def test_each_request_reads_the_session_once_and_writes_last_seen_once_a_minute(app, clock):
    merchant = sign_in(app.test_client())
    calls = _sessions_calls(app)

    for _ in range(5):
        clock.advance(seconds=10)
        assert merchant.get("/payments").status_code == 200
    # 50 s after sign-in: nothing written yet. Once the app knows whose session it is, the
    # session item comes with the membership item, in one BatchGetItem.
    assert calls == ["GetItem"] + ["BatchGetItem"] * 4

    calls.clear()
    clock.advance(seconds=15)
    merchant.get("/payments")
    merchant.get("/payments")
    assert calls == ["BatchGetItem", "UpdateItem", "BatchGetItem"]


def test_dynamodb_down_while_checking_the_session_is_the_usual_503(app, clock, monkeypatch):
    merchant = sign_in(app.test_client())

    def unreachable(**_kwargs):
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:8000")

    monkeypatch.setattr(app.extensions["store"].client, "get_item", unreachable)

    page = merchant.get("/payments")
    api = merchant.get("/api/v1/payments")

    assert page.status_code == 503
    assert "payment store" in page.get_data(as_text=True)
    assert api.status_code == 503
    assert api.mimetype == "application/problem+json"
