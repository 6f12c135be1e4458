"""What each role sees and may do, told as the merchant's team meets it; and API key scopes."""

from __future__ import annotations

import pytest
from flask import Blueprint, Flask
from flask.testing import FlaskClient
from moto import mock_aws

from dashboard.app import create_app
from dashboard.domain.accounts import Membership
from dashboard.domain.actor import Actor, Person, Role
from dashboard.domain.api_keys import KeyScope
from dashboard.domain.payment_query import PaymentQuery
from dashboard.domain.permissions import Permission
from dashboard.services.sessions import SESSION_ID_KEY
from dashboard.web.permissions import UndeclaredRoute, check_declarations, public, requires
from tests.conftest import TEST_SECRET_KEY, actor_for, csrf_token_from
from tests.unit.api_support import NEW_PAYMENT, assert_problem, bearer
from tests.unit.conftest import sign_in

OWNER = "owner@example.com"


def member(app: Flask, sub: str, role: Role) -> Person:
    """Make ``sub`` a member of the owner's account with ``role``; return the person."""
    person = Person(app.extensions["settings"].oidc_issuer, sub)
    app.extensions["store"].accounts.add_member(Membership(OWNER, "Shop", person, role, email=sub))
    return person


def signed_in_as(app: Flask, role: Role) -> FlaskClient:
    """Return a browser signed in to the owner's account as a member with ``role``."""
    owner = sign_in(app.test_client(), OWNER)
    if role is Role.OWNER:
        return owner
    sub = f"{role.value}@example.com"
    person = member(app, sub, role)
    client = app.test_client()
    sessions = app.extensions["sessions"]
    session_id = sessions.start(person, OWNER, email=sub, auth_time=sessions.clock())
    with client.session_transaction() as session:
        session.permanent = True
        session[SESSION_ID_KEY] = session_id
    return client


def form_fields(client: FlaskClient, page: str = "/payments") -> dict[str, str]:
    """Return the hidden fields every form of the signed-in member carries."""
    return {
        "csrf_token": csrf_token_from(client.get(page).get_data(as_text=True)),
        "account": OWNER,
    }


def payment_count(app: Flask) -> int:
    """Return how many payments the owner's account has."""
    return sum(1 for _ in app.extensions["payment_listing"].export(OWNER, PaymentQuery()))


def test_a_viewer_sees_no_new_payment_link_and_cannot_create_one(app):
    viewer = signed_in_as(app, Role.VIEWER)

    page = viewer.get("/payments").get_data(as_text=True)
    response = viewer.post(
        "/payments",
        data={**form_fields(viewer), "amount": "12.50", "currency": "GBP", "reference": "Hi"},
    )

    assert "New payment link" not in page
    assert "Create your first payment link" not in page
    assert response.status_code == 403
    assert "Only an Owner, Admin or Payments operator can do this" in response.get_data(
        as_text=True
    )
    assert viewer.get("/payments/new").status_code == 403


def test_a_payments_operator_sees_new_payment_link_and_creates_one(app):
    operator = signed_in_as(app, Role.PAYMENTS_OPERATOR)

    page = operator.get("/payments").get_data(as_text=True)
    new_form = operator.get("/payments/new").get_data(as_text=True)
    token = new_form.split('name="payment_token" type="hidden" value="')[1].split('"')[0]
    response = operator.post(
        "/payments",
        data={
            **form_fields(operator),
            "payment_token": token,
            "amount": "12.50",
            "currency": "GBP",
            "reference": "Invoice 7",
        },
    )

    assert "New payment link" in page
    assert response.status_code == 303


def test_a_viewer_sees_a_payment_without_its_actions(app):
    key = app.extensions["api_keys"].create_key(actor_for(OWNER), "Shop")[1]
    payment = app.test_client().post("/api/v1/payments", json=NEW_PAYMENT, headers=bearer(key))
    url = f"/payments/{payment.json['id']}"

    shown_to_viewer = signed_in_as(app, Role.VIEWER).get(url).get_data(as_text=True)
    shown_to_owner = sign_in(app.test_client(), OWNER).get(url).get_data(as_text=True)

    assert "Cancel link" in shown_to_owner
    assert "Refresh status" in shown_to_owner
    assert "Cancel link" not in shown_to_viewer
    assert "Refresh status" not in shown_to_viewer


def test_a_refusal_on_htmx_is_the_error_block_alone(app):
    viewer = signed_in_as(app, Role.VIEWER)

    response = viewer.get("/orders/new", headers={"HX-Request": "true"})

    assert response.status_code == 403
    assert "<html" not in response.get_data(as_text=True)
    assert "your role here is Viewer" in response.get_data(as_text=True)


