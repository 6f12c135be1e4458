"""Every irreversible action asks once, the same way: a dialog on the page, a confirm page without
JavaScript. Showing the question changes nothing; the Confirm button does it.

Each story opens the action's confirm page as a browser without JavaScript does (the action's
button is a link to it), reads what it says will happen, checks nothing changed yet, then sends
the page's own form.
"""

from __future__ import annotations

import html
import re
from decimal import Decimal

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient

from dashboard.core.ids import new_id
from dashboard.domain.actor import Actor, Person, Role
from dashboard.domain.orders import OrderFields
from dashboard.domain.payments import PaymentStatus
from dashboard.services.sessions import SESSION_ID_KEY
from tests.conftest import actor_for
from tests.unit.conftest import csrf_token

ALICE, BOB, CAROL = "alice@example.com", "bob@example.com", "carol@example.com"


def _confirm(client: FlaskClient, confirm_url: str) -> tuple[str, str, dict[str, str]]:
    """Open a confirm page; return its text, where its form posts, and the form's fields."""
    response = client.get(confirm_url)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    form = re.search(
        r'<form method="post" action="([^"]+)" class="confirm-form">(.*?)</form>', page, re.S
    )
    assert form, "the confirm page holds the form that does it"
    fields = {}
    for tag in re.findall(r'<input type="hidden"[^>]*>', form.group(2)):
        attributes = dict(re.findall(r'([\w-]+)="([^"]*)"', tag))
        fields[attributes["name"]] = html.unescape(attributes["value"])
    assert re.search(r'<button type="submit" class="danger">', form.group(2))
    return html.unescape(page), form.group(1), fields


def _offers(page: str, confirm_url: str, dialog_words: str) -> None:
    """Check the page's button links to the confirm page and opens a dialog with its words."""
    link = re.search(
        rf'<a href="{re.escape(html.escape(confirm_url))}" role="button"[^>]*data-confirm="([\w-]+)"',
        page,
    )
    assert link, f"no button links to {confirm_url}"
    dialog = re.search(rf'<dialog id="{link.group(1)}".*?</dialog>', page, re.S)
    assert dialog, "the button's dialog is on the page"
    assert dialog_words in html.unescape(dialog.group(0))


def _signed_in(app: Flask, sub: str, account_id: str) -> FlaskClient:
    """Return a browser signed in just now as ``sub``, working in ``account_id``."""
    client = app.test_client()
    person = Person(app.extensions["settings"].oidc_issuer, sub)
    sessions = app.extensions["sessions"]
    session_id = sessions.start(person, account_id, email=sub, auth_time=sessions.clock())
    with client.session_transaction() as session:
        session.permanent = True
        session[SESSION_ID_KEY] = session_id
    return client


def _join(app: Flask, account_id: str, email: str, role: Role) -> Person:
    """Make ``email`` a member of the account through an accepted invitation; return them."""
    invitations = app.extensions["invitations"]
    _invitation, token = invitations.invite(actor_for(account_id), new_id(), email, role)
    person = Person(app.extensions["settings"].oidc_issuer, email)
    invitations.accept(Actor.for_person(account_id, person), token, email, True, None)
    return person


def _new_payment(merchant: FlaskClient) -> str:
    """Create a payment link through the form; return its page's path."""
    page = merchant.get("/payments/new").get_data(as_text=True)
    token = re.search(r'name="payment_token" type="hidden" value="([^"]+)"', page)
    assert token
    fields = {"csrf_token": csrf_token(merchant), "payment_token": token.group(1)}
    data = {**fields, "amount": "12.50", "currency": "GBP", "reference": "Invoice 42"}
    response = merchant.post("/payments", data=data)
    assert response.status_code == 303
    return response.headers["Location"]


def _new_order(app: Flask):
    fields = OrderFields(
        customer_name="Ada Lovelace",
        customer_email="ada@example.com",
        product_name="Manual",
        quantity=1,
        unit_price=Decimal("5.00"),
        currency="GBP",
    )
    return app.extensions["order_service"].create_order(actor_for(ALICE), new_id(), fields)


def test_cancel_link_asks_first_and_cancels_only_when_confirmed(app, merchant):
    path = _new_payment(merchant)
    payment_id = path.rsplit("/", 1)[1]
    _offers(merchant.get(path).get_data(as_text=True), f"{path}/cancel/confirm", "Invoice 42")

    page, action, fields = _confirm(merchant, f"{path}/cancel/confirm")

    assert "Cancel this payment link?" in page
    assert "The link for Invoice 42 stops working: the payer can no longer pay it." in page
    assert f'href="{path}"' in page  # Keep it: back to the payment
    payment = app.extensions["payment_service"].get_payment(ALICE, payment_id)
    assert payment.status is PaymentStatus.AWAITING_PAYMENT  # asking changed nothing
    assert action == f"{path}/cancel"
    assert "account" in fields  # the account guard's field, after the CSRF token

    done = merchant.post(action, data=fields)
    assert done.status_code == 303
    assert app.extensions["payment_service"].get_payment(ALICE, payment_id).status is (
        PaymentStatus.CANCELLED
    )
    assert "The payment link is cancelled" in merchant.get(path).get_data(as_text=True)
    # Once cancelled, the question is not asked again.
    assert merchant.get(f"{path}/cancel/confirm").status_code == 303


