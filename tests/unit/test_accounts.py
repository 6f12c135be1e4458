"""Accounts apart from people: the first sign-in makes an account, data from before accounts is
adopted, a person in several accounts switches, and a tab left on one account never writes into
another."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient
from moto import mock_aws

from dashboard.app import create_app
from dashboard.core.ids import new_id
from dashboard.domain.accounts import Membership
from dashboard.domain.actor import Person, Role
from dashboard.domain.orders import OrderFields
from dashboard.services.payments import NewPaymentLink
from dashboard.store.accounts import PersonAlreadyExists
from tests.conftest import TEST_SECRET_KEY, actor_for
from tests.oidc_standin import CLIENT_ID, OidcStandIn

SWITCHED = "You switched account in another tab"


@pytest.fixture
def provider(httpserver) -> OidcStandIn:
    standin = OidcStandIn(httpserver)
    standin.install()
    return standin


@pytest.fixture
def app(provider: OidcStandIn):
    with mock_aws():
        app = create_app(
            {
                "APP_ENV": "test",
                "SECRET_KEY": TEST_SECRET_KEY,
                "DYNAMODB_TABLE_PREFIX": "accounts-",
                "OIDC_ISSUER": provider.issuer,
                "OIDC_CLIENT_ID": CLIENT_ID,
                "OIDC_CLIENT_SECRET": "tests-secret",
            }
        )
        app.extensions["store"].ensure_tables()
        yield app


def _sign_in(app: Flask, provider: OidcStandIn, sub: str, name: str | None = None) -> FlaskClient:
    provider.claims = {"sub": sub, "email": sub, "name": name}
    client = app.test_client()
    response = provider.sign_in(client)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def _person(app: Flask, sub: str) -> Person:
    return Person(app.extensions["settings"].oidc_issuer, sub)


def _accounts_of(app: Flask, sub: str) -> list[Membership]:
    return app.extensions["accounts"].accounts_of(_person(app, sub))


def _create_payment(app: Flask, account_id: str, reference: str) -> str:
    payment_id = new_id()
    with app.test_request_context():  # the link's return address is the app's own
        app.extensions["payment_service"].create_payment_link(
            actor_for(account_id), NewPaymentLink(payment_id, 1250, "GBP", reference)
        )
    return payment_id


def _payment_ids(app: Flask, account_id: str) -> list[str]:
    page = app.extensions["payment_listing"].find_page(account_id, _all_payments(), None)
    return [payment.payment_id for payment in page.payments]


def _all_payments():
    from dashboard.domain.payment_query import PaymentQuery

    return PaymentQuery()


def _join(app: Flask, sub: str, account: Membership) -> None:
    """Make the person a member of another's account (what accepting an invitation will do)."""
    joined = app.extensions["store"].accounts.add_member(
        Membership(account.account_id, account.account_name, _person(app, sub), Role.OWNER)
    )
    assert joined


def _form(html: str, action: str) -> dict[str, str]:
    """Return the hidden fields of the form that posts to ``action``."""
    form = re.search(rf'<form[^>]*action="{re.escape(action)}"[^>]*>(.*?)</form>', html, re.S)
    assert form, f"no form posts to {action}"
    fields = {}
    for tag in re.findall(r"<input[^>]*>", form.group(1)):
        attributes = dict(re.findall(r'(\w+)="([^"]*)"', tag))
        if attributes.get("type") == "hidden":
            fields[attributes["name"]] = attributes.get("value", "")
    return fields


# -- the first sign-in ------------------------------------------------------------------------


def test_a_new_persons_first_sign_in_makes_an_account_with_them_as_its_owner(app, provider):
    client = _sign_in(app, provider, "new-person@example.com", name="Nadia Shop")

    [membership] = _accounts_of(app, "new-person@example.com")
    assert re.fullmatch(r"acct_[0-9a-f-]{36}", membership.account_id)
    assert membership.role is Role.OWNER
    assert membership.account_name == "Nadia Shop"
    assert client.get("/payments").status_code == 200
    members = app.extensions["store"].accounts.members_of(membership.account_id)
    assert [m.person for m in members] == [_person(app, "new-person@example.com")]