def test_a_read_only_key_cannot_create_a_payment_and_a_full_key_can(app, client):
    keys = app.extensions["api_keys"]
    read_only = keys.create_key(actor_for(OWNER), "Reports", scope=KeyScope.READ_ONLY)[1]
    full = keys.create_key(actor_for(OWNER), "Shop", scope=KeyScope.FULL)[1]

    refused = client.post("/api/v1/payments", json=NEW_PAYMENT, headers=bearer(read_only))
    assert payment_count(app) == 0
    created = client.post("/api/v1/payments", json=NEW_PAYMENT, headers=bearer(full))

    body = assert_problem(refused, 403, "forbidden")
    assert "read-only" in body["detail"]
    assert created.status_code == 201
    assert client.get("/api/v1/payments", headers=bearer(read_only)).json["data"]


def test_the_forbidden_problem_type_is_documented(client):
    docs = client.get("/api/v1/docs").get_data(as_text=True)

    assert 'id="problem-forbidden"' in docs


def test_a_key_stored_before_scopes_reads_as_full_and_keeps_working(app, client):
    keys = app.extensions["api_keys"]
    key, presented = keys.create_key(actor_for(OWNER), "Old shop")
    store = app.extensions["store"]
    store.client.update_item(
        TableName=store.tables.api_keys,
        Key={"keyId": {"S": key.key_id}},
        UpdateExpression="REMOVE #scope",
        ExpressionAttributeNames={"#scope": "scope"},
    )

    assert keys.list_keys(OWNER)[0].scope is KeyScope.FULL
    response = client.post("/api/v1/payments", json=NEW_PAYMENT, headers=bearer(presented))
    assert response.status_code == 201


def test_a_key_keeps_working_when_the_member_who_made_it_leaves(app, client):
    developer = member(app, "dev@example.com", Role.DEVELOPER)
    key, presented = app.extensions["api_keys"].create_key(
        Actor.for_person(OWNER, developer, Role.DEVELOPER), "CI"
    )
    store = app.extensions["store"]
    store.client.delete_item(
        TableName=store.tables.accounts,
        Key={"accountId": {"S": OWNER}, "sk": {"S": f"member#{developer.key}"}},
    )

    assert app.extensions["accounts"].membership(developer, OWNER) is None
    assert client.get("/api/v1/payments", headers=bearer(presented)).status_code == 200
    assert key.created_by == developer.key


def test_the_settings_page_shows_each_keys_access_and_who_made_it(app):
    sign_in(app.test_client(), OWNER)
    developer = member(app, "dev@example.com", Role.DEVELOPER)
    keys = app.extensions["api_keys"]
    keys.create_key(Actor.for_person(OWNER, developer), "Reports",
                    scope=KeyScope.READ_ONLY)  # fmt: skip

    page = signed_in_as(app, Role.VIEWER).get("/settings").get_data(as_text=True)

    assert "Read only" in page
    assert "dev@example.com" in page
    assert "Create API key" not in page
    assert "Revoke key" not in page
    assert "Only an Owner, Admin or Developer can create or revoke API keys." in page


def test_a_developer_creates_a_read_only_key_from_the_settings_page(app):
    developer = signed_in_as(app, Role.DEVELOPER)
    page = developer.get("/settings").get_data(as_text=True)
    key_token = page.split('name="key_token" type="hidden" value="')[1].split('"')[0]

    response = developer.post(
        "/settings/api-keys",
        data={**form_fields(developer, "/settings"), "key_token": key_token, "name": "Reports",
              "scope": "read_only"},
    )  # fmt: skip

    assert "A full-access key can create payments" in page
    assert response.status_code == 200
    assert "read-only key" in response.get_data(as_text=True)
    (key,) = app.extensions["api_keys"].list_keys(OWNER)
    assert key.scope is KeyScope.READ_ONLY
    assert key.created_by.endswith("#developer@example.com")


def test_a_payments_operator_cannot_create_an_api_key(app):
    operator = signed_in_as(app, Role.PAYMENTS_OPERATOR)

    response = operator.post(
        "/settings/api-keys", data={**form_fields(operator), "name": "Mine", "scope": "full"}
    )

    assert response.status_code == 403
    assert app.extensions["api_keys"].list_keys(OWNER) == []


def test_a_route_that_declares_no_permission_stops_the_app_from_starting():
    with mock_aws():
        app = create_app({"APP_ENV": "test", "SECRET_KEY": TEST_SECRET_KEY})
    forgotten = Blueprint("forgotten", __name__)

    @forgotten.get("/declared")
    @requires(Permission.READ)
    def declared() -> str:
        return "fine"

    @forgotten.get("/open")
    @public
    def open_page() -> str:
        return "fine"

    @forgotten.get("/forgotten")
    def undeclared() -> str:
        return "oops"

    app.register_blueprint(forgotten)

    with pytest.raises(UndeclaredRoute, match=r"these do not: forgotten\.undeclared$"):
        check_declarations(app)