def test_cancel_order_and_delete_order_ask_first(app, merchant):
    order = _new_order(app)
    path = f"/orders/{order.order_id}"
    shown = merchant.get(path).get_data(as_text=True)
    _offers(shown, f"{path}/cancel/confirm", f"Cancel {order.number_label}?")
    _offers(shown, f"{path}/delete/confirm", f"Delete {order.number_label}?")

    page, action, fields = _confirm(merchant, f"{path}/cancel/confirm")
    assert "Ada Lovelace can no longer pay it. This cannot be undone." in page
    assert merchant.post(action, data=fields).status_code == 303
    assert app.extensions["order_service"].get_order(ALICE, order.order_id).status.value == (
        "cancelled"
    )

    page, action, fields = _confirm(merchant, f"{path}/delete/confirm")
    assert f"{order.number_label} is deleted for good. This cannot be undone." in page
    assert merchant.get(path).status_code == 200  # asking deleted nothing
    assert merchant.post(action, data=fields).headers["Location"] == "/orders"
    assert merchant.get(path).status_code == 404


def test_revoking_an_api_key_asks_first(app, merchant):
    key, _secret = app.extensions["api_keys"].create_key(actor_for(ALICE), "Till")
    confirm_url = f"/settings/api-keys/{key.key_id}/revoke/confirm"
    _offers(merchant.get("/settings").get_data(as_text=True), confirm_url, "“Till”")

    page, action, fields = _confirm(merchant, confirm_url)

    assert "Revoke the API key “Till”?" in page
    assert "stop working at once" in page
    assert app.extensions["api_keys"].list_keys(ALICE)[0].is_active
    assert merchant.post(action, data=fields).status_code == 303
    assert not app.extensions["api_keys"].list_keys(ALICE)[0].is_active
    assert merchant.get("/settings/api-keys/no-such-key/revoke/confirm").status_code == 404


def test_sign_out_everywhere_asks_first(merchant):
    confirm_url = "/settings/sign-out-everywhere/confirm"
    _offers(merchant.get("/settings").get_data(as_text=True), confirm_url, "this one included")

    page, action, fields = _confirm(merchant, confirm_url)

    assert "Every session of yours ends, on every device and browser" in page
    assert merchant.get("/payments").status_code == 200  # still signed in
    assert merchant.post(action, data=fields).status_code == 303
    assert merchant.get("/payments").status_code == 302  # to sign in


@pytest.fixture
def team(app, merchant) -> dict[str, Person]:
    """Alice's account with Bob as a Viewer and Carol as an Admin."""
    return {
        "bob": _join(app, ALICE, BOB, Role.VIEWER),
        "carol": _join(app, ALICE, CAROL, Role.ADMIN),
    }


def _role_of(app: Flask, person: Person) -> Role | None:
    membership = app.extensions["accounts"].membership(person, ALICE)
    return membership.role if membership else None


def test_removing_a_member_asks_first_and_names_them(app, merchant, team):
    bob = team["bob"]
    with app.test_request_context():
        confirm_url = url_for("team.confirm_remove_member", member=bob.key)
    _offers(merchant.get("/settings/team").get_data(as_text=True), confirm_url, "Remove bob@")

    page, action, fields = _confirm(merchant, confirm_url)

    assert "bob@example.com loses access to this account at once." in page
    assert _role_of(app, bob) is Role.VIEWER
    assert fields["member"] == bob.key
    assert merchant.post(action, data=fields).status_code == 303
    assert _role_of(app, bob) is None
    assert merchant.get("/settings/team/members/remove/confirm?member=nobody").status_code == 404


def test_revoking_an_invitation_asks_first(app, merchant):
    invitation, _token = app.extensions["invitations"].invite(
        actor_for(ALICE), new_id(), "dan@example.com", Role.VIEWER
    )
    confirm_url = f"/settings/team/invitations/{invitation.invitation_id}/revoke/confirm"
    _offers(merchant.get("/settings/team").get_data(as_text=True), confirm_url, "dan@example.com")

    page, action, fields = _confirm(merchant, confirm_url)

    assert "Revoke the invitation for dan@example.com?" in page
    assert "The invitation's link stops working at once" in page
    assert "dan@example.com" in merchant.get("/settings/team").get_data(as_text=True)
    assert merchant.post(action, data=fields).status_code == 303
    team_page = merchant.get("/settings/team").get_data(as_text=True)
    assert "is revoked; its link no longer works" in team_page


def test_transferring_ownership_asks_first_naming_the_new_owner(app, merchant, team):
    carol = team["carol"]
    # Without JavaScript the choice is a GET form to the confirm page, which names the member.
    page, action, fields = _confirm(
        merchant, "/settings/team/transfer/confirm?member=" + carol.key.replace("#", "%23")
    )

    assert "Make carol@example.com the Owner?" in page
    assert "you become an Admin" in page
    assert _role_of(app, carol) is Role.ADMIN
    assert merchant.post(action, data=fields).status_code == 303
    assert _role_of(app, carol) is Role.OWNER


def test_leaving_an_account_asks_first(app, merchant, team):
    bob = _signed_in(app, BOB, ALICE)
    _offers(
        bob.get("/settings/team").get_data(as_text=True), "/settings/team/leave/confirm", "Leave"
    )

    page, action, fields = _confirm(bob, "/settings/team/leave/confirm")

    assert "You lose access to" in page
    assert _role_of(app, team["bob"]) is Role.VIEWER
    assert bob.post(action, data=fields).status_code == 303
    assert _role_of(app, team["bob"]) is None


def test_the_last_owner_is_not_asked_to_leave(merchant):
    response = merchant.get("/settings/team/leave/confirm")
    assert response.status_code == 303
    assert "The last Owner cannot leave" in merchant.get("/settings/team").get_data(as_text=True)