def test_signing_in_again_opens_the_same_account(app, provider):
    _sign_in(app, provider, "returning@example.com")
    [first] = _accounts_of(app, "returning@example.com")

    again = _sign_in(app, provider, "returning@example.com")
    payment_id = _create_payment(app, first.account_id, "Invoice 77")

    assert [m.account_id for m in _accounts_of(app, "returning@example.com")] == [first.account_id]
    assert payment_id in again.get("/payments").get_data(as_text=True)


def test_two_first_sign_ins_at_once_make_one_account(app, monkeypatch):
    accounts = app.extensions["accounts"]
    person = _person(app, "twice@example.com")
    first = accounts.open_at_sign_in(person, "twice@example.com", None)
    repository = app.extensions["store"].accounts
    real_get_person = repository.get_person
    calls = []

    def not_there_yet(asked):  # the second request read before the first one wrote
        calls.append(asked)
        return None if len(calls) == 1 else real_get_person(asked)

    monkeypatch.setattr(repository, "get_person", not_there_yet)
    second = accounts.open_at_sign_in(person, "twice@example.com", None)

    assert second.account_id == first.account_id
    assert [m.account_id for m in accounts.accounts_of(person)] == [first.account_id]


def test_a_second_person_item_for_the_same_person_is_refused(app):
    accounts = app.extensions["accounts"]
    person = _person(app, "once@example.com")
    accounts.open_at_sign_in(person, None, None)
    record = app.extensions["store"].accounts.get_person(person)
    [membership] = accounts.accounts_of(person)

    with pytest.raises(PersonAlreadyExists):
        app.extensions["store"].accounts.create_person_with_account(
            record, _account_of(membership), membership
        )


def _account_of(membership: Membership):
    from dashboard.domain.accounts import Account

    return Account(membership.account_id, membership.account_name, membership.joined_at)


# -- data from before accounts ----------------------------------------------------------------


def test_a_merchant_with_payments_from_before_accounts_keeps_them_at_sign_in(app, provider):
    payment_id = _create_payment(app, "legacy@example.com", "Made before accounts")

    client = _sign_in(app, provider, "legacy@example.com")

    [membership] = _accounts_of(app, "legacy@example.com")
    assert membership.account_id == "legacy@example.com"  # the old userId: nothing rewritten
    assert membership.role is Role.OWNER
    assert payment_id in client.get("/payments").get_data(as_text=True)


def test_a_merchant_with_only_api_keys_is_adopted_at_sign_in(app, provider):
    key, _full = app.extensions["api_keys"].create_key(actor_for("keys-only@example.com"), "Shop")

    client = _sign_in(app, provider, "keys-only@example.com")

    assert key.key_id in client.get("/settings").get_data(as_text=True)
    assert [m.account_id for m in _accounts_of(app, "keys-only@example.com")] == [
        "keys-only@example.com"
    ]


def test_a_merchant_with_only_orders_is_adopted_at_sign_in(app, provider):
    order = app.extensions["order_service"].create_order(
        actor_for("orders-only@example.com"),
        new_id(),
        OrderFields("Ada", "ada@example.com", "Tea", 2, Decimal("4.50"), "GBP"),
    )

    client = _sign_in(app, provider, "orders-only@example.com")

    assert order.order_id in client.get("/orders").get_data(as_text=True)


def test_a_subject_that_looks_like_an_account_id_is_never_given_that_account(app, provider):
    _sign_in(app, provider, "owner@example.com")
    [owners] = _accounts_of(app, "owner@example.com")
    secret = _create_payment(app, owners.account_id, "Not yours")

    intruder = _sign_in(app, provider, owners.account_id)  # a provider that lets anyone pick

    [theirs] = _accounts_of(app, owners.account_id)
    assert theirs.account_id != owners.account_id
    assert secret not in intruder.get("/payments").get_data(as_text=True)
    assert intruder.get(f"/payments/{secret}").status_code == 404


def test_migrate_accounts_gives_every_registry_merchant_its_account_once(app, provider):
    _create_payment(app, "first@example.com", "One")
    _create_payment(app, "second@example.com", "Two")
    runner = app.test_cli_runner()

    dry = runner.invoke(args=["migrate-accounts", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "2 merchant(s): would migrate 2, 0 already had their account." in dry.output
    assert _accounts_of(app, "first@example.com") == []  # a dry run writes nothing

    done = runner.invoke(args=["migrate-accounts"])
    assert "2 merchant(s): migrated 2, 0 already had their account." in done.output
    again = runner.invoke(args=["migrate-accounts"])
    assert "2 merchant(s): migrated 0, 2 already had their account." in again.output
    resumed = runner.invoke(args=["migrate-accounts", "--resume-from", "second@example.com"])
    assert "1 merchant(s): migrated 0, 1 already had their account." in resumed.output

    [membership] = _accounts_of(app, "first@example.com")
    assert (membership.account_id, membership.role) == ("first@example.com", Role.OWNER)
    client = _sign_in(app, provider, "first@example.com")
    assert "One" in client.get("/payments").get_data(as_text=True)
    assert [m.account_id for m in _accounts_of(app, "first@example.com")] == ["first@example.com"]


# -- several accounts -------------------------------------------------------------------------


@pytest.fixture
def two_accounts(app, provider):
    """Alice in her own account and, as a member, in Bob's; her browser works in her own."""
    _sign_in(app, provider, "bob@example.com", name="Bob's Bikes")
    [bobs] = _accounts_of(app, "bob@example.com")
    alice = _sign_in(app, provider, "alice@example.com", name="Alice's Cafe")
    [alices] = _accounts_of(app, "alice@example.com")
    _join(app, "alice@example.com", bobs)
    return alice, alices, bobs


def _switch(client: FlaskClient, account_id: str):
    fields = _form(client.get("/payments").get_data(as_text=True), "/accounts/switch")
    return client.post("/accounts/switch", data={**fields, "account_id": account_id})


def test_a_person_in_two_accounts_switches_from_the_header(app, two_accounts):
    alice, _alices, bobs = two_accounts
    header = alice.get("/payments").get_data(as_text=True)
    assert "Switch to Bob&#39;s Bikes" in header
    assert 'Alice&#39;s Cafe<span class="visually-hidden"> (current)</span>' in header

    switched = _switch(alice, bobs.account_id)

    assert switched.status_code == 303
    assert switched.headers["Location"] == "/payments"
    page = alice.get("/payments").get_data(as_text=True)
    assert "You are now working in Bob&#39;s Bikes." in page
    assert "Switch to Alice&#39;s Cafe" in page
    bobs_payment = _create_payment(app, bobs.account_id, "Bike service")
    assert bobs_payment in alice.get("/payments").get_data(as_text=True)
    assert alice.get(f"/payments/{bobs_payment}").status_code == 200


def test_a_person_in_one_account_sees_no_switcher(app, provider):
    client = _sign_in(app, provider, "solo@example.com")

    assert "/accounts/switch" not in client.get("/payments").get_data(as_text=True)


def test_switching_to_an_account_one_is_not_a_member_of_is_a_404(app, provider, two_accounts):
    alice, _alices, _bobs = two_accounts
    _sign_in(app, provider, "carol@example.com")
    [carols] = _accounts_of(app, "carol@example.com")

    assert _switch(alice, carols.account_id).status_code == 404
    assert _switch(alice, "").status_code == 404


def test_the_next_sign_in_opens_the_account_last_chosen(app, provider, two_accounts):
    alice, _alices, bobs = two_accounts
    _switch(alice, bobs.account_id)

    later = _sign_in(app, provider, "alice@example.com")

    bobs_payment = _create_payment(app, bobs.account_id, "Chosen account")
    assert bobs_payment in later.get("/payments").get_data(as_text=True)


def test_a_form_rendered_for_the_account_left_is_refused_and_writes_nothing(app, two_accounts):
    alice, alices, bobs = two_accounts
    form_page = alice.get("/payments/new").get_data(as_text=True)
    fields = _form(form_page, "/payments/new")
    assert fields["account"] == alices.account_id
    _switch(alice, bobs.account_id)  # in another tab

    response = alice.post(
        "/payments/new", data={**fields, "amount": "12.50", "currency": "GBP", "reference": "Tab 1"}
    )

    assert response.status_code == 409
    assert SWITCHED in response.get_data(as_text=True)
    assert _payment_ids(app, alices.account_id) == []
    assert _payment_ids(app, bobs.account_id) == []


def test_the_same_form_in_the_account_it_was_rendered_for_goes_through(app, two_accounts):
    alice, alices, _bobs = two_accounts
    fields = _form(alice.get("/payments/new").get_data(as_text=True), "/payments/new")

    response = alice.post(
        "/payments/new", data={**fields, "amount": "12.50", "currency": "GBP", "reference": "Tab 1"}
    )

    assert response.status_code == 303
    assert len(_payment_ids(app, alices.account_id)) == 1


def test_an_htmx_request_for_the_account_left_goes_to_the_chosen_accounts_payments(
    app, two_accounts
):
    alice, alices, bobs = two_accounts
    _switch(alice, bobs.account_id)

    response = alice.get(
        "/payments?status=completed", headers={"HX-Request": "true", "X-Account": alices.account_id}
    )

    assert response.status_code == 409
    assert response.headers["HX-Redirect"] == "/payments"
    assert SWITCHED in alice.get("/payments").get_data(as_text=True)  # said on arrival


def test_an_action_posted_for_the_account_left_is_refused(app, two_accounts):
    alice, alices, bobs = two_accounts
    payment_id = _create_payment(app, alices.account_id, "Keep me")
    cancel = _form(
        alice.get(f"/payments/{payment_id}").get_data(as_text=True),
        f"/payments/{payment_id}/cancel",
    )
    _switch(alice, bobs.account_id)

    response = alice.post(f"/payments/{payment_id}/cancel", data=cancel)

    assert response.status_code == 409
    payment = app.extensions["payment_service"].get_payment(alices.account_id, payment_id)
    assert payment.status.value == "awaiting_payment"


def test_the_page_says_which_account_htmx_requests_are_for(app, two_accounts):
    alice, alices, _bobs = two_accounts
    body = re.search(r"<body hx-headers='([^']+)'>", alice.get("/payments").get_data(as_text=True))

    assert body
    assert f'"X-Account": "{alices.account_id}"' in body.group(1)


def test_every_form_a_signed_in_page_posts_names_its_account(app, two_accounts):
    alice, alices, _bobs = two_accounts
    payment_id = _create_payment(app, alices.account_id, "Forms")
    order = app.extensions["order_service"].create_order(
        actor_for(alices.account_id),
        new_id(),
        OrderFields("Ada", "ada@example.com", "Tea", 2, Decimal("4.50"), "GBP"),
    )
    pages = [
        "/payments",
        "/payments/new",
        f"/payments/{payment_id}",
        "/orders",
        "/orders/new",
        f"/orders/{order.order_id}",
        f"/orders/{order.order_id}/edit",
        "/stats",
        "/settings",
    ]
    checked = 0
    for page in pages:
        html = alice.get(page).get_data(as_text=True)
        for form in re.findall(r'<form[^>]*method="post"[^>]*>.*?</form>', html, re.S):
            action = re.search(r'action="([^"]+)"', form).group(1)
            if action in ("/accounts/switch", "/logout", "/theme"):
                continue  # from any tab, whichever account it shows; the theme is the device's
            checked += 1
            assert f'name="account" value="{alices.account_id}"' in form, (page, action)
    assert checked >= 8  # create, cancel, refresh, order forms, key forms...


def test_a_member_removed_from_the_account_is_moved_to_another_of_theirs(app, two_accounts):
    alice, alices, bobs = two_accounts
    _switch(alice, bobs.account_id)
    store = app.extensions["store"]
    store.client.delete_item(
        TableName=store.tables.accounts,
        Key={
            "accountId": {"S": bobs.account_id},
            "sk": {"S": "member#" + _person(app, "alice@example.com").key},
        },
    )
    bobs_payment = _create_payment(app, bobs.account_id, "Bob only")
    alices_payment = _create_payment(app, alices.account_id, "Alice's")

    page = alice.get("/payments").get_data(as_text=True)

    assert alices_payment in page
    assert bobs_payment not in page
    assert alice.get(f"/payments/{bobs_payment}").status_code == 404


def test_a_session_stored_before_sessions_named_their_account_signs_in_again(app):
    store = app.extensions["store"]
    client = app.test_client()
    from dashboard.services.sessions import SESSION_ID_KEY, session_hash

    store.client.put_item(
        TableName=store.tables.sessions,
        Item={
            "sessionHash": {"S": session_hash("old-cookie")},
            "userId": {"S": "old@example.com"},
            "createdAt": {"S": "2026-11-30T10:00:00.000000Z"},
            "lastSeenAt": {"S": "2026-11-30T10:00:00.000000Z"},
            "expiresAt": {"S": "2099-11-30T10:00:00.000000Z"},
        },
    )
    with client.session_transaction() as session:
        session[SESSION_ID_KEY] = "old-cookie"

    response = client.get("/payments")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
